"""ZTF alert photometry through the ALeRCE API (``ZTF``).

Endpoints (``{BHTOM_URL_ZTF}`` = ``https://api.alerce.online``):
``/ztf/v1/objects/<oid>`` (the object: its ``corrected`` and ``stellar``
flags), ``/ztf/v1/objects/<oid>/detections`` and
``/ztf/v1/objects/<oid>/non_detections`` (lists), and
``/ztf/v1/objects?ra=&dec=&radius=`` for the cone search that finds a
target's ZTF object id. Plain HTTP through the shared client: the ``alerce``
package opens its own ``requests`` session. The three answers of one update
are checked one by one (an HTML page or bad JSON in any of them is a clear
error naming it) and parsed together as one document,
``{"object": ..., "detections": [...], "non_detections": [...]}`` (the shape
of ALeRCE's own ``/lightcurve`` answer plus the object); ``parse`` also reads a
bare detections or non-detections list and the ``/lightcurve`` answer.

What a stored point is. A ZTF alert measures the *difference* between the
science image and the reference image. ALeRCE adds the object's apparent
magnitude, reference + difference (``magpsf_corr``; ALeRCE's correction step,
https://github.com/alercebroker/pipeline, ``correction`` README), wherever the
detection lies within 1.4" of a source in the reference image (``corrected``).

* **Total** (the object is in the reference image: a star, a microlensing
  source): each detection is ``magpsf_corr`` with error ``sigmapsf_corr``, or
  ``sigmapsf_corr_ext`` where ``sigmapsf_corr`` is ALeRCE's placeholder (100:
  its formula, which subtracts the reference's error, has no solution for a
  source much brighter than its change) or not finite. A negative difference is
  then a real, fainter point. Detections ALeRCE did not correct, flagged
  ``dubious`` (its correction is in doubt), or without a corrected magnitude or
  error are left out and counted. Non-detections are left out and counted: the
  difference image's limit (``diffmaglim``) says "no change from the
  reference", not "fainter than".
* **Difference** (a transient absent from the reference, e.g. a supernova
  beside its galaxy): each positive detection is ``magpsf`` +- ``sigmapsf``; a
  negative difference (``isdiffpos`` -1, "f", 0) is not a detection of the
  transient and is left out and counted; ``diffmaglim`` is a true upper limit.
  A missing ``isdiffpos`` counts as positive (older ALeRCE records).

Which one, per target: the person's choice (the target's ``bhtom_brightness``
extra: ``total`` or ``difference``) wins; with ``auto`` the broker takes
**total** when ALeRCE corrected the object (``corrected``: its first detection
lay within 1.4" of a reference source) and either flags it ``stellar`` or has
seen it fainter than its reference (a corrected, non-dubious detection with a
negative difference: a transient absent from the reference cannot fade below
nothing); otherwise **difference**. Without the object record (a bare list) the
first detection of each band stands in for ``corrected`` and ``stellar`` is
unknown.

Times: ``mjd`` is ZTF's ``jd`` (UTC, start of the exposure) minus 2400000.5
(ZTF alert schema, ``candidate.jd``). The stored time is mid-exposure, 15 s
later: ZTF survey exposures are 30 s (``exptime``, which ALeRCE does not serve;
30.0 in the recorded ANTARES copy of ZTF20aafqubg's alerts). Each row's
``value`` keeps ``mjd`` as given (``time_system`` "MJD UTC, exposure start")
and the alert's ``candid`` as ``point_id`` (non-detections have none).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime

import astropy.units as u
import numpy as np
import pandas as pd
from tom_targets.models import Target

from bhtom2.data_sources import DataSource
from bhtom_base.broker import BHTOMBroker
from bhtom_base.errors import ParseError
from bhtom_base.http import Fetched
from bhtom_base.lightcurve import (
    Brightness,
    ParseContext,
    concat_lightcurves,
    count_skipped,
    empty_lightcurve,
    make_lightcurve,
)
from bhtom_base.parsing import json_flag, load_json
from bhtom_base.sky import separation_arcsec
from bhtom_base.times import mjd_to_utc

API = "/ztf/v1"
FIDS = {1: "g", 2: "r", 3: "i"}
NEGATIVE = {"-1", "f", "0", "false"}
# ALeRCE writes 100 (its "zero magnitude") where a corrected magnitude or error has no value.
ALERCE_PLACEHOLDER = 100.0
HALF_EXPOSURE = pd.Timedelta(seconds=15)  # ZTF survey exposures are 30 s; mjd is their start
TIME_SYSTEM = "MJD UTC, exposure start"
LIMIT_IN_REFERENCE = "difference-image limit (source in the reference: no change)"


def bundle(object_body: bytes, detections_body: bytes, non_detections_body: bytes) -> bytes:
    """The three answers of one object as one document for :func:`parse`; each is checked first."""
    obj = load_json(object_body, what="ALeRCE ZTF object")
    if not isinstance(obj, dict):
        raise ParseError("not an ALeRCE object: expected a JSON object")
    detections = load_json(detections_body, what="ALeRCE ZTF detections list")
    non_detections = load_json(non_detections_body, what="ALeRCE ZTF non-detections list")
    return json.dumps({"object": obj, "detections": detections, "non_detections": non_detections}).encode()


@dataclass(frozen=True)
class ObjectFlags:
    """ALeRCE's object-level flags; None where not known."""

    corrected: bool | None = None
    stellar: bool | None = None

    @classmethod
    def from_record(cls, record) -> ObjectFlags:
        if not isinstance(record, dict):
            return cls()
        return cls(corrected=json_flag(record.get("corrected")), stellar=json_flag(record.get("stellar")))


