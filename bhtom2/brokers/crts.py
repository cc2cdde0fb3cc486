"""Catalina Real-time Transient Survey (CRTS DR): unfiltered CSS photometry by cone search.

Query: ``{BHTOM_URL_CRTS}/cgi-bin/getcssconedb_release_img.cgi`` with ``RA``, ``Dec`` (deg),
``Rad`` (arcmin), ``DB=photcat&OUT=web&SHORT=short`` (``http://nunuku.caltech.edu``).
The service answers with an HTML page by
design, so this parser reads the page rather than rejecting it: the table
captioned "Photometry of Objs:" (OBJ ID, Mag, Magerr, RA, Dec, MJD) holds
the points, the table "Master Objs in Region" gives each object's offset from
the position asked for, and only the nearest object's points are kept (the
others are counted). A page saying "This area is not covered by CSS data",
or a result page without a photometry table (no object in the cone), is an
empty lightcurve, not an error. Anything else (an error page of the server,
a proxy's page) is a ``ParseError``.

Band ``CL``: unfiltered CSS magnitudes calibrated to V. Times are MJD of
the exposures, taken as UTC (CRTS publishes no other time scale). The data
release does not change, so it is fetched once (``update_cadence`` None).
"""
from __future__ import annotations

import html
import re
from datetime import datetime

import astropy.units as u
import numpy as np
import pandas as pd
from tom_targets.models import Target

from bhtom2.data_sources import DataSource
from bhtom_base.broker import BHTOMBroker
from bhtom_base.errors import ParseError
from bhtom_base.http import Fetched
from bhtom_base.lightcurve import SURVEY_NAMES, ParseContext, empty_lightcurve, make_lightcurve
from bhtom_base.parsing import decode_text
from bhtom_base.times import mjd_to_utc

NOT_COVERED = "not covered by CSS data"
_TABLE = re.compile(r"<table\b(?P<body>.*?)</table>", re.IGNORECASE | re.DOTALL)
_CAPTION = re.compile(r"<caption>(?P<caption>.*?)</caption>", re.IGNORECASE | re.DOTALL)
_ROW = re.compile(r"<tr\b[^>]*>(?P<row>.*?)(?=<tr\b|</table>|$)", re.IGNORECASE | re.DOTALL)
_CELL = re.compile(r"<t(?P<kind>[hd])\b[^>]*>(?P<text>.*?)(?=<t[hd]\b|</tr>|$)", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_TITLE = re.compile(r"<title>(?P<title>.*?)</title>", re.IGNORECASE | re.DOTALL)


def _tables(text: str) -> dict[str, pd.DataFrame]:
    """Every captioned table of the page: caption -> frame of its cells (header row as columns)."""
    tables: dict[str, pd.DataFrame] = {}
    for table in _TABLE.finditer(text):
        body = table["body"]
        caption = _CAPTION.search(body)
        if caption is None:
            continue
        header: list[str] = []
        rows: list[list[str]] = []
        for row in _ROW.finditer(body):
            cells = [(cell["kind"].lower(), html.unescape(_TAG.sub("", cell["text"])).strip())
                     for cell in _CELL.finditer(row["row"])]
            if cells and all(kind == "h" for kind, _ in cells):
                header = [value for _, value in cells]
            elif cells and header:
                rows.append([value for _, value in cells])
        name = _TAG.sub("", caption["caption"]).strip().rstrip(":").strip()
        width = len(header)
        tables[name] = pd.DataFrame([row[:width] + [""] * (width - len(row)) for row in rows], columns=header)
    return tables


def parse(content: bytes, context: ParseContext | None = None) -> pd.DataFrame:
    """A CRTS cone-search result page -> standard frame of the nearest object (band CL)."""
    text = decode_text(content, what="CRTS cone-search page")
    if NOT_COVERED in text:
        return empty_lightcurve()
    tables = _tables(text)
    if "Photometry of Objs" not in tables:
        if "Photcat DB query" in text or "Master Catalog Frame at Coords" in tables:
            return empty_lightcurve()  # the area is covered but no object lies in the cone
        title = _TITLE.search(text[:4096])
        detail = f" ({_TAG.sub('', title['title']).strip()[:100]})" if title else ""
        raise ParseError(f"not a CRTS cone-search result page{detail}")
    photometry = tables["Photometry of Objs"]
    required = {"OBJ ID", "Mag", "Magerr", "MJD"}
    if not required <= set(photometry.columns):
        raise ParseError(f"CRTS photometry table lacks columns {sorted(required - set(photometry.columns))}")
    skipped: dict[str, int] = {}
    nearest = _nearest_object(tables.get("Master Objs in Region"))
    if nearest is not None:
        other = photometry["OBJ ID"] != nearest
        if other.any():
            skipped["another CRTS object in the cone"] = int(other.sum())
        photometry = photometry[~other]
    mjd = pd.to_numeric(photometry["MJD"], errors="coerce").to_numpy(dtype=float)
    mag = pd.to_numeric(photometry["Mag"], errors="coerce").to_numpy(dtype=float)
    err = pd.to_numeric(photometry["Magerr"], errors="coerce").to_numpy(dtype=float)
    readable = np.isfinite(mjd) & np.isfinite(mag) & np.isfinite(err)
    if (~readable).any():
        skipped["unreadable row"] = int((~readable).sum())
    times = mjd_to_utc(mjd[readable]).to_numpy()
    frame = make_lightcurve(time=times, mag=mag[readable], mag_err=err[readable], band="CL", skipped=skipped)
    crts_id = nearest or (str(photometry["OBJ ID"].iloc[0]) if len(photometry) else None)
    if crts_id and len(frame):
        frame.attrs[SURVEY_NAMES] = {"CRTS": crts_id}
    return frame


def _nearest_object(master: pd.DataFrame | None) -> str | None:
    if master is None or master.empty or "OBJ ID" not in master.columns:
        return None
    offset_column = next((column for column in master.columns if column.startswith("Offset")), None)
    if offset_column is None:
        return str(master["OBJ ID"].iloc[0])
    offsets = pd.to_numeric(master[offset_column], errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(offsets).any():
        return str(master["OBJ ID"].iloc[0])
    return str(master["OBJ ID"].iloc[int(np.nanargmin(offsets))])


def cone_query(ra: float, dec: float, radius: u.Quantity) -> dict[str, str]:
    """Query parameters of a cone search (numbers formatted here, never user text)."""
    return {
        "RA": f"{float(ra):.5f}",
        "Dec": f"{float(dec):.5f}",
        "Rad": f"{radius.to_value(u.arcmin):.4g}",
        "DB": "photcat",
        "OUT": "web",
        "SHORT": "short",
    }


class CRTSBroker(BHTOMBroker):
    """Catalina Real-time Transient Survey data release (``CRTS``)."""

    data_source = DataSource.CRTS
    update_cadence = None
    default_cross_match_max_separation = 6 * u.arcsec
    facility_name = "CSS"
    observer_name = "CRTS"
    needs_survey_name = False

    parse = staticmethod(parse)

    def fetch(self, target: Target, survey_name: str, since: datetime | None) -> Fetched:
        query = cone_query(target.ra, target.dec, self.cross_match_max_separation)
        return self.http.get(f"{self.base_url}/cgi-bin/getcssconedb_release_img.cgi", params=query)

