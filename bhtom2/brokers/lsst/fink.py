"""Fink (``BHTOM_LSST_SERVICE=fink``, the default): Rubin alerts and forced photometry, no token.

``{BHTOM_URL_LSST}`` = ``https://api.lsst.fink-portal.org``. Every endpoint takes its
arguments in the query string too (GET), so requests are retried like every other
survey's:

* ``/api/v1/sources?diaObjectId=<id[,id...]>&columns=...&output-format=json`` — the
  diaSources (alerts) of one or several objects, a JSON list of records whose keys
  carry Fink's family prefix: ``r:`` Rubin's own fields (``r:midpointMjdTai``,
  ``r:band``, ``r:psfFlux``, ``r:scienceFlux``...), ``f:`` Fink's cross-matches and
  classifiers (``f:xm_gaiadr3_DR3Name``, ``f:xm_vsx_Type``, ``f:xm_simbad_otype``,
  ``f:clf_cats_class``), which decide the object's brightness;
* ``/api/v1/fp`` — the same for diaForcedSources (``r:diaForcedSourceId``...);
* ``/api/v1/conesearch?ra=&dec=&radius=`` — objects near a position.

Docs: https://doc.lsst.fink-broker.org/en/latest/services/api/diaobjectid/ (and
``forced_photometry``, ``conesearch``); schema: https://lsst.fink-portal.org/schemas.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from bhtom_base.errors import ParseError
from bhtom_base.http import Fetched
from bhtom_base.lightcurve import Brightness, ParseContext
from bhtom_base.sky import separation_arcsec

from . import brightness as rules
from .photometry import id_text, lightcurve_from_fluxes, measurement_table
from .response import error_message, load_json

SOURCES_PATH = "/api/v1/sources"
FORCED_PATH = "/api/v1/fp"
CONE_PATH = "/api/v1/conesearch"
OBJECT_ID = "r:diaObjectId"
SOURCE_COLUMNS = (
    "r:diaObjectId", "r:diaSourceId", "r:midpointMjdTai", "r:band", "r:psfFlux", "r:psfFluxErr",
    "r:scienceFlux", "r:scienceFluxErr", "r:psfFlux_flag",
    "f:xm_gaiadr3_DR3Name", "f:xm_vsx_Type", "f:xm_gcvs_type", "f:xm_simbad_otype", "f:clf_cats_class",
)
FORCED_COLUMNS = (
    "r:diaObjectId", "r:diaForcedSourceId", "r:midpointMjdTai", "r:band", "r:psfFlux", "r:psfFluxErr",
    "r:scienceFlux", "r:scienceFluxErr",
)
CONE_COLUMNS = ("r:diaObjectId", "r:ra", "r:dec")
WHAT = "Fink LSST response"
OBSERVER = "Rubin/LSST (Fink)"


def load_records(content: bytes) -> list[dict]:
    """A Fink JSON answer -> its records."""
    return records(load_json(content, what=WHAT))


def records(data: object) -> list[dict]:
    if isinstance(data, dict):  # Fink's "status"/"text" error object
        raise ParseError(f"Fink answered with an error: {error_message(data) or 'no message'}")
    if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
        raise ParseError(f"not a {WHAT}: expected a list of records")
    return data


def parse(content: bytes, context: ParseContext | None = None) -> pd.DataFrame:
    """A Fink ``/api/v1/sources`` or ``/api/v1/fp`` JSON answer -> standard frame."""
    return parse_records(load_records(content), context)


def parse_records(records: list[dict], context: ParseContext | None = None) -> pd.DataFrame:
    context = context or ParseContext()
    sources = [row for row in records if "r:diaForcedSourceId" not in row]
    forced = [row for row in records if "r:diaForcedSourceId" in row]
    if records and not any("r:midpointMjdTai" in row for row in records):
        raise ParseError(f"not a {WHAT}: records lack r:midpointMjdTai")
    choice = rules.decide(context.brightness, classify(sources))
    table = pd.concat([_measurements(sources, forced=False), _measurements(forced, forced=True)],
                      ignore_index=True)
    ids = {id_text(row.get(OBJECT_ID)) for row in records} - {""}
    names = {"LSST": ids.pop()} if len(ids) == 1 else None
    return lightcurve_from_fluxes(table, choice, observer=OBSERVER, survey_names=names)


def classify(sources: list[dict]) -> Brightness | None:
    """Fink's verdict from the newest alert carrying each cross-match/classifier field."""
    newest_first = sorted(sources, key=lambda row: _float(row.get("r:midpointMjdTai")), reverse=True)

    def newest(field: str) -> object:
        for row in newest_first:
            value = row.get(field)
            if value is not None and not (isinstance(value, float) and np.isnan(value)):
                return value
        return None

    return rules.from_fink(
        gaia_name=newest("f:xm_gaiadr3_DR3Name"), vsx_type=newest("f:xm_vsx_Type"),
        gcvs_type=newest("f:xm_gcvs_type"), simbad_otype=newest("f:xm_simbad_otype"),
        cats_class=newest("f:clf_cats_class"),
    )


def _measurements(rows: list[dict], *, forced: bool):
    id_key = "r:diaForcedSourceId" if forced else "r:diaSourceId"

    def column(name: str) -> list:
        return [row.get(f"r:{name}") for row in rows]

    return measurement_table(
        mjd_tai=column("midpointMjdTai"), band=column("band"),
        point_id=[id_text(row.get(id_key)) for row in rows], forced=[forced] * len(rows),
        diff_flux=column("psfFlux"), diff_flux_err=column("psfFluxErr"),
        sci_flux=column("scienceFlux"), sci_flux_err=column("scienceFluxErr"),
        template_flux=column("templateFlux"), template_flux_err=column("templateFluxErr"),
        flagged=column("psfFlux_flag"),
    )


def split_by_object(content: bytes) -> dict[str, bytes]:
    """One batched answer -> each object's own records, as the JSON Fink would send for it alone."""
    groups: dict[str, list[dict]] = {}
    for row in load_records(content):
        groups.setdefault(id_text(row.get(OBJECT_ID)), []).append(row)
    return {object_id: json.dumps(rows).encode() for object_id, rows in groups.items()}


def merge_answers(sources: Fetched, forced: Fetched) -> Fetched:
    """The alerts and forced photometry of one object as one list of records (each keeps its own keys)."""
    merged = load_records(sources.content) + load_records(forced.content)
    return Fetched(url=sources.url, status=sources.status, content=json.dumps(merged).encode())


def nearest_in_cone(content: bytes, ra: float, dec: float, radius_arcsec: float) -> str | None:
    """The diaObjectId of the nearest object of a cone search within the radius (computed here)."""
    rows = [row for row in load_records(content) if id_text(row.get(OBJECT_ID))]
    if not rows:
        return None
    distance = separation_arcsec([_float(row.get("r:ra")) for row in rows],
                                 [_float(row.get("r:dec")) for row in rows], ra, dec)
    distance = np.where(np.isfinite(distance), distance, np.inf)
    best = int(np.argmin(distance))
    return id_text(rows[best][OBJECT_ID]) if distance[best] <= radius_arcsec else None



def _float(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")
