"""TEMPLATE_PRETTY: photometry from the TEMPLATE_PRETTY service (``TEMPLATE_SOURCE``).

This is the template that ``manage.py startbroker`` copies (and that
``docs/new_broker_tutorial.md`` walks through). Copy it by hand if you prefer:
replace ``TEMPLATE_SOURCE`` by the DataSource name, ``TEMPLATE_PRETTY`` by the
survey's pretty name and ``TemplateBroker`` by the class name.

What a broker must say, and nothing more:

1. ``data_source`` — its member of ``bhtom2.data_sources.DataSource``.
2. ``fetch()`` — the raw HTTP response(s), through ``self.http`` and from
   ``self.base_url`` (the setting ``BHTOM_URL_TEMPLATE_SOURCE``), never
   ``requests`` directly: the shared client brings timeouts, retries,
   politeness and the circuit breaker.
3. ``parse()`` — a pure function from the raw bytes to the standard frame
   (``bhtom_base.lightcurve.make_lightcurve``); it raises ``ParseError`` and
   nothing else on bad input, and counts the rows it leaves out.

Times: say here which time scale the survey uses and how it becomes UTC.
This template's sample format gives MJD in UTC.
"""
from __future__ import annotations

import io
from datetime import datetime

import astropy.units as u
import pandas as pd
from astropy.time import Time
from tom_targets.models import Target

from bhtom2.data_sources import DataSource
from bhtom_base.broker import BHTOMBroker
from bhtom_base.errors import ParseError
from bhtom_base.http import Fetched
from bhtom_base.lightcurve import ParseContext, make_lightcurve
from bhtom_base.parsing import decode_text, reject_html
from bhtom_base.times import mjd_to_utc

# The columns the service's CSV must have.
REQUIRED_COLUMNS = ("mjd", "mag", "magerr", "filter")


def parse(content: bytes, context: ParseContext | None = None) -> pd.DataFrame:
    """The service's CSV (``mjd,mag,magerr,filter[,limit]``) -> standard lightcurve frame.

    A row with an empty ``mag`` and a ``limit`` is a non-detection; rows with
    neither are counted and left out by the framework's cleaning.
    """
    text = decode_text(content, what="TEMPLATE_PRETTY lightcurve")
    reject_html(text, what="TEMPLATE_PRETTY lightcurve")
    try:
        table = pd.read_csv(io.StringIO(text), comment="#", skipinitialspace=True)
    except (ValueError, pd.errors.ParserError) as error:
        raise ParseError(f"unreadable TEMPLATE_PRETTY CSV: {error}") from None
    table.columns = [str(column).strip().lower() for column in table.columns]
    missing = [column for column in REQUIRED_COLUMNS if column not in table.columns]
    if missing:
        raise ParseError(f"TEMPLATE_PRETTY CSV lacks columns {missing}")
    mjd = pd.to_numeric(table["mjd"], errors="coerce")
    readable = mjd.notna()
    skipped = {"unreadable time": int((~readable).sum())} if (~readable).any() else {}
    table, mjd = table[readable], mjd[readable]
    # One astropy call for the whole column: MJD (UTC) -> UTC timestamps (NaT where out of range).
    times = mjd_to_utc(mjd.to_numpy(dtype=float), scale="utc")
    return make_lightcurve(
        time=times.to_numpy(),
        mag=table["mag"],
        mag_err=table["magerr"],
        band=table["filter"].astype(str).str.strip(),
        limit=table["limit"] if "limit" in table.columns else None,
        skipped=skipped,
    )


class TemplateBroker(BHTOMBroker):
    """TEMPLATE_PRETTY (``TEMPLATE_SOURCE``)."""

    # A member of the registry, e.g. DataSource.TEMPLATE_SOURCE (startbroker writes it).
    data_source = getattr(DataSource, "TEMPLATE_SOURCE", None)
    # How often a target's lightcurve is refreshed; None for a data release fetched once.
    update_cadence = 1 * u.day
    # Cone radius for find_survey_name(), when you implement it.
    default_cross_match_max_separation = 2 * u.arcsec
    # Stored as the points' telescope and observer.
    facility_name = "TEMPLATE_PRETTY"
    observer_name = "TEMPLATE_PRETTY"

    parse = staticmethod(parse)

    def fetch(self, target: Target, survey_name: str, since: datetime | None) -> Fetched:
        """One GET of the object's lightcurve; ``since`` allows asking only for new points."""
        params = {"object": survey_name}
        if since is not None:
            params["mjd_min"] = f"{Time(since).mjd:.5f}"
        return self.http.get(f"{self.base_url}/lightcurve.csv", params=params)

    def find_survey_name(self, target: Target) -> str | None:
        """The survey's id for a target that has none (a cone search); None when not found.

        The base class validates what you return and stores it as the target's
        survey name, so the search runs once per target.
        """
        return None

    def configuration_problem(self) -> str | None:
        """Return a message (e.g. "TEMPLATE_SOURCE_TOKEN is not set") when credentials are missing."""
        return None
