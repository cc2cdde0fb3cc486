"""IRSA Gator catalog queries and their IPAC ASCII tables (shared by NEOWISE and AllWISE).

Endpoint: ``{base}/cgi-bin/Gator/nph-query`` with ``catalog``, ``spatial=cone``,
``objstr`` ("RA Dec" in degrees), ``radius`` + ``radunits=arcsec``,
``outfmt=1`` (IPAC table) and ``selcols`` (the columns wanted).

Times. WISE ``mjd`` is the MJD of the frame mid-point in UTC (the WISE and
NEOWISE Explanatory Supplements derive it from the frame's UTC time stamp;
it is not barycentric). It is taken as UTC as given.
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
from bhtom_base.lightcurve import make_lightcurve
from bhtom_base.parsing import decode_text, reject_html
from bhtom_base.times import mjd_to_utc

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


WISE_DETECTION_QUALITY = frozenset("ABC")
WISE_UPPER_LIMIT_QUALITY = "U"


def wise_lightcurve(table: Table, bands: dict[str, tuple[str, str]]) -> dict:
    """WISE single-exposure rows -> the columns of a standard lightcurve, with quality cuts.

    ``bands`` maps a band (``W1``) to its magnitude and error columns; the
    band's position in ``bands`` is its character in ``cc_flags``/``ph_qual``
    (W1 first, W2 second, as in every WISE table). The cuts apply only when
    the table carries the column (the selcols we request always do):

    * ``qual_frame`` = 0: the frame is of poor quality -> every band skipped;
    * ``cc_flags`` character not ``0``: an artefact (diffraction spike,
      persistence, halo, ghost) in that band -> skipped;
    * ``ph_qual`` character ``A``/``B``/``C``: a detection (S/N >= 2);
      ``U``: the magnitude is a 95 % brightness upper limit -> stored as a
      limit; ``X``/``Z`` or anything else: no usable measurement -> skipped.
    """
    mjd = column_floats(table, "mjd")
    n = len(table)
    good_frame = np.ones(n, dtype=bool)
    skipped: dict[str, int] = {}
    if "qual_frame" in table.colnames:
        qual_frame = column_floats(table, "qual_frame")
        good_frame = ~(qual_frame == 0)
    cc_flags = column_strings(table, "cc_flags") if "cc_flags" in table.colnames else None
    ph_qual = column_strings(table, "ph_qual") if "ph_qual" in table.colnames else None
    parts: dict[str, list] = {"mjd": [], "mag": [], "mag_err": [], "band": [], "limit": []}
    for position, (band, (mag_column, err_column)) in enumerate(bands.items()):
        mag = column_floats(table, mag_column)
        err = column_floats(table, err_column)
        keep = good_frame.copy()
        _count(skipped, f"{band}: poor frame (qual_frame=0)", ~good_frame)
        if cc_flags is not None:
            flag = np.array([value[position] if len(value) > position else "" for value in cc_flags])
            artefact = keep & (flag != "0")
            _count(skipped, f"{band}: artefact flag (cc_flags)", artefact)
            keep &= ~artefact
        is_limit = np.zeros(n, dtype=bool)
        if ph_qual is not None:
            quality = np.array([value[position] if len(value) > position else "" for value in ph_qual])
            is_limit = keep & (quality == WISE_UPPER_LIMIT_QUALITY)
            unusable = keep & ~is_limit & ~np.isin(quality, list(WISE_DETECTION_QUALITY))
            _count(skipped, f"{band}: no measurement (ph_qual X/Z)", unusable)
            keep &= ~unusable
        no_mag = keep & ~np.isfinite(mag)
        _count(skipped, f"{band}: null magnitude", no_mag)
        keep &= np.isfinite(mag)
        no_error = keep & ~is_limit & ~np.isfinite(err)
        _count(skipped, f"{band}: null error", no_error)
        keep &= ~no_error
        detection = keep & ~is_limit
        limit = keep & is_limit
        for mask, as_limit in ((detection, False), (limit, True)):
            count = int(mask.sum())
            parts["mjd"].append(mjd[mask])
            parts["mag"].append(np.full(count, np.nan) if as_limit else mag[mask])
            parts["mag_err"].append(np.full(count, np.nan) if as_limit else err[mask])
            parts["limit"].append(mag[mask] if as_limit else np.full(count, np.nan))
            parts["band"].append(np.full(count, band, dtype=object))
    columns = {key: np.concatenate(values) if values else np.array([]) for key, values in parts.items()}
    bad_time = ~np.isfinite(columns["mjd"].astype(float))
    if bad_time.any():
        skipped["null mjd"] = int(bad_time.sum())
        columns = {key: values[~bad_time] for key, values in columns.items()}
    columns["skipped"] = skipped
    return columns


def _count(skipped: dict[str, int], reason: str, mask: np.ndarray) -> None:
    count = int(np.count_nonzero(mask))
    if count:
        skipped[reason] = skipped.get(reason, 0) + count


def parse_wise_table(content: bytes | str, *, what: str, bands: dict[str, tuple[str, str]]) -> pd.DataFrame:
    """A Gator IPAC table of WISE single exposures -> standard lightcurve frame."""
    required = ["mjd", *(column for pair in bands.values() for column in pair)]
    table = parse_ipac_table(content, what=what, required=required)
    columns = wise_lightcurve(table, bands)
    return make_lightcurve(
        time=mjd_to_utc(columns["mjd"]),
        mag=columns["mag"],
        mag_err=columns["mag_err"],
        band=columns["band"],
        limit=columns["limit"],
        skipped=columns["skipped"],
    )


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