def parse(content: bytes, context: ParseContext | None = None) -> pd.DataFrame:
    """ALeRCE object + detections + non-detections (or any one list) -> standard frame."""
    data = load_json(content, what="ALeRCE ZTF lightcurve")
    flags = ObjectFlags()
    if isinstance(data, dict) and ("detections" in data or "non_detections" in data):
        flags = ObjectFlags.from_record(data.get("object"))
        detections = _rows(data.get("detections") or [])
        limits = _rows(data.get("non_detections") or [])
    else:
        if isinstance(data, dict) and isinstance(data.get("items"), list):
            data = data["items"]
        if not isinstance(data, list):
            raise ParseError("not an ALeRCE lightcurve: expected a list of detections or non-detections")
        rows = _rows(data)
        detections = [row for row in rows if row.get("magpsf") is not None]
        limits = [row for row in rows if row.get("magpsf") is None]
    if not detections and not limits:
        return empty_lightcurve()
    choice = context.brightness if context is not None else Brightness.AUTO
    brightness = decide_brightness(choice, flags, _table(detections))
    return concat_lightcurves([_detections_frame(detections, brightness), _limits_frame(limits, brightness)])


def decide_brightness(choice: Brightness, flags: ObjectFlags, detections: pd.DataFrame) -> Brightness:
    """TOTAL or DIFFERENCE for this object: the person's choice, else ALeRCE's flags (module docstring)."""
    if choice in (Brightness.TOTAL, Brightness.DIFFERENCE):
        return choice
    if detections.empty:
        return Brightness.TOTAL if flags.corrected and flags.stellar else Brightness.DIFFERENCE
    corrected = _bool_column(detections, "corrected")
    dubious = _bool_column(detections, "dubious")
    negative = _negative(detections)
    object_corrected = flags.corrected
    if object_corrected is None:  # ALeRCE's rule: the first detection of each band has a reference source
        mjd = pd.to_numeric(detections["mjd"], errors="coerce")
        first = mjd.groupby(detections["fid"]).idxmin().dropna()
        object_corrected = bool(len(first)) and bool(corrected[first.astype(int).to_numpy()].any())
    seen_fainter = bool((corrected & ~dubious & negative).any())
    if object_corrected and (flags.stellar or seen_fainter):
        return Brightness.TOTAL
    return Brightness.DIFFERENCE


def _rows(rows) -> list[dict]:
    if not isinstance(rows, list):
        raise ParseError("not an ALeRCE lightcurve: detections or non-detections are not a list")
    if not all(isinstance(row, dict) for row in rows):
        raise ParseError("not an ALeRCE lightcurve: list items are not objects")
    if any("mjd" not in row or "fid" not in row for row in rows):
        raise ParseError("not an ALeRCE lightcurve: rows lack 'mjd' or 'fid'")
    return rows


