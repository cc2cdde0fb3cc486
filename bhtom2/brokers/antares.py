"""ANTARES broker (NOIRLab): the lightcurve of a locus (``ANTARES``).

Plain HTTP on the ANTARES REST API (``{BHTOM_URL_ANTARES}`` =
``https://api.antares.noirlab.edu``); ``antares-client`` has its API URL baked
in and brings its own HTTP stack, so it is not used.

* ``GET /v1/loci/<locus_id>`` — one locus, JSON:API; ``data.attributes.lightcurve``
  is a CSV text with one row per ZTF alert or upper limit.
* ``GET /v1/loci?elasticsearch_query[locus_listing]=<query>`` — the loci whose
  ``properties.ztf_object_id`` is the given ZTF object id (listings carry no
  lightcurve), used when the target's ANTARES name is a ZTF id.

Lightcurve rows: ``ant_mjd``, ``ant_passband`` (ZTF ``g``, ``R``, ``i``),
``ant_mag`` +- ``ant_magerr`` for a detection, and ``ant_maglim`` (the difference
image's limiting magnitude). A row with a magnitude is a detection (its
``ant_maglim`` is then only the image's depth and is not stored); a row
without one but with ``ant_maglim`` is an upper limit. Rows of other surveys'
passbands (LSST ``u``...``y``) are counted and left out: this source stands for
the ZTF photometry ANTARES serves.

Times: ``ant_mjd`` is the MJD (UTC) of the ZTF exposure, read as UTC with astropy.
"""
from __future__ import annotations

import io
import json
from datetime import datetime

import astropy.units as u
import numpy as np
import pandas as pd
from tom_targets.models import Target

from bhtom2.data_sources import DataSource
from bhtom_base.broker import BHTOMBroker
from bhtom_base.errors import FetchError, NoSurveyName, ParseError
from bhtom_base.http import Fetched
from bhtom_base.lightcurve import ParseContext, empty_lightcurve, make_lightcurve
from bhtom_base.parsing import load_json_object
from bhtom_base.survey_names import get_survey_name
from bhtom_base.times import mjd_to_utc

PASSBANDS = {"g": "g", "R": "R", "r": "R", "i": "i"}
REQUIRED = ("ant_mjd", "ant_passband", "ant_mag", "ant_magerr", "ant_maglim")
LISTING_SORT = "-properties.newest_alert_observation_time"


def _load_json(content: bytes, what: str) -> dict:
    data = load_json_object(content, what=what)
    if "errors" in data and "data" not in data:
        detail = "; ".join(str(e.get("detail") or e.get("title") or e) for e in data["errors"] if e)[:200]
        raise ParseError(f"ANTARES answered with an error: {detail or 'unknown'}")
    return data


def parse(content: bytes, context: ParseContext | None = None) -> pd.DataFrame:
    """An ANTARES ``/v1/loci/<id>`` locus JSON -> standard frame (its lightcurve)."""
    data = _load_json(content, "ANTARES locus")
    locus = data.get("data")
    if isinstance(locus, list):
        raise ParseError("an ANTARES locus listing, which carries no lightcurve, where a locus was expected")
    if not isinstance(locus, dict) or not isinstance(locus.get("attributes"), dict):
        raise ParseError("not an ANTARES locus: no data.attributes")
    lightcurve = locus["attributes"].get("lightcurve")
    if lightcurve is None:
        raise ParseError(f"ANTARES locus {str(locus.get('id'))[:40]} has no lightcurve")
    if not isinstance(lightcurve, str):
        raise ParseError("ANTARES locus lightcurve is not CSV text")
    return parse_lightcurve_csv(lightcurve)


