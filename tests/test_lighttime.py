"""bhtom_base.lighttime: HJD and BJD back to the geocentric UTC instant, checked against astropy."""
from __future__ import annotations

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import EarthLocation, SkyCoord
from astropy.time import Time

from bhtom_base.lighttime import bjd_to_utc, hjd_to_utc

GEOCENTRE = EarthLocation.from_geocentric(0, 0, 0, unit=u.m)
# Instants spread over years and seasons, at 17 directions over the whole sky.
INSTANTS = Time(np.linspace(56800.123456, 60700.987654, 41), format="mjd", scale="utc")
DIRECTIONS = [(ra, dec) for ra in (0.0, 95.0, 180.0, 266.4, 330.0) for dec in (-89.0, -29.0, 0.0, 45.0)] + [(10, 89)]


def _microseconds_apart(converted, expected: Time) -> np.ndarray:
    got = converted.dt.tz_localize(None).to_numpy()
    return np.abs((got - expected.utc.to_value("datetime64").astype("datetime64[ns]")) / np.timedelta64(1, "us"))


@pytest.mark.parametrize(("ra", "dec"), DIRECTIONS)
def test_bjd_tcb_back_to_geocentric_utc_agrees_with_astropy_within_a_microsecond(ra, dec):
    target = SkyCoord(ra * u.deg, dec * u.deg)
    delay = INSTANTS.light_travel_time(target, kind="barycentric", location=GEOCENTRE)
    bjd_tcb = (INSTANTS.tcb + delay).tcb
    assert np.abs(delay.to_value(u.s)).max() > 60  # a real correction, not a no-op
    converted = bjd_to_utc(bjd_tcb.jd2, ra, dec, origin=bjd_tcb.jd1)
    assert _microseconds_apart(converted, INSTANTS).max() < 1
    gaia_style = bjd_tcb.jd1 - 2455197.5 + bjd_tcb.jd2  # Gaia's "BJD(TCB) - 2455197.5" keeps ~0.1 us
    assert _microseconds_apart(bjd_to_utc(gaia_style, ra, dec, origin=2455197.5), INSTANTS).max() < 1


@pytest.mark.parametrize(("ra", "dec"), DIRECTIONS)
def test_hjd_back_to_geocentric_utc_agrees_with_astropy_within_a_microsecond(ra, dec):
    target = SkyCoord(ra * u.deg, dec * u.deg)
    hjd = (INSTANTS + INSTANTS.light_travel_time(target, kind="heliocentric", location=GEOCENTRE)).utc
    converted = hjd_to_utc(hjd.jd2, ra, dec, origin=hjd.jd1)
    assert _microseconds_apart(converted, INSTANTS).max() < 1


def test_invalid_dates_and_a_missing_position():
    assert bjd_to_utc([np.nan, 1e300, 0.0], 10.0, 10.0).isna().all()
    # without a position only the time scale changes: TCB -> UTC, the barycentric date kept
    plain = bjd_to_utc([2457000.5])
    assert _microseconds_apart(plain, Time(2457000.5, format="jd", scale="tcb")).max() < 1
