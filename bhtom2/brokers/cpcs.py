"""Cambridge Photometric Calibration Server (CPCS): follow-up photometry of an alert.

Request: ``{BHTOM_URL_CPCS}/followup/get_alert_lc_data?alert_name=ivo://<name>``
(or ``?alert_id=<n>`` for a numeric CPCS alert id), with the site's access
token sent as the ``hashtag`` cookie. The token comes from the environment
(``CPCS_DATA_ACCESS_HASHTAG``, the setting ``BHTOM_CPCS_DATA_ACCESS_TOKEN``);
without it the broker is "not configured".

Answer: column-oriented JSON, one list per key (``mjd``, ``mag``, ``magerr``,
``caliberr``, ``filter``, ``catalog``, ``observatory``, ...). ``magerr == -1``
marks an upper limit (``mag`` is the limiting magnitude). For detections the
calibration error is added in quadrature: ``sqrt(magerr**2 + caliberr**2)``.

Bands. A CPCS magnitude is a filter calibrated against a catalogue, so the
parser's band is ``filter(catalog)`` (``r(APASS)``) and the TOM bandpass is
``r(CPCS/APASS)``: still the site's ``band(Survey)`` shape, the survey part
saying who calibrated it against what; at most 8 + 12 + 7 = 27 characters, so
always within the 32 of a bandpass. A point without a catalogue is ``r(CPCS)``.

Times. ``mjd`` is the UTC Modified Julian Date of the observation (CPCS takes
it from the observers' FITS headers); it is read as UTC, without correction.
The observatory string ("Mercator, Lovro Pala") is both facility and observer.
"""
from __future__ import annotations

import re
from datetime import datetime

import numpy as np
import pandas as pd
from tom_targets.models import Target

from bhtom2.data_sources import DataSource
from bhtom_base import conf
from bhtom_base.broker import BHTOMBroker
from bhtom_base.errors import ParseError
from bhtom_base.http import Fetched
from bhtom_base.lightcurve import ParseContext, make_lightcurve
from bhtom_base.parsing import load_json_object
from bhtom_base.times import mjd_to_utc

WHAT = "CPCS lightcurve"
LIMIT_MARK = -1.0
REQUIRED = ("mjd", "mag", "magerr", "filter")
_FILTER = re.compile(r"[A-Za-z0-9_'+\-]{1,8}")
_CATALOG = re.compile(r"[A-Za-z0-9_+\-]{1,12}")
_BAND = re.compile(r"^(?P<filter>[^()]+)(?:\((?P<catalog>[^()]+)\))?$")
TOKEN_SETTING = "BHTOM_CPCS_DATA_ACCESS_TOKEN"
TOKEN_VARIABLE = "CPCS_DATA_ACCESS_HASHTAG"


def parse(content: bytes, context: ParseContext | None = None) -> pd.DataFrame:
    """A ``get_alert_lc_data`` JSON answer -> standard frame."""
    data = load_json_object(content, what=WHAT)
    missing = [key for key in REQUIRED if key not in data]
    if missing:
        detail = f" ({str(data.get('error'))[:100]})" if "error" in data else ""
        raise ParseError(f"{WHAT} lacks keys {missing}{detail}")
    n = len(data["mjd"]) if isinstance(data["mjd"], list) else -1
    columns = {}
    for key in ("mjd", "mag", "magerr", "caliberr", "filter", "catalog", "observatory"):
        values = data.get(key)
        if values is None and key in ("caliberr", "catalog", "observatory"):
            values = [0.0 if key == "caliberr" else ""] * max(n, 0)
        if not isinstance(values, list) or len(values) != n:
            raise ParseError(f"{WHAT}: column {key!r} is not a list of {n} values")
        columns[key] = values
    table = pd.DataFrame(columns)
    mjd, mag, magerr, caliberr = (_numbers(table[key]) for key in ("mjd", "mag", "magerr", "caliberr"))
    caliberr = np.where(np.isfinite(caliberr), caliberr, 0.0)
    filters = table["filter"].fillna("").astype(str).str.strip()
    catalogs = table["catalog"].fillna("").astype(str).str.strip()
    good_filter = filters.map(lambda value: bool(_FILTER.fullmatch(value))).to_numpy(dtype=bool)
    good_catalog = catalogs.map(lambda value: value == "" or bool(_CATALOG.fullmatch(value))).to_numpy(dtype=bool)
    band = np.where(catalogs == "", filters, filters + "(" + catalogs + ")")

    skipped: dict[str, int] = {}
    unreadable = ~np.isfinite(mjd) | ~np.isfinite(mag)
    bad_band = ~unreadable & ~(good_filter & good_catalog)
    for reason, mask in (("unreadable row", unreadable), ("unknown filter or catalogue", bad_band)):
        if mask.any():
            skipped[reason] = int(mask.sum())
    keep = ~unreadable & ~bad_band
    is_limit = magerr[keep] == LIMIT_MARK
    mag, magerr, caliberr = mag[keep], magerr[keep], caliberr[keep]
    mjd = mjd[keep]
    observatory = table["observatory"].fillna("").astype(str).str.strip().to_numpy()[keep]
    return make_lightcurve(
        time=mjd_to_utc(mjd),
        mag=np.where(is_limit, np.nan, mag),
        # A negative magerr other than the limit mark stays invalid (the cleaning counts it).
        mag_err=np.where(is_limit | (magerr < 0), np.where(is_limit, np.nan, magerr), np.hypot(magerr, caliberr)),
        band=band[keep],
        limit=np.where(is_limit, mag, np.nan),
        observer=observatory,
        facility=observatory,
        skipped=skipped,
    )


def _numbers(values: pd.Series) -> np.ndarray:
    """Numbers as floats; anything else (strings, lists, null) NaN."""
    numeric = values.map(lambda value: value if isinstance(value, int | float) and not isinstance(value, bool)
                         else pd.to_numeric(value, errors="coerce") if isinstance(value, str) else np.nan)
    return numeric.to_numpy(dtype=float)


def cpcs_bandpass(band: str) -> str:
    """``r(APASS)`` -> ``r(CPCS/APASS)``; ``r`` -> ``r(CPCS)``."""
    pretty = DataSource.CPCS.pretty_name
    match = _BAND.match(band)
    if not match or not match.group("catalog"):
        return f"{band}({pretty})"
    return f"{match.group('filter')}({pretty}/{match.group('catalog')})"


class CPCSBroker(BHTOMBroker):
    """Cambridge Photometric Calibration Server (``CPCS``)."""

    data_source = DataSource.CPCS
    facility_name = "CPCS"
    observer_name = "CPCS"

    parse = staticmethod(parse)

    def filter_name(self, band: str) -> str:
        return cpcs_bandpass(band)

    @staticmethod
    def token() -> str:
        return str(conf.setting(TOKEN_SETTING) or "").strip()

    def configuration_problem(self) -> str | None:
        if not self.token():
            return f"{TOKEN_VARIABLE} is not set"
        if re.search(r"[\s;,\"\\]", self.token()):
            return f"{TOKEN_VARIABLE} contains characters a cookie cannot carry"
        return None

    def fetch(self, target: Target, survey_name: str, since: datetime | None) -> Fetched:
        # The answer is always the whole lightcurve; the database skips what it has.
        params = {"alert_id": survey_name} if survey_name.isdigit() else {"alert_name": survey_name}
        return self.http.get(
            f"{self.base_url}/followup/get_alert_lc_data",
            params=params,
            headers={"Cookie": f"hashtag={self.token()}"},
        )
