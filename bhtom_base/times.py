"""Vectorised time-scale conversion to UTC that never raises on bad values.

One astropy ``Time`` call converts a whole column. Every parser's times pass
through one range check, :func:`in_time_range` (1800-2200: nothing a survey
observed lies outside, and astropy/ERFA and pandas' nanosecond timestamps
fail beyond it); values that are not finite, lie outside that range, or fall
inside a leap second (``23:59:60.x`` has no ``datetime64``) become NaT, which
the framework's cleaning counts as "no time" instead of making the whole file
fail.
"""
from __future__ import annotations

import threading

import erfa
import numpy as np
import pandas as pd
from astropy.time import Time

YEAR_MIN, YEAR_MAX = 1800, 2200
JD_MIN = 2_378_496.5  # 1800-01-01
JD_MAX = 2_524_593.5  # 2200-01-01
MJD_OFFSET = 2_400_000.5
_EARLIEST = np.datetime64(f"{YEAR_MIN}-01-01", "us")
_LATEST = np.datetime64(f"{YEAR_MAX}-01-01", "us")


def valid_jd(jd: np.ndarray) -> np.ndarray:
    """Where Julian dates are finite and within the shared range (1800-2200)."""
    jd = np.asarray(jd, dtype=float)
    return np.isfinite(jd) & (jd >= JD_MIN) & (jd <= JD_MAX)


def in_time_range(timestamps: pd.Series) -> np.ndarray:
    """Where UTC timestamps are present and within the shared range (1800-2200)."""
    values = pd.Series(timestamps)
    if values.dt.tz is not None:
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    values = values.astype("datetime64[us]").to_numpy()
    return ~np.isnat(values) & (values >= _EARLIEST) & (values <= _LATEST)


class NodeCache:
    """An expensive function's values at integer nodes, each computed once per process and kept.

    ``compute`` takes an int64 array of the nodes not yet known and returns one
    value per node (a float, or an array). Threads may ask at once.
    """

    def __init__(self, compute) -> None:
        self._compute = compute
        self._values: dict[int, object] = {}
        self._lock = threading.Lock()

    def __call__(self, nodes: np.ndarray) -> np.ndarray:
        """The values at ``nodes`` (int64, any order, repeats allowed), stacked along a first axis."""
        unique, inverse = np.unique(np.asarray(nodes, dtype=np.int64), return_inverse=True)
        keys = unique.tolist()
        missing = [key for key in keys if key not in self._values]
        if missing:
            computed = self._compute(np.asarray(missing, dtype=np.int64))
            with self._lock:
                self._values.update(zip(missing, computed, strict=True))
        return np.asarray([self._values[key] for key in keys])[inverse.ravel()]


TDB_NODES_PER_DAY = 4


def _dtdb_at_nodes(nodes: np.ndarray) -> np.ndarray:
    whole, quarter = np.divmod(nodes, TDB_NODES_PER_DAY)
    # at the geocentre (u = v = 0) the observer's UT and longitude drop out of the series
    return erfa.dtdb(whole.astype(float), quarter / TDB_NODES_PER_DAY, 0.0, 0.0, 0.0, 0.0)


_TDB_MINUS_TT = NodeCache(_dtdb_at_nodes)  # quarter-day node (JD x 4) -> TDB - TT (s) at the geocentre


def tdb_minus_tt(jd: np.ndarray) -> np.ndarray:
    """TDB - TT (s) at the geocentre, as astropy computes it without an observatory (ERFA ``dtdb``).

    ``dtdb`` sums some 800 periodic terms, about 10 us per date, and astropy
    evaluates it twice per point for a TCB or TDB date (there and back): the
    values at quarter-day nodes are computed once per process and interpolated
    linearly (the largest term, 1.66 ms over a year, leaves an error below 10 ns).
    ``jd`` may be in TT, TDB, TCB or UTC: the function moves by less than
    a nanosecond over the minute between them. A node kept costs about 100 bytes
    (60 MB if every quarter-day of 1800-2200 were asked).
    """
    shape = np.shape(jd)
    position = np.atleast_1d(np.asarray(jd, dtype=float)).ravel() * TDB_NODES_PER_DAY
    below = np.floor(position).astype(np.int64)
    start, end = _TDB_MINUS_TT(below), _TDB_MINUS_TT(below + 1)
    return (start + (end - start) * (position - below)).reshape(shape)


