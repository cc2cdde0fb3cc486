"""Vectorised time-scale conversion to UTC that never raises on bad values.

One astropy ``Time`` call converts a whole column; values that are not finite
or lie outside 1800-2200 become NaT (the framework's cleaning counts and drops
them) instead of making astropy/ERFA raise for the whole file.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from astropy.time import Time

JD_MIN = 2_378_496.5  # 1800-01-01
JD_MAX = 2_524_593.5  # 2200-01-01
MJD_OFFSET = 2_400_000.5


def valid_jd(jd: np.ndarray) -> np.ndarray:
    """Where Julian dates are finite and between 1800 and 2200 (astropy/ERFA raise outside)."""
    return np.isfinite(jd) & (jd >= JD_MIN) & (jd <= JD_MAX)


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
        result[valid] = time.utc.to_value("datetime64").astype("datetime64[ns]")
    return pd.Series(pd.to_datetime(result, utc=True))


def isot_to_utc(dates, *, scale: str = "utc") -> pd.Series:
    """ISO dates/times in ``scale`` -> UTC timestamps; NaT where unreadable or out of range."""
    parsed = pd.to_datetime(pd.Series(dates), errors="coerce", format="ISO8601")
    if parsed.dt.tz is not None:
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    if scale == "utc":
        return pd.Series(pd.to_datetime(parsed, utc=True))
    jd = (parsed - pd.Timestamp("1858-11-17")) / pd.Timedelta(days=1) + MJD_OFFSET
    return jd_to_utc(jd.to_numpy(dtype=float), scale=scale)
