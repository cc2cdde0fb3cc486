"""The standard lightcurve data frame every broker's ``parse`` returns.

Columns (one row per photometric point):

``time``
    UTC, ``datetime64[ns, UTC]``.
``mag``
    magnitude of a detection; NaN for a non-detection.
``mag_err``
    magnitude error of a detection; NaN for a non-detection.
``band``
    the survey's own band name (``G``, ``g``, ``BP``...); the broker turns it
    into the TOM bandpass ``"band(Pretty Survey Name)"``.
``limit``
    limiting magnitude of a non-detection; NaN for a detection.
``observer``, ``facility``
    strings; empty means "use the broker's defaults".
``point_id``
    the survey's own identifier of the point (ZTF ``candid``, Gaia
    ``transit_id``...); empty when the survey has none.
``survey_time``, ``time_system``
    the point's time exactly as the survey gave it (a number or text) and what
    it is (``"MJD UTC"``, ``"BJD TCB - 2455197.5"``...), so every stored point
    can be traced back to the survey's own record. Kept in the row's ``value``.

Parsers put the counts of rows they left out, by reason, in
``frame.attrs["skipped"]`` (a ``dict[str, int]``), and the names of the target
in this or other surveys that the response revealed in
``frame.attrs["survey_names"]`` (``{source name: name}``): the broker stores
them on the target. A parser that sees the answer was cut short (an incomplete
last row) sets ``frame.attrs["truncated"] = True``: its rows are stored, but
no stored point is removed for being absent from it.

``parse(content, context)`` is pure: whatever it needs to know about the target
(coordinates, its name in the survey, a person's choice of what its brightness
is) comes in a :class:`ParseContext`.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import numpy as np
import pandas as pd

from .times import in_time_range

COLUMNS: tuple[str, ...] = ("time", "mag", "mag_err", "band", "limit", "observer", "facility")
TRACE_COLUMNS: tuple[str, ...] = ("point_id", "survey_time", "time_system")
SKIPPED = "skipped"
# Sanity bounds of the cleaning (see clean_lightcurve): not quality cuts, just what can be a real point.
MAG_RANGE: tuple[float, float] = (-5.0, 35.0)
MAX_MAG_ERROR = 5.0
SURVEY_NAMES = "survey_names"
TRUNCATED = "truncated"


class Brightness(StrEnum):
    """What a survey's difference photometry means for this target.

    ``TOTAL``: the object is in the survey's reference image (a star, a
    microlensing source): its brightness is reference + difference, and a
    difference-image limit says "no change", not "fainter than".
    ``DIFFERENCE``: a transient absent from the reference (a supernova): its
    brightness is the positive difference, and a difference-image limit is a
    true limit. ``AUTO``: the broker decides from the survey's own information.
    """

    AUTO = "auto"
    TOTAL = "total"
    DIFFERENCE = "difference"


@dataclass(frozen=True)
class ParseContext:
    """What a pure ``parse`` may need to know about the target and the request."""

    target_name: str = ""
    survey_name: str = ""
    ra: float | None = None
    dec: float | None = None
    brightness: Brightness = Brightness.AUTO
    since: datetime | None = None

    @property
    def has_position(self) -> bool:
        return self.ra is not None and self.dec is not None


def empty_lightcurve() -> pd.DataFrame:
    frame = make_lightcurve(time=pd.to_datetime([], utc=True), mag=[], mag_err=[], band=[])
    return frame


def make_lightcurve(
    *,
    time,
    mag,
    mag_err,
    band,
    limit=None,
    observer="",
    facility="",
    point_id="",
    survey_time=None,
    time_system="",
    skipped: dict[str, int] | None = None,
    survey_names: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Build a frame in the standard shape from column-like values (vectorised).

    ``survey_time`` defaults to NaN (unknown); give it with ``time_system``.
    """
    time_index = pd.to_datetime(time, utc=True)
    n = len(time_index)
    frame = pd.DataFrame(
        {
            "time": pd.Series(time_index, dtype="datetime64[ns, UTC]"),
            "mag": _float_column(mag, n),
            "mag_err": _float_column(mag_err, n),
            "band": _str_column(band, n),
            "limit": _float_column(limit, n),
            "observer": _str_column(observer, n),
            "facility": _str_column(facility, n),
            "point_id": _str_column(point_id, n),
            "survey_time": _object_column(survey_time, n),
            "time_system": _str_column(time_system, n),
        }
    )
    frame.attrs[SKIPPED] = dict(skipped or {})
    if survey_names:
        frame.attrs[SURVEY_NAMES] = dict(survey_names)
    return frame


def _float_column(values, n: int) -> np.ndarray:
    if values is None:
        return np.full(n, np.nan)
    if np.isscalar(values):
        return np.full(n, float(values))
    return pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _object_column(values, n: int) -> np.ndarray:
    """Numbers or text as given (a survey's own time value); NaN where unknown."""
    if values is None:
        return np.full(n, np.nan)
    if np.isscalar(values):
        return np.full(n, values, dtype=object)
    return pd.Series(values, dtype=object).to_numpy(dtype=object)


def _str_column(values, n: int) -> np.ndarray:
    if values is None or isinstance(values, str):
        return np.full(n, values or "", dtype=object)
    series = pd.Series(values, dtype=object).fillna("").astype(str)
    return series.to_numpy(dtype=object)


