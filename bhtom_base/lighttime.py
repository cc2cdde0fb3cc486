"""Heliocentric and barycentric Julian Dates -> the geocentric UTC instant.

Several surveys date a point by when its light would have reached another
place: OGLE EWS, KMTNet and ASAS-SN give HJD (UTC), the UTC Julian Date at the
Sun's centre; Gaia DR2/DR3 epoch photometry gives BJD in TCB, the date at the
Solar System barycentre. The instant the light reached the Earth differs by
the light travel time between the Earth and that point along the line of sight
to the target: up to about 8.3 minutes either way, depending on the target's
direction and the time of year. We remove it for the target's coordinates, as
astropy's ``Time.light_travel_time(kind="heliocentric"|"barycentric")`` does
for the geocentre, with the same ephemeris (ERFA ``epv00``, astropy's
"builtin"): evaluated at whole TDB days and Hermite-interpolated with its
velocities (error below a microsecond, and far faster on a 50,000-row file than
astropy's transformation per point). The delay is a function of the unknown
geocentric instant ``t`` while only ``t + delay(t)`` is given, so it is solved
for: a first-order step with the delay's rate, then the delay evaluated once
more at that estimate (residual far below a microsecond). The ephemeris of a
whole day is computed once per process and kept (``_EPHEMERIS``, a
:class:`~bhtom_base.times.NodeCache`: 12 floats per day, some 300 bytes with
Python's overhead, 45 MB if every day of 1800-2200 were asked): surveys observe many targets on the same nights,
and ERFA's series costs about 30 us per day. The tests check the result
against astropy's own ``light_travel_time``. Without coordinates the survey's
date is taken as the instant and the points may be off by minutes.
"""
from __future__ import annotations

import astropy.constants as const
import astropy.units as u
import erfa
import numpy as np
import pandas as pd
from astropy.coordinates import SkyCoord
from astropy.time import Time, TimeDelta

from .times import NodeCache, tabulated_tdb, utc_datetime64, valid_jd

AU_LIGHT_SECONDS = float((const.au / const.c).to_value(u.s))
HELIOCENTRIC, BARYCENTRIC = 0, 1  # the two position-velocity vectors erfa.epv00 returns


def _epv00_at_days(days: np.ndarray) -> np.ndarray:
    """The Earth's [[p, v] heliocentric, [p, v] barycentric] (au, au/day) per whole TDB day: shape (n, 2, 2, 3)."""
    helio, bary = erfa.epv00(days.astype(float), np.zeros(len(days)))
    return np.stack([np.stack([helio["p"], helio["v"]], axis=1), np.stack([bary["p"], bary["v"]], axis=1)], axis=1)


_EPHEMERIS = NodeCache(_epv00_at_days)  # whole TDB day (JD) -> the Earth's vectors


def full_jd(values: np.ndarray) -> np.ndarray:
    """Survey shorthand -> full JD: ``HJD-2450000`` (< 40000) and ``HJD-2400000`` (< 2400000) both occur."""
    values = np.asarray(values, dtype=float)
    return np.where(values >= 2_400_000, values, np.where(values >= 40_000, values + 2_400_000, values + 2_450_000))


def direction_of(ra: float, dec: float) -> np.ndarray:
    """Unit vector (ICRS) towards ``ra``, ``dec`` in degrees."""
    return SkyCoord(float(ra) * u.deg, float(dec) * u.deg).icrs.cartesian.xyz.value


def earth_vectors(days: np.ndarray, centre: int) -> tuple[np.ndarray, np.ndarray]:
    """The Earth's position (au) and velocity (au/day) from the Sun (or barycentre) at whole TDB days."""
    vectors = _EPHEMERIS(days)[:, centre]
    return vectors[:, 0], vectors[:, 1]


def light_time_delay(jd_tdb: np.ndarray, direction: np.ndarray, centre: int = HELIOCENTRIC
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Light time (s) from the Earth to the Sun's (or barycentre's) plane along ``direction``, and its rate (s/s)."""
    day = np.floor(jd_tdb)
    nodes = np.unique(np.concatenate([day, day + 1]))
    position, velocity = earth_vectors(nodes, centre)
    value = position @ direction  # au
    slope = velocity @ direction  # au / day
    at = np.searchsorted(nodes, day)
    s = jd_tdb - day
    f0, f1, d0, d1 = value[at], value[at + 1], slope[at], slope[at + 1]
    s2, s3 = s * s, s * s * s
    interpolated = (2 * s3 - 3 * s2 + 1) * f0 + (s3 - 2 * s2 + s) * d0 + (3 * s2 - 2 * s3) * f1 + (s3 - s2) * d1
    derivative = (6 * s2 - 6 * s) * (f0 - f1) + (3 * s2 - 4 * s + 1) * d0 + (3 * s2 - 2 * s) * d1
    return interpolated * AU_LIGHT_SECONDS, derivative * AU_LIGHT_SECONDS / 86400.0


def heliocentric_delay(jd_tt: np.ndarray, direction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`light_time_delay` towards the Sun's centre."""
    return light_time_delay(jd_tt, direction, HELIOCENTRIC)


def remove_light_time(arrival: Time, ra: float, dec: float, centre: int) -> Time:
    """The geocentric instant ``t`` whose light reaches the Sun/barycentre at ``arrival``: t + delay(t) = arrival."""
    direction = direction_of(ra, dec)
    arrival_tdb = tabulated_tdb(arrival).tdb
    jd_tdb = arrival_tdb.jd
    delay, rate = light_time_delay(jd_tdb, direction, centre)
    estimate = delay - rate * delay  # delay(t) to first order in t - arrival
    delay, _ = light_time_delay(jd_tdb - estimate / 86400.0, direction, centre)
    # The ephemeris' light time is in TDB seconds (TCB runs 1.55e-8 faster: 8 us in 500 s).
    return tabulated_tdb(arrival_tdb - TimeDelta(delay, format="sec", scale="tdb"))


def _convert(values, origin, scale: str, ra: float | None, dec: float | None, centre: int) -> pd.Series:
    """``origin + values`` (two-part Julian Dates, no precision lost) -> UTC timestamps; NaT where invalid."""
    values = np.asarray(values, dtype=float)
    origin = np.broadcast_to(np.asarray(origin, dtype=float), values.shape)
    result = np.full(values.shape, np.datetime64("NaT"), dtype="datetime64[ns]")
    valid = valid_jd(origin + values)
    if valid.any():
        whole = np.floor(values[valid])
        instant = Time(origin[valid] + whole, values[valid] - whole, format="jd", scale=scale)
        if ra is not None and dec is not None:
            instant = remove_light_time(instant, ra, dec, centre)
        result[valid] = utc_datetime64(instant)
    return pd.Series(pd.to_datetime(result, utc=True), dtype="datetime64[ns, UTC]")


def hjd_to_utc(hjd, ra: float | None = None, dec: float | None = None, *, origin=0.0) -> pd.Series:
    """HJD values (UTC-based; ``origin`` + ``hjd``) -> geocentric UTC timestamps, vectorised; NaT where invalid."""
    return _convert(hjd, origin, "utc", ra, dec, HELIOCENTRIC)


def bjd_to_utc(bjd, ra: float | None = None, dec: float | None = None, *, origin=0.0, scale: str = "tcb"
               ) -> pd.Series:
    """BJD values in ``scale`` (``origin`` + ``bjd``; Gaia: TCB, origin 2455197.5) -> geocentric UTC timestamps.

    Vectorised; NaT where invalid. Without ``ra``/``dec`` only the time scale is converted.
    """
    return _convert(bjd, origin, scale, ra, dec, BARYCENTRIC)