def tabulated_tdb(time: Time) -> Time:
    """``time`` with its TDB - TT offset from :func:`tdb_minus_tt` (geocentric times only); returned for chaining."""
    if time.location is None:
        time.delta_tdb_tt = tdb_minus_tt(time.jd1 + time.jd2)
    return time


def utc_datetime64(time: Time) -> np.ndarray:
    """An astropy ``Time`` -> UTC ``datetime64[ns]``; NaT for an instant inside a leap second.

    The calendar date and time of day come from ERFA's ``d2dtf`` (what astropy's
    own ISO and datetime64 formats use, leap seconds included), rounded to the
    nanosecond, and are assembled as integers: astropy's ``to_value("datetime64")``
    formats an ISO string per element first, most of a parser's time on a large file.
    """
    if time.scale in ("tdb", "tcb"):
        tabulated_tdb(time)
    utc = time.utc
    jd1, jd2 = np.atleast_1d(utc.jd1).ravel(), np.atleast_1d(utc.jd2).ravel()
    # the ufunc itself: erfa.d2dtf would warn "dubious year" (no leap-second table) before 1960
    year, month, day, hmsf, _ = erfa.ufunc.d2dtf(b"UTC", 9, jd1, jd2)
    date = ((year - 1970).astype("datetime64[Y]") + (month - 1).astype("timedelta64[M]")).astype("datetime64[D]")
    date = date + (day - 1).astype("timedelta64[D]")
    seconds = hmsf["h"].astype(np.int64) * 3600 + hmsf["m"].astype(np.int64) * 60 + hmsf["s"].astype(np.int64)
    result = (date.astype("datetime64[ns]") + (seconds * 1_000_000_000 + hmsf["f"]).astype("timedelta64[ns]"))
    result[hmsf["s"] >= 60] = np.datetime64("NaT")  # 23:59:60.x cannot be a datetime64
    return result.reshape(np.shape(utc.jd1))


def jd_to_utc(jd, *, scale: str = "utc", **time_kwargs) -> pd.Series:
    """Julian dates in ``scale`` (utc, tt, tdb, tcb...) -> UTC timestamps; NaT where invalid."""
    return _to_utc(jd, "jd", 0.0, scale, time_kwargs)


def mjd_to_utc(mjd, *, scale: str = "utc", **time_kwargs) -> pd.Series:
    """Modified Julian dates in ``scale`` -> UTC timestamps; NaT where invalid."""
    return _to_utc(mjd, "mjd", MJD_OFFSET, scale, time_kwargs)


def _to_utc(values, time_format: str, jd_offset: float, scale: str, time_kwargs: dict) -> pd.Series:
    """One astropy call for the valid values, given as whole + fraction in their own format (no precision lost)."""
    numbers = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
    result = np.full(numbers.shape, np.datetime64("NaT"), dtype="datetime64[ns]")
    valid = valid_jd(numbers + jd_offset)
    if valid.any():
        whole = np.floor(numbers[valid])
        kwargs = {key: (value[valid] if isinstance(value, np.ndarray) else value)
                  for key, value in time_kwargs.items()}
        time = Time(whole, numbers[valid] - whole, format=time_format, scale=scale, **kwargs)
        result[valid] = utc_datetime64(time)
    return pd.Series(pd.to_datetime(result, utc=True), dtype="datetime64[ns, UTC]")


def isot_to_utc(dates, *, scale: str = "utc") -> pd.Series:
    """ISO dates/times in ``scale`` -> UTC timestamps; NaT where unreadable or outside the shared range."""
    parsed = pd.to_datetime(pd.Series(dates, dtype=object), errors="coerce", format="ISO8601")
    if parsed.dt.tz is not None:
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    parsed = parsed.astype("datetime64[us]")
    parsed = parsed.where(in_time_range(parsed))
    if scale == "utc":
        return pd.Series(parsed.to_numpy().astype("datetime64[ns]"), dtype="datetime64[ns]").dt.tz_localize("UTC")
    jd = (parsed - pd.Timestamp("1858-11-17")) / pd.Timedelta(days=1) + MJD_OFFSET
    return jd_to_utc(jd.to_numpy(dtype=float), scale=scale)


def clip_to_range(timestamps: pd.Series) -> pd.Series:
    """UTC timestamps with those outside the shared range (1800-2200) set to NaT."""
    values = pd.Series(timestamps)
    return values.where(in_time_range(values))
