"""Reading an LSST service's JSON answer, and telling the three services' answers apart.

Every service writes JSON, Lasair with bare ``NaN`` tokens (Python's reader takes
them; a strict reader would not). Rubin's ids are 64-bit integers: ``json`` reads
them as exact Python ints, and :func:`~.photometry.id_text` keeps them as text.
"""
from __future__ import annotations

import pandas as pd

from bhtom_base import parsing
from bhtom_base.errors import ParseError
from bhtom_base.lightcurve import ParseContext

WHAT = "Rubin/LSST response"
LASAIR_KEYS = ("diaSources", "diaSourcesList", "diaForcedSources", "diaForcedSourcesList")
ALERCE_KEYS = ("detections", "forced_photometry")
ERROR_KEYS = ("error", "detail", "text", "message")


def load_json(content: bytes | str, *, what: str = WHAT) -> object:
    """The JSON value of a Rubin/LSST answer (see :func:`bhtom_base.parsing.load_json`)."""
    return parsing.load_json(content, what=what)


def error_message(data: dict) -> str:
    for key in ERROR_KEYS:
        if data.get(key):
            return str(data[key])[:200]
    return ""


def parse(content: bytes, context: ParseContext | None = None) -> pd.DataFrame:
    """Any LSST service's lightcurve answer -> standard frame (Fink list, Lasair object or ALeRCE lightcurve)."""
    from . import alerce, fink, lasair

    data = load_json(content)
    if isinstance(data, list):
        return fink.parse_records(fink.records(data), context)
    if isinstance(data, dict):
        if any(key in data for key in LASAIR_KEYS):
            return lasair.parse_object(data, context)
        if any(key in data for key in ALERCE_KEYS):
            return alerce.parse_lightcurve(data, context)
        message = error_message(data)
        if message:
            raise ParseError(f"the LSST service answered with an error: {message}")
    raise ParseError(f"not a {WHAT}: neither a Fink list, a Lasair object nor an ALeRCE lightcurve")
