"""Lasair-LSST (``BHTOM_LSST_SERVICE=lasair``): the object API, with a token.

``GET {BHTOM_URL_LSST_LASAIR}/api/object/?objectId=<diaObjectId>&lasair_added=true`` with the header
``Authorization: Token <LASAIR_TOKEN>`` returns the object page as JSON: ``diaSources``
and ``diaForcedSources`` (the current server names them ``diaSourcesList`` and
``diaForcedSourcesList``; both are read) and ``lasairData.sherlock.classification``,
Sherlock's sky-context class, which decides the object's brightness. Bare ``NaN``
tokens (Lasair writes them) are read as NaN. ``/api/cone/?ra=&dec=&radius=&requestType=nearest``
finds an object by position: ``[{"object": "<diaObjectId>", "separation": <arcsec>}]``.
Docs: https://lasair.readthedocs.io/en/main/core_functions/rest-api.html
"""
from __future__ import annotations

import pandas as pd

from bhtom_base.errors import ParseError
from bhtom_base.lightcurve import ParseContext
from bhtom_base.parsing import load_json_object

from . import brightness as rules
from .photometry import id_text, lightcurve_from_fluxes, measurement_table
from .response import load_json

OBJECT_PATH = "/api/object/"
CONE_PATH = "/api/cone/"
WHAT = "Lasair-LSST object"
OBSERVER = "Rubin/LSST (Lasair)"


def parse(content: bytes, context: ParseContext | None = None) -> pd.DataFrame:
    """A Lasair-LSST ``/api/object/`` JSON -> standard frame (difference or total flux, as decided)."""
    return parse_object(load_json_object(content, what=WHAT), context)


def parse_object(data: dict, context: ParseContext | None = None) -> pd.DataFrame:
    if "error" in data and not any(key in data for key in ("diaSources", "diaSourcesList")):
        raise ParseError(f"Lasair answered with an error: {str(data['error'])[:200]}")
    sources = _list(data, "diaSourcesList", "diaSources")
    forced = _list(data, "diaForcedSourcesList", "diaForcedSources")
    if sources is None and forced is None:
        raise ParseError(f"not a {WHAT}: no diaSources or diaForcedSources")
    context = context or ParseContext()
    choice = rules.decide(context.brightness, rules.from_sherlock(_sherlock_class(data)))
    table = pd.concat([_measurements(sources or [], forced=False), _measurements(forced or [], forced=True)],
                      ignore_index=True)
    object_id = str(data.get("diaObjectId") or "").strip()
    return lightcurve_from_fluxes(table, choice, observer=OBSERVER,
                                  survey_names={"LSST": object_id} if object_id else None)


def _list(data: dict, *keys: str) -> list | None:
    for key in keys:
        value = data.get(key)
        if value is not None:
            if not isinstance(value, list) or not all(isinstance(row, dict) for row in value):
                raise ParseError(f"not a {WHAT}: {key} is not a list of objects")
            return value
    return None


def _sherlock_class(data: dict) -> object:
    lasair = data.get("lasairData")
    sherlock = lasair.get("sherlock") if isinstance(lasair, dict) else None
    return sherlock.get("classification") if isinstance(sherlock, dict) else None


def _measurements(rows: list[dict], *, forced: bool) -> pd.DataFrame:
    id_key = "diaForcedSourceId" if forced else "diaSourceId"

    def column(name: str) -> list:
        return [row.get(name) for row in rows]

    return measurement_table(
        mjd_tai=column("midpointMjdTai"),
        band=column("band"),
        # ids are read by json as exact Python ints; kept as text from here on
        point_id=[id_text(row.get(id_key)) for row in rows],
        forced=[forced] * len(rows),
        diff_flux=column("psfFlux"), diff_flux_err=column("psfFluxErr"),
        sci_flux=column("scienceFlux"), sci_flux_err=column("scienceFluxErr"),
        template_flux=column("templateFlux"), template_flux_err=column("templateFluxErr"),
        flagged=column("psfFlux_flag"),
        withdrawn=[_withdrawn(row.get("timeWithdrawnMjdTai")) for row in rows],
    )



def _withdrawn(value: object) -> bool:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return number == number and number > 0


def parse_cone(content: bytes) -> list[tuple[str, float]]:
    """A Lasair ``/api/cone/`` answer -> ``[(diaObjectId, separation arcsec)]``, nearest first."""
    data = load_json(content, what="Lasair-LSST cone search")
    if isinstance(data, dict):
        if "error" in data:
            raise ParseError(f"Lasair answered with an error: {str(data['error'])[:200]}")
        data = [data]
    if not isinstance(data, list):
        raise ParseError("unreadable Lasair-LSST cone search: not a list")
    found = []
    for row in data:
        if isinstance(row, dict) and row.get("object") is not None:
            try:
                found.append((id_text(row["object"]), float(row.get("separation"))))
            except (TypeError, ValueError):
                continue
    return sorted((item for item in found if item[0]), key=lambda item: item[1])
