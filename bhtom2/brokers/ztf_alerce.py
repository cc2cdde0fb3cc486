"""ZTF alert photometry through the ALeRCE API (``ZTF``).

Endpoints (``{BHTOM_URL_ZTF}`` = ``https://api.alerce.online``):
``/ztf/v1/objects/<oid>/detections`` and ``/ztf/v1/objects/<oid>/non_detections``
(lists), ``/ztf/v1/objects/<oid>/lightcurve`` (both lists in one object; the
parser reads it too) and ``/ztf/v1/objects?ra=&dec=&radius=`` for the cone
search that finds a target's ZTF object id. Plain HTTP through the shared
client: the ``alerce`` package opens its own ``requests`` session.

Detections: ``magpsf`` +- ``sigmapsf`` in ``fid`` 1/2/3 = g/r/i. Non-detections:
``diffmaglim``, the 5-sigma limit of the difference image, stored as a limit
(magnitude NaN), which the TOM plot draws as an upper limit.

Negative differences. ``isdiffpos`` says whether the science image was
brighter (1, "t") or fainter (-1, "f", 0) than the reference. For a negative
difference ``magpsf`` is the magnitude of the flux *lost* since the reference
image, not a brightness of the object; plotted next to positive differences it
would look like a brightening. Such detections are left out and counted as
"negative difference (isdiffpos)". A missing ``isdiffpos`` counts as positive
(ALeRCE's older records carry only positive alerts).

Times: ``mjd`` is ZTF's ``jd`` (UTC, start of the exposure) minus 2400000.5,
read as UTC with astropy and kept at the start of the exposure.
"""
from __future__ import annotations

import json
import math
from datetime import datetime

import astropy.units as u
import numpy as np
import pandas as pd
from tom_targets.models import Target

from bhtom2.data_sources import DataSource
from bhtom_base.broker import BHTOMBroker
from bhtom_base.errors import ParseError
from bhtom_base.http import Fetched
from bhtom_base.lightcurve import ParseContext, concat_lightcurves, empty_lightcurve, make_lightcurve
from bhtom_base.parsing import decode_text, reject_html
from bhtom_base.sky import separation_arcsec
from bhtom_base.times import mjd_to_utc

API = "/ztf/v1"
FIDS = {1: "g", 2: "r", 3: "i"}
NEGATIVE = {"-1", "f", "0", "false"}


def _load_json(content: bytes, what: str):
    text = decode_text(content, what=what)
    reject_html(text, what=what)
    try:
        return json.loads(text)
    except ValueError as error:
        raise ParseError(f"unreadable {what} (not JSON: {error})") from None


def parse(content: bytes, context: ParseContext | None = None) -> pd.DataFrame:
    """ALeRCE detections, non-detections or lightcurve JSON -> standard frame."""
    data = _load_json(content, "ALeRCE ZTF lightcurve")
    if isinstance(data, dict) and ("detections" in data or "non_detections" in data):
        parts = [_rows_frame(data.get("detections") or [], detections=True),
                 _rows_frame(data.get("non_detections") or [], detections=False)]
        return concat_lightcurves(parts)
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        data = data["items"]
    if not isinstance(data, list):
        raise ParseError("not an ALeRCE lightcurve: expected a list of detections or non-detections")
    if not data:
        return empty_lightcurve()
    if not all(isinstance(row, dict) for row in data):
        raise ParseError("not an ALeRCE lightcurve: list items are not objects")
    detections = [row for row in data if row.get("magpsf") is not None]
    limits = [row for row in data if row.get("magpsf") is None]
    return concat_lightcurves([_rows_frame(detections, detections=True), _rows_frame(limits, detections=False)])


