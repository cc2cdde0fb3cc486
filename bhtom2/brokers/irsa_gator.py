"""IRSA Gator catalog queries and their IPAC ASCII tables (shared by NEOWISE and AllWISE).

Endpoint: ``{base}/cgi-bin/Gator/nph-query`` with ``catalog``, ``spatial=cone``,
``objstr`` ("RA Dec" in degrees), ``radius`` + ``radunits=arcsec``,
``outfmt=1`` (IPAC table) and ``selcols`` (the columns wanted). What the WISE
rows become is in :mod:`bhtom2.brokers.wise_photometry`.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pandas as pd
from astropy.io import ascii as astropy_ascii
from astropy.table import Table

from bhtom_base.broker import BHTOMBroker
from bhtom_base.errors import NoSurveyName, ParseError
from bhtom_base.http import Fetched
from bhtom_base.parsing import decode_text, reject_html

GATOR_PATH = "/cgi-bin/Gator/nph-query"
_GATOR_ERROR = re.compile(r'\[struct\s+stat\s*=\s*"?ERROR"?\s*,\s*msg\s*=\s*"?(?P<msg>[^"\]]*)', re.IGNORECASE)


def gator_params(catalog: str, ra: float, dec: float, radius_arcsec: float, columns: Sequence[str],
                 constraints: str | None = None) -> dict[str, str]:
    """Query parameters of a Gator cone search (numbers only: nothing from users reaches the URL)."""
    ra, dec, radius = float(ra), float(dec), float(radius_arcsec)
    if not (0.0 <= ra <= 360.0 and -90.0 <= dec <= 90.0 and 0.0 < radius <= 3600.0):
        raise ValueError(f"invalid cone RA={ra} Dec={dec} radius={radius}")
    params = {
        "catalog": catalog,
        "spatial": "cone",
        "objstr": f"{ra:.6f} {dec:+.6f}",
        "radius": f"{radius:g}",
        "radunits": "arcsec",
        "outfmt": "1",
        "selcols": ",".join(columns),
    }
    if constraints:
        params["constraints"] = constraints
    return params


def parse_ipac_table(content: bytes | str, *, what: str, required: Sequence[str]) -> Table:
    """A Gator IPAC table -> astropy ``Table`` (zero rows when the cone is empty).

    A Gator error message, an HTML page, an empty or truncated body, or a
    table without the ``required`` columns is a ``ParseError``.
    """
    text = decode_text(content, what=what)
    reject_html(text, what=what)
    error = _GATOR_ERROR.search(text[:2000])
    if error:
        raise ParseError(f"IRSA Gator error: {error.group('msg').strip()[:200] or 'no message'}")
    lines = text.splitlines()
    header = next((line for line in lines[:400] if line.startswith("|")), None)
    if header is None:
        raise ParseError(f"not an IPAC table: no '|' column header where a {what} was expected")
    data = [line for line in lines if line.strip() and not line.startswith(("\\", "|"))]
    if data and len(data[-1].rstrip()) < len(header.rstrip()) - 2:
        raise ParseError(f"{what} ends in the middle of a row (truncated)")
    declared = re.search(r"^\\RowsRetrieved\s*=\s*(\d+)", text, re.MULTILINE)
    try:
        table = astropy_ascii.read(text, format="ipac", guess=False)
    except Exception as error:  # astropy raises many types for malformed tables
        raise ParseError(f"unreadable IPAC table ({type(error).__name__}: {str(error)[:200]})") from None
    missing = [name for name in required if name not in table.colnames]
    if missing:
        raise ParseError(f"{what} lacks columns {missing}")
    if declared and int(declared.group(1)) > 0 and len(table) == 0:
        raise ParseError(f"{what} declares {declared.group(1)} rows but holds none (truncated?)")
    return table


def column_floats(table: Table, name: str) -> np.ndarray:
    """A column as float: masked/null or non-numeric entries become NaN."""
    column = table[name]
    values = np.ma.filled(np.ma.asarray(column).astype(object), np.nan)
    return pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(dtype=float)


def column_strings(table: Table, name: str) -> np.ndarray:
    column = table[name]
    return np.asarray(np.ma.filled(np.ma.asarray(column).astype(str), ""), dtype=str)


class GatorConeBroker(BHTOMBroker):
    """A survey read by a Gator cone search around the target's coordinates (no survey name needed)."""

    needs_survey_name = False
    catalog: str = ""
    columns: tuple[str, ...] = ()

    def cone_params(self, target, since: datetime | None) -> dict[str, str]:
        if target.ra is None or target.dec is None:
            raise NoSurveyName(f"{target.name} has no coordinates for a cone search in {self.pretty_name}")
        radius = self.cross_match_max_separation.to_value("arcsec")
        return gator_params(self.catalog, target.ra, target.dec, radius, self.columns,
                            constraints=self.constraints(since))

    def constraints(self, since: datetime | None) -> str | None:
        return None

    def fetch(self, target, survey_name: str | None, since: datetime | None) -> Fetched:
        return self.http.get(f"{self.base_url}{GATOR_PATH}", params=self.cone_params(target, since))