def _table(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame.from_records(rows) if rows else pd.DataFrame({"mjd": [], "fid": []})


def _detections_frame(rows: list[dict], brightness: Brightness) -> pd.DataFrame:
    if not rows:
        return empty_lightcurve()
    table = _table(rows)
    skipped: dict[str, int] = {}
    keep = _readable(table, skipped)
    if brightness is Brightness.TOTAL:
        not_corrected = keep & ~_bool_column(table, "corrected", default_from=_column(table, "magpsf_corr"))
        count_skipped(skipped, "not corrected by ALeRCE (no reference source within 1.4\")", not_corrected)
        keep &= ~not_corrected
        dubious = keep & _bool_column(table, "dubious")
        count_skipped(skipped, "dubious correction (ALeRCE)", dubious)
        keep &= ~dubious
        mag = _real(_column(table, "magpsf_corr"))
        no_mag = keep & ~np.isfinite(mag)
        count_skipped(skipped, "no corrected magnitude (ALeRCE)", no_mag)
        keep &= ~no_mag
        err = _real(_column(table, "sigmapsf_corr"))
        err = np.where(np.isfinite(err), err, _real(_column(table, "sigmapsf_corr_ext")))
    else:
        negative = keep & _negative(table)
        count_skipped(skipped, "negative difference (isdiffpos)", negative)
        keep &= ~negative
        mag = _column(table, "magpsf")
        err = _column(table, "sigmapsf")
    candid = np.array([_text(row.get("candid")) for row in rows], dtype=object)
    return _frame(table, rows, keep, mag=mag, err=err, limit=None, point_id=candid, skipped=skipped)


def _limits_frame(rows: list[dict], brightness: Brightness) -> pd.DataFrame:
    if not rows:
        return empty_lightcurve()
    table = _table(rows)
    skipped: dict[str, int] = {}
    keep = _readable(table, skipped)
    if brightness is Brightness.TOTAL:
        count_skipped(skipped, LIMIT_IN_REFERENCE, keep)
        keep = np.zeros(len(table), dtype=bool)
    nan = np.full(len(table), np.nan)
    return _frame(table, rows, keep, mag=nan, err=nan, limit=_column(table, "diffmaglim"), point_id="",
                  skipped=skipped)


def _readable(table: pd.DataFrame, skipped: dict[str, int]) -> np.ndarray:
    mjd = pd.to_numeric(table["mjd"], errors="coerce").to_numpy(dtype=float)
    keep = np.isfinite(mjd)
    count_skipped(skipped, "unreadable time", ~keep)
    unknown_band = keep & pd.to_numeric(table["fid"], errors="coerce").map(FIDS).isna().to_numpy()
    count_skipped(skipped, "unknown fid", unknown_band)
    return keep & ~unknown_band


def _frame(table, rows, keep, *, mag, err, limit, point_id, skipped) -> pd.DataFrame:
    mjd = pd.to_numeric(table["mjd"], errors="coerce").to_numpy(dtype=float)[keep]
    band = pd.to_numeric(table["fid"], errors="coerce").map(FIDS).to_numpy(dtype=object)[keep]
    survey_time = np.array([row.get("mjd") for row in rows], dtype=object)[keep]
    return make_lightcurve(
        time=(mjd_to_utc(mjd) + HALF_EXPOSURE).to_numpy(),
        mag=np.asarray(mag)[keep],
        mag_err=np.asarray(err)[keep],
        band=band,
        limit=None if limit is None else np.asarray(limit)[keep],
        point_id=point_id if isinstance(point_id, str) else point_id[keep],
        survey_time=survey_time,
        time_system=TIME_SYSTEM,
        skipped=skipped,
    )


def _column(table: pd.DataFrame, name: str) -> np.ndarray:
    if name not in table.columns:
        return np.full(len(table), np.nan)
    return pd.to_numeric(table[name], errors="coerce").to_numpy(dtype=float)


def _real(values: np.ndarray) -> np.ndarray:
    """NaN where ALeRCE wrote its placeholder (100) or nothing."""
    return np.where(np.isfinite(values) & (values < ALERCE_PLACEHOLDER), values, np.nan)


def _bool_column(table: pd.DataFrame, name: str, default_from: np.ndarray | None = None) -> np.ndarray:
    """A true/false column; missing values are False (or "has a finite value" in ``default_from``)."""
    fallback = np.zeros(len(table), dtype=bool) if default_from is None else np.isfinite(_real(default_from))
    if name not in table.columns:
        return fallback
    flags = table[name].map(json_flag).tolist()
    return np.array([fallback[i] if flag is None else flag for i, flag in enumerate(flags)], dtype=bool)


def _negative(table: pd.DataFrame) -> np.ndarray:
    if "isdiffpos" not in table.columns:
        return np.zeros(len(table), dtype=bool)
    return table["isdiffpos"].map(_is_negative).to_numpy(dtype=bool)


def _is_negative(value) -> bool:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    if isinstance(value, bool):
        return not value
    return str(value).strip().lower() in NEGATIVE


def _text(value) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def parse_objects(content: bytes) -> pd.DataFrame:
    """ALeRCE ``/objects`` listing -> ``oid, meanra, meandec`` (rows without a position dropped)."""
    data = load_json(content, what="ALeRCE object list")
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

    def fetch(self, target: Target, survey_name: str, since: datetime | None) -> Fetched:
        # The endpoints have no time filter; the database skips what it already has.
        base = f"{self.base_url}{API}/objects/{survey_name}"
        record = self.http.get(base)
        detections = self.http.get(f"{base}/detections")
        non_detections = self.http.get(f"{base}/non_detections")
        content = bundle(record.content, detections.content, non_detections.content)
        return Fetched(url=detections.url, status=detections.status, content=content)

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