def _rows_frame(rows: list, *, detections: bool) -> pd.DataFrame:
    if not rows:
        return empty_lightcurve()
    if not all(isinstance(row, dict) for row in rows):
        raise ParseError("not an ALeRCE lightcurve: list items are not objects")
    table = pd.DataFrame.from_records(rows)
    if "mjd" not in table.columns or "fid" not in table.columns:
        raise ParseError("not an ALeRCE lightcurve: rows lack 'mjd' or 'fid'")
    skipped: dict[str, int] = {}
    mjd = pd.to_numeric(table["mjd"], errors="coerce").to_numpy(dtype=float)
    band = pd.to_numeric(table["fid"], errors="coerce").map(FIDS)
    keep = np.isfinite(mjd)
    _count(skipped, "unreadable time", ~keep)
    unknown_band = keep & band.isna().to_numpy()
    _count(skipped, "unknown fid", unknown_band)
    keep &= ~unknown_band
    if detections:
        sign = table["isdiffpos"] if "isdiffpos" in table.columns else pd.Series([None] * len(table))
        negative = keep & sign.map(_is_negative).to_numpy(dtype=bool)
        _count(skipped, "negative difference (isdiffpos)", negative)
        keep &= ~negative
        mag = _column(table, "magpsf")[keep]
        err = _column(table, "sigmapsf")[keep]
        limit = None
    else:
        mag = np.full(int(keep.sum()), np.nan)
        err = np.full(int(keep.sum()), np.nan)
        limit = _column(table, "diffmaglim")[keep]
    return make_lightcurve(
        time=mjd_to_utc(mjd[keep]).to_numpy(),
        mag=mag,
        mag_err=err,
        band=band[keep].to_numpy(dtype=object),
        limit=limit,
        skipped=skipped,
    )


def _column(table: pd.DataFrame, name: str) -> np.ndarray:
    if name not in table.columns:
        return np.full(len(table), np.nan)
    return pd.to_numeric(table[name], errors="coerce").to_numpy(dtype=float)


def _is_negative(value) -> bool:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    if isinstance(value, bool):
        return not value
    return str(value).strip().lower() in NEGATIVE


def _count(skipped: dict[str, int], reason: str, mask: np.ndarray) -> None:
    if mask.any():
        skipped[reason] = skipped.get(reason, 0) + int(mask.sum())


def parse_objects(content: bytes) -> pd.DataFrame:
    """ALeRCE ``/objects`` listing -> ``oid, meanra, meandec`` (rows without a position dropped)."""
    data = _load_json(content, "ALeRCE object list")
    items = data.get("items") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ParseError("not an ALeRCE object list: no 'items'")
    table = pd.DataFrame.from_records([item for item in items if isinstance(item, dict)])
    if table.empty:
        return pd.DataFrame({"oid": [], "meanra": [], "meandec": []})
    if not {"oid", "meanra", "meandec"} <= set(table.columns):
        raise ParseError("not an ALeRCE object list: items lack oid/meanra/meandec")
    table = table[["oid", "meanra", "meandec"]].copy()
    table["meanra"] = pd.to_numeric(table["meanra"], errors="coerce")
    table["meandec"] = pd.to_numeric(table["meandec"], errors="coerce")
    return table.dropna().reset_index(drop=True)


class ZTFAlerceBroker(BHTOMBroker):
    """ZTF alert photometry (detections and limits) from ALeRCE (``ZTF``)."""

    data_source = DataSource.ZTF
    update_cadence = 1 * u.day
    default_cross_match_max_separation = 2 * u.arcsec
    facility_name = "ZTF"
    observer_name = "ZTF (ALeRCE)"

    parse = staticmethod(parse)

    def fetch(self, target: Target, survey_name: str, since: datetime | None) -> list[Fetched]:
        # The endpoints have no time filter; the database skips what it already has.
        base = f"{self.base_url}{API}/objects/{survey_name}"
        return [self.http.get(f"{base}/detections"), self.http.get(f"{base}/non_detections")]

    def find_survey_name(self, target: Target) -> str | None:
        if target.ra is None or target.dec is None:
            return None
        radius = self.cross_match_max_separation.to_value(u.arcsec)
        response = self.http.get(
            f"{self.base_url}{API}/objects",
            params={"ra": f"{float(target.ra):.6f}", "dec": f"{float(target.dec):.6f}", "radius": f"{radius:g}",
                    "page_size": "20"},
        )
        objects = parse_objects(response.content)
        if objects.empty:
            return None
        distance = separation_arcsec(objects["meanra"], objects["meandec"], float(target.ra), float(target.dec))
        inside = np.flatnonzero(distance <= radius)
        if len(inside) == 0:
            return None
        best = inside[np.argmin(distance[inside])]
        return str(objects["oid"].iloc[best])
