"""ALeRCE (``BHTOM_LSST_SERVICE=alerce``): the multi-survey API with ``survey_id=lsst``.

``{BHTOM_URL_LSST_ALERCE}`` = ``https://api-lsst.alerce.online``; the paths are the
ALeRCE client's (``alerce/default_config.json``, ``multisurvey``):

* ``/lightcurve_api/lightcurve?survey_id=lsst&oid=<diaObjectId>`` — ``{"detections": [...],
  "non_detections": [...], "forced_photometry": [...]}``; a detection carries
  ``measurement_id`` (the diaSourceId), ``mjd`` (Rubin's ``midpointMjdTai``, TAI),
  ``band`` (an integer; ``band_map`` gives its name where ALeRCE sends it, else
  ALeRCE's LSST codes 6/1/2/3/4/5 = u/g/r/i/z/y), ``psfFlux``/``psfFluxErr`` and,
  where present, ``scienceFlux``/``scienceFluxErr``. LSST alerts carry no
  non-detections (schema >= 8).
* ``/probability_api/probability?survey_id=lsst&oid=`` — the classifiers' classes
  with ``ranking``; the top-ranked classes decide the object's brightness.
* ``/object_api/list_objects?survey=lsst&ra=&dec=&radius=`` — objects near a position.

Docs: https://alerce.readthedocs.io (client ``multisurvey_*`` methods) and
``alercebroker/usecases`` ``notebooks/LSST/lib_multisurvey/alerce_mappings.py``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from bhtom_base.errors import ParseError
from bhtom_base.lightcurve import Brightness, ParseContext
from bhtom_base.sky import separation_arcsec

from . import brightness as rules
from .photometry import id_text, lightcurve_from_fluxes, measurement_table
from .response import load_json

LIGHTCURVE_PATH = "/lightcurve_api/lightcurve"
PROBABILITY_PATH = "/probability_api/probability"
OBJECTS_PATH = "/object_api/list_objects"
SURVEY = "lsst"
BAND_CODES = {6: "u", 1: "g", 2: "r", 3: "i", 4: "z", 5: "y"}
WHAT = "ALeRCE LSST lightcurve"
OBSERVER = "Rubin/LSST (ALeRCE)"


def parse(content: bytes, context: ParseContext | None = None) -> pd.DataFrame:
    """An ALeRCE LSST ``/lightcurve_api/lightcurve`` answer -> standard frame.

    ALeRCE's lightcurve holds no classification: without a person's choice or the
    broker's decision (from ``/probability_api``) in the context, it is taken as a transient.
    """
    return parse_lightcurve(load_json(content, what=WHAT), context)


def parse_lightcurve(data: object, context: ParseContext | None = None) -> pd.DataFrame:
    if isinstance(data, dict) and "detail" in data and "detections" not in data:
        raise ParseError(f"ALeRCE answered with an error: {str(data['detail'])[:200]}")
    if not isinstance(data, dict) or not ("detections" in data or "forced_photometry" in data):
        raise ParseError(f"not an {WHAT}: no detections or forced_photometry")
    detections = _rows(data.get("detections"), "detections")
    forced = _rows(data.get("forced_photometry"), "forced_photometry")
    table = pd.concat([_measurements(detections, forced=False), _measurements(forced, forced=True)],
                      ignore_index=True)
    choice = rules.decide((context or ParseContext()).brightness, None)
    return lightcurve_from_fluxes(table, choice, observer=OBSERVER)


def _rows(value, key: str) -> list[dict]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(row, dict) for row in value):
        raise ParseError(f"not an {WHAT}: {key} is not a list of objects")
    return value


def _band_name(row: dict) -> str:
    band = row.get("band_name")
    if isinstance(band, str) and band:
        return band
    band_map = row.get("band_map")
    code = row.get("band")
    if isinstance(band_map, dict) and str(code) in band_map:
        return str(band_map[str(code)])
    try:
        return BAND_CODES.get(int(code), "")  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""


def _measurements(rows: list[dict], *, forced: bool):
    def column(name: str) -> list:
        return [row.get(name) for row in rows]

    return measurement_table(
        mjd_tai=column("mjd"), band=[_band_name(row) for row in rows],
        point_id=[id_text(row.get("measurement_id")) for row in rows], forced=[forced] * len(rows),
        diff_flux=column("psfFlux"), diff_flux_err=column("psfFluxErr"),
        sci_flux=column("scienceFlux"), sci_flux_err=column("scienceFluxErr"),
        flagged=column("psfFlux_flag"),
    )


def classify(content: bytes) -> Brightness | None:
    """ALeRCE's probability list -> brightness, from each classifier's top-ranked class."""
    data = load_json(content, what="ALeRCE LSST probabilities")
    if isinstance(data, dict):
        data = data.get("items", data.get("probabilities", []))
    if not isinstance(data, list):
        raise ParseError("unreadable ALeRCE LSST probabilities: not a list")
    top = [str(row.get("class_name")) for row in data
           if isinstance(row, dict) and str(row.get("ranking")) == "1" and row.get("class_name")]
    return rules.from_alerce(top)


def nearest_in_cone(content: bytes, ra: float, dec: float, radius_arcsec: float) -> str | None:
    """The oid of the nearest listed object within the radius (distance computed here)."""
    data = load_json(content, what="ALeRCE LSST object list")
    items = data.get("items") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ParseError("not an ALeRCE LSST object list: no 'items'")
    rows = [row for row in items if isinstance(row, dict) and id_text(row.get("oid"))]
    if not rows:
        return None
    distance = separation_arcsec([_float(row.get("meanra")) for row in rows],
                                 [_float(row.get("meandec")) for row in rows], ra, dec)
    distance = np.where(np.isfinite(distance), distance, np.inf)
    best = int(np.argmin(distance))
    return id_text(rows[best]["oid"]) if distance[best] <= radius_arcsec else None


def _float(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")
