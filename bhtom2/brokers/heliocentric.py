"""Heliocentric Julian Dates (OGLE EWS, KMTNet) -> UTC instants.

Both microlensing surveys give each point as HJD: the UTC Julian Date at which
the light would have reached the Sun's centre. The instant it reached the
Earth is earlier or later by the light travel time between the Earth and the
Sun along the line of sight, up to about 8.3 minutes either way, depending on
the target's direction and the time of year. We remove it with astropy's
``Time.light_travel_time(kind="heliocentric")`` for the target's coordinates
(the geocentre as observer: the sites' own offsets are below 21 ms), computed
once at the HJD and once more at the corrected instant (the correction
changes by under a millisecond in between). Without coordinates the HJD is
taken as the UTC instant and the points may be off by those minutes.
"""
from __future__ import annotations

import astropy.units as u
import numpy as np
import pandas as pd
from astropy.coordinates import EarthLocation, SkyCoord
from astropy.time import Time

_GEOCENTRE = EarthLocation.from_geocentric(0.0, 0.0, 0.0, unit=u.m)


def full_jd(values: np.ndarray) -> np.ndarray:
    """Survey shorthand -> full JD: ``HJD-2450000`` (< 40000) and ``HJD-2400000`` (< 2400000) both occur."""
    values = np.asarray(values, dtype=float)
    return np.where(values >= 2_400_000, values, np.where(values >= 40_000, values + 2_400_000, values + 2_450_000))


def hjd_to_utc(hjd: np.ndarray, ra: float | None = None, dec: float | None = None) -> pd.Series:
    """Full HJD values (UTC-based) -> UTC timestamps, vectorised (one ``Time`` for all)."""
    hjd = np.asarray(hjd, dtype=float)
    if len(hjd) == 0:
        return pd.Series(pd.to_datetime([], utc=True), dtype="datetime64[ns, UTC]")
    heliocentric = Time(hjd, format="jd", scale="utc", location=_GEOCENTRE)
    instant = heliocentric
    if ra is not None and dec is not None:
        target = SkyCoord(float(ra) * u.deg, float(dec) * u.deg)
        first = heliocentric - heliocentric.light_travel_time(target, kind="heliocentric")
        instant = heliocentric - first.light_travel_time(target, kind="heliocentric")
    return pd.Series(pd.to_datetime(instant.utc.to_value("datetime64"), utc=True), dtype="datetime64[ns, UTC]")
