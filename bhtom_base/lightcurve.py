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

Parsers put the counts of rows they left out, by reason, in
``frame.attrs["skipped"]`` (a ``dict[str, int]``).
"""
from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

COLUMNS: tuple[str, ...] = ("time", "mag", "mag_err", "band", "limit", "observer", "facility")
SKIPPED = "skipped"


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
    skipped: dict[str, int] | None = None,
) -> pd.DataFrame:
    """Build a frame in the standard shape from column-like values (vectorised)."""
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
        }
    )
    frame.attrs[SKIPPED] = dict(skipped or {})
    return frame


def _float_column(values, n: int) -> np.ndarray:
    if values is None:
        return np.full(n, np.nan)
    if np.isscalar(values):
        return np.full(n, float(values))
    return pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float, na_value=np.nan)


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
    for frame in frames:
        skipped.update(frame.attrs.get(SKIPPED, {}))
    non_empty = [frame for frame in frames if len(frame)]
    result = pd.concat(non_empty, ignore_index=True) if non_empty else empty_lightcurve()
    result.attrs[SKIPPED] = dict(skipped)
    return result


def add_skipped(frame: pd.DataFrame, reason: str, count: int) -> None:
    if count:
        skipped = dict(frame.attrs.get(SKIPPED, {}))
        skipped[reason] = skipped.get(reason, 0) + int(count)
        frame.attrs[SKIPPED] = skipped


def clean_lightcurve(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop the rows no TOM should store; count them by reason.

    A row is kept when it has a time and either a finite magnitude with a
    finite, non-negative error (a detection) or a finite limiting magnitude (a
    non-detection). Exact duplicates (same time, band and value) are dropped
    too, so the report counts only distinct points.
    """
    missing = [column for column in COLUMNS if column not in frame.columns]
    if missing:
        raise ValueError(f"lightcurve frame lacks columns {missing}")
    skipped = Counter(frame.attrs.get(SKIPPED, {}))
    mag = frame["mag"].to_numpy(dtype=float)
    err = frame["mag_err"].to_numpy(dtype=float)
    limit = frame["limit"].to_numpy(dtype=float)
    no_time = frame["time"].isna().to_numpy()
    detection = np.isfinite(mag)
    bad_error = detection & ~(np.isfinite(err) & (err >= 0))
    bad_mag = detection & ((mag < -30) | (mag > 40))
    is_limit = ~detection & np.isfinite(limit)
    no_value = ~detection & ~is_limit
    keep = ~no_time & ~bad_error & ~bad_mag & ~no_value
    for reason, mask in (
        ("no time", no_time),
        ("invalid error", bad_error & ~no_time),
        ("magnitude out of range", bad_mag & ~no_time & ~bad_error),
        ("no magnitude", no_value & ~no_time),
    ):
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
    cleaned.attrs[SKIPPED] = {reason: count for reason, count in skipped.items() if count}
    return cleaned
