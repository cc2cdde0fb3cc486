"""bhtom_base.times: whole-column conversions to UTC that never raise on bad values."""
from __future__ import annotations

import numpy as np
from astropy.time import Time

from bhtom2.brokers.ztf_alerce import parse as parse_alerce
from bhtom_base.lightcurve import ParseContext
from bhtom_base.times import isot_to_utc, jd_to_utc, mjd_to_utc


def test_mjd_keeps_microsecond_precision_and_matches_astropy():
    mjd = np.array([60000.123456789, 58000.5, 45000.000001])
    converted = mjd_to_utc(mjd)
    for value, timestamp in zip(mjd, converted, strict=True):
        expected = np.datetime64(Time(value, format="mjd", scale="utc").to_value("datetime64"), "ns")
        assert abs((timestamp.to_datetime64() - expected) / np.timedelta64(1, "ns")) < 1000


def test_tcb_jd_is_shifted_to_utc():
    (utc,) = jd_to_utc([2456871.25317], scale="tcb")
    expected = Time(2456871.25317, format="jd", scale="tcb").utc.to_value("datetime64")
    assert abs((utc.to_datetime64() - np.datetime64(expected, "ns")) / np.timedelta64(1, "us")) < 1


def test_invalid_values_become_nat_instead_of_raising():
    assert mjd_to_utc([1e300, -1e12, np.nan, np.inf, "x"]).isna().all()
    assert jd_to_utc([0.0, 1e15]).isna().all()
    assert isot_to_utc(["2014-13-01 00:00:00", None], scale="tcb").isna().all()


def test_a_parser_given_an_absurd_time_counts_the_row_instead_of_failing():
    content = b'[{"mjd": 1e300, "fid": 1, "magpsf": 18.0, "sigmapsf": 0.1, "isdiffpos": "t"},' \
              b' {"mjd": 59000.5, "fid": 2, "magpsf": 17.0, "sigmapsf": 0.1, "isdiffpos": "t"}]'
    frame = parse_alerce(content)
    assert frame["time"].isna().sum() == 1 and frame["time"].notna().sum() == 1


def test_hjd_parsers_count_an_absurd_time_instead_of_failing():
    from bhtom2.brokers.kmtnet import parse_pysis
    from bhtom2.brokers.ogle_ews import parse as parse_ogle

    ogle = parse_ogle(b"1e300 15.0 0.01 1.0 100\n2456800.5 15.0 0.01 1.0 100\n", ParseContext(ra=268.2, dec=-29.6))
    kmt = parse_pysis(b"1e300 0 0 15.0 0.01 2.0 100 1.0\n7000.5 0 0 15.0 0.01 2.0 100 1.0\n", site="C", band="I")
    for frame in (ogle, kmt):
        assert frame["time"].isna().sum() == 1 and frame["time"].notna().sum() == 1