def concat_lightcurves(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate frames, adding up their skipped-row counts."""
    frames = [frame for frame in frames if frame is not None]
    if not frames:
        return empty_lightcurve()
    skipped: Counter[str] = Counter()
    names: dict[str, str] = {}
    truncated = False
    for frame in frames:
        skipped.update(frame.attrs.get(SKIPPED, {}))
        names.update(frame.attrs.get(SURVEY_NAMES, {}))
        truncated |= bool(frame.attrs.get(TRUNCATED))
    non_empty = [with_trace_columns(frame) for frame in frames if len(frame)]
    result = pd.concat(non_empty, ignore_index=True) if non_empty else empty_lightcurve()
    result.attrs[SKIPPED] = dict(skipped)
    if names:
        result.attrs[SURVEY_NAMES] = names
    if truncated:
        result.attrs[TRUNCATED] = True
    return result


def with_trace_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with :data:`TRACE_COLUMNS` (empty) added where a parser left them out."""
    missing = [column for column in TRACE_COLUMNS if column not in frame.columns]
    if not missing:
        return frame
    frame = frame.copy()
    for column in missing:
        frame[column] = np.nan if column == "survey_time" else ""
    return frame


def _in_mag_range(values: np.ndarray) -> np.ndarray:
    return (values >= MAG_RANGE[0]) & (values <= MAG_RANGE[1])


def count_skipped(skipped: dict[str, int], reason: str, mask) -> None:
    """Add the rows where ``mask`` is true to ``skipped[reason]`` (parsers' left-out rows, by reason)."""
    count = int(np.count_nonzero(mask))
    if count:
        skipped[reason] = skipped.get(reason, 0) + count


def add_skipped(frame: pd.DataFrame, reason: str, count: int) -> None:
    if count:
        skipped = dict(frame.attrs.get(SKIPPED, {}))
        skipped[reason] = skipped.get(reason, 0) + int(count)
        frame.attrs[SKIPPED] = skipped


def clean_lightcurve(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop the rows no TOM should store; count them by reason (the report's ``skipped_rows``).

    A row is kept when it has a time (within 1800-2200, :mod:`bhtom_base.times`)
    and either a detection — a magnitude within :data:`MAG_RANGE` with an error
    in ``(0, MAX_MAG_ERROR]`` — or a non-detection with a limiting magnitude
    within :data:`MAG_RANGE`. The ranges are sanity bounds, not quality cuts: a
    magnitude brighter than -5 (brighter than any star; Venus at its brightest
    is -4.9) or fainter than 35 (beyond the deepest images ever taken), or an
    error above 5 mag (a flux S/N of 0.2: no measurement) is a survey's
    placeholder or a corrupted value (CPCS sends limits of ±1e300, 1e30 and 99
    and errors of 1e300), never a point. An error of 0 claims infinite
    precision and is as invalid as a negative one. Exact duplicates (same time,
    band and value) are dropped too, so the report counts only distinct points.
    """
    missing = [column for column in COLUMNS if column not in frame.columns]
    if missing:
        raise ValueError(f"lightcurve frame lacks columns {missing}")
    attrs = dict(frame.attrs)
    frame = with_trace_columns(frame)
    skipped = Counter(attrs.get(SKIPPED, {}))
    mag = frame["mag"].to_numpy(dtype=float)
    err = frame["mag_err"].to_numpy(dtype=float)
    limit = frame["limit"].to_numpy(dtype=float)
    no_time = ~in_time_range(frame["time"])
    detection = np.isfinite(mag)
    bad_error = detection & ~(np.isfinite(err) & (err > 0))
    large_error = detection & ~bad_error & (err > MAX_MAG_ERROR)
    bad_mag = detection & ~_in_mag_range(mag)
    is_limit = ~detection & np.isfinite(limit)
    bad_limit = is_limit & ~_in_mag_range(limit)
    no_value = ~detection & ~is_limit
    keep = ~no_time & ~bad_error & ~large_error & ~bad_mag & ~bad_limit & ~no_value
    counted = no_time.copy()
    for reason, mask in (
        ("no time", no_time),
        ("invalid error", bad_error),
        ("error out of range", large_error),
        ("magnitude out of range", bad_mag),
        ("limit out of range", bad_limit),
        ("no magnitude", no_value),
    ):
        mask = mask & ~counted if reason != "no time" else mask
        counted |= mask
        if mask.any():
            skipped[reason] += int(mask.sum())
    cleaned = frame.loc[keep].copy()
    # A detection never carries a limit, so the database's two uniqueness rules
    # (one on brightness, one on limit) apply to each row exactly once.
    cleaned.loc[np.isfinite(cleaned["mag"].to_numpy(dtype=float)), "limit"] = np.nan
    cleaned.loc[~np.isfinite(cleaned["mag"].to_numpy(dtype=float)), "mag_err"] = np.nan
    before = len(cleaned)
    cleaned = cleaned.drop_duplicates(subset=["time", "band", "mag", "limit"], keep="first")
    if len(cleaned) < before:
        skipped["duplicate"] += before - len(cleaned)
    cleaned = cleaned.sort_values("time", kind="stable").reset_index(drop=True)
    cleaned.attrs = {**attrs, SKIPPED: {reason: count for reason, count in skipped.items() if count}}
    return cleaned