def parse_lightcurve_csv(text: str) -> pd.DataFrame:
    """The CSV text of a locus's lightcurve -> standard frame."""
    if not text.strip():
        return empty_lightcurve()
    try:
        table = pd.read_csv(io.StringIO(text), dtype={"ant_passband": str})
    except (ValueError, pd.errors.ParserError) as error:
        raise ParseError(f"unreadable ANTARES lightcurve CSV: {error}") from None
    table.columns = [str(column).strip() for column in table.columns]
    missing = [column for column in REQUIRED if column not in table.columns]
    if missing:
        raise ParseError(f"not an ANTARES lightcurve: no column(s) {', '.join(missing)}")
    skipped: dict[str, int] = {}
    mjd = pd.to_numeric(table["ant_mjd"], errors="coerce").to_numpy(dtype=float)
    mag = pd.to_numeric(table["ant_mag"], errors="coerce").to_numpy(dtype=float)
    err = pd.to_numeric(table["ant_magerr"], errors="coerce").to_numpy(dtype=float)
    maglim = pd.to_numeric(table["ant_maglim"], errors="coerce").to_numpy(dtype=float)
    band = table["ant_passband"].astype(str).str.strip().map(PASSBANDS)
    keep = np.isfinite(mjd)
    if (~keep).any():
        skipped["unreadable time"] = int((~keep).sum())
    other = keep & band.isna().to_numpy()
    if other.any():
        skipped["passband not ZTF g/R/i"] = int(other.sum())
    keep &= ~other
    detected = np.isfinite(mag)
    limit = np.where(detected, np.nan, maglim)
    return make_lightcurve(
        time=mjd_to_utc(mjd[keep]).to_numpy(),
        mag=mag[keep],
        mag_err=err[keep],
        band=band[keep].to_numpy(dtype=object),
        limit=limit[keep],
        skipped=skipped,
    )


def listing_query(ztf_object_id: str) -> str:
    """The ``elasticsearch_query[locus_listing]`` value for one ZTF object id (validated by the caller)."""
    return json.dumps({"query": {"bool": {"filter": {"term": {"properties.ztf_object_id": ztf_object_id}}}}})


def parse_listing(content: bytes) -> list[str]:
    """A ``/v1/loci`` listing -> the locus ids, in the listing's order."""
    data = _load_json(content, "ANTARES locus listing")
    items = data.get("data")
    if not isinstance(items, list):
        raise ParseError("not an ANTARES locus listing: 'data' is not a list")
    return [str(item["id"]) for item in items if isinstance(item, dict) and item.get("id")]


class AntaresBroker(BHTOMBroker):
    """ZTF photometry of an ANTARES locus (``ANTARES``)."""

    data_source = DataSource.ANTARES
    update_cadence = 1 * u.day
    facility_name = "ZTF"
    observer_name = "ZTF (ANTARES)"

    parse = staticmethod(parse)

    def locus_id(self, survey_name: str) -> str:
        """The ANTARES locus id for a validated name (a locus id, or a ZTF id looked up)."""
        if survey_name.startswith("ANT"):
            return survey_name
        response = self.http.get(
            f"{self.base_url}/v1/loci",
            params={"elasticsearch_query[locus_listing]": listing_query(survey_name), "sort": LISTING_SORT},
        )
        ids = parse_listing(response.content)
        if not ids:
            raise NoSurveyName(f"ANTARES has no locus for {survey_name}")
        if len(ids) > 1:
            self.logger.info("%s: %d ANTARES loci; using the newest, %s", survey_name, len(ids), ids[0])
        locus_id = ids[0]
        try:
            return self.data_source.validate_name(locus_id)
        except Exception:
            raise FetchError(f"ANTARES returned an unexpected locus id {locus_id[:40]!r}") from None

    def fetch(self, target: Target, survey_name: str, since: datetime | None) -> Fetched:
        # The locus holds its whole lightcurve; the database skips what it has.
        return self.http.get(f"{self.base_url}/v1/loci/{self.locus_id(survey_name)}")

    def find_survey_name(self, target: Target) -> str | None:
        """The target's ZTF object id, if it has one: ANTARES is queried by it."""
        ztf = get_survey_name(target, DataSource.ZTF.name)
        if not ztf:
            return None
        try:
            return DataSource.ZTF.validate_name(ztf)
        except Exception:
            return None
