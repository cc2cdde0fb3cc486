"""bhtom_base.times: whole-column conversions to UTC that never raise on bad values."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
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
    kmt = parse_pysis(b"# HJD \\Delta_flux flux_err mag mag_err fwhm sky secz\n"
                      b"1e300 0 0 15.0 0.01 2.0 100 1.0\n7000.5 0 0 15.0 0.01 2.0 100 1.0\n", site="C", band="I")
    for frame in (ogle, kmt):
        assert frame["time"].isna().sum() == 1 and frame["time"].notna().sum() == 1


def test_a_leap_second_instant_is_a_counted_no_time_row_not_an_exception():
    """ZTF mjd 57753.99999537 is 2016-12-31 23:59:60.6 UTC: a datetime64 cannot hold it."""
    from bhtom_base.lightcurve import clean_lightcurve

    assert mjd_to_utc([57753.99999537, 57753.4]).isna().tolist() == [True, False]
    content = b'[{"mjd": 57753.99999537, "fid": 1, "magpsf": 18.0, "sigmapsf": 0.1, "isdiffpos": "t"},' \
              b' {"mjd": 57754.2, "fid": 2, "magpsf": 17.0, "sigmapsf": 0.1, "isdiffpos": "t"}]'
    frame = clean_lightcurve(parse_alerce(content))
    assert len(frame) == 1 and frame.attrs["skipped"] == {"no time": 1}
    # stored at mid-exposure: ZTF's mjd is the start of its 30 s exposure
    assert abs((frame["time"].iloc[0] - pd.Timestamp("2017-01-01 04:48:15", tz="UTC")).total_seconds()) < 1e-6


def test_one_shared_range_1800_to_2200_for_every_conversion():
    inside = ["1800-01-01T00:00:00", "2199-12-31T23:59:59"]
    outside = ["1799-12-31T23:59:59", "2200-01-02T00:00:00", "2250-06-01", "9999-12-31", "1600-01-01", "1200-03-04"]
    assert isot_to_utc(inside).notna().all() and isot_to_utc(outside).isna().all()
    assert isot_to_utc(outside, scale="tcb").isna().all()
    assert jd_to_utc([2378496.5, 2524593.5]).notna().all() and jd_to_utc([2378496.4, 2524593.6]).isna().all()


def _tns_with_dates(dates: list[str]) -> bytes:
    import json

    from tests.conftest import fixture_bytes

    answer = json.loads(fixture_bytes("tns/tns_get_object_1999gy_photometry.json"))
    (entry,) = answer["data"]["reply"]["photometry"]
    answer["data"]["reply"]["photometry"] = [{**entry, "obsdate": date, "jd": None} for date in dates] + [entry]
    return json.dumps(answer).encode()


def test_tns_and_asassn_count_extreme_dates_instead_of_raising():
    from bhtom2.brokers.asassn import parse as parse_asassn
    from bhtom2.brokers.tns import parse as parse_tns
    from bhtom_base.lightcurve import clean_lightcurve
    from tests.conftest import fixture_bytes

    extreme = ["9999-01-01 00:00:00", "1600-01-01 00:00:00", "1200-01-01 00:00:00", "2250-01-01 00:00:00"]
    tns = clean_lightcurve(parse_tns(_tns_with_dates(extreme)))
    assert len(tns) == 1 and tns.attrs["skipped"] == {"no time": 4}

    text = fixture_bytes("asassn/asassn_skypatrol_v1_ASASSN-21qj_light_curve_c4765b75.csv").decode()
    lines = text.splitlines()
    bad = [lines[1].replace("2457420.65312,2016-02-02", f"{jd},{year}-02-02")
           for jd, year in (("5373484.5", "9999"), ("2305447.5", "1600"), ("2159358.5", "1200"),
                            ("2542858.5", "2250"))]
    asassn = clean_lightcurve(parse_asassn("\n".join([lines[0], *bad, *lines[1:]]).encode()))
    good = clean_lightcurve(parse_asassn(text.encode()))
    assert len(asassn) == len(good) and asassn.attrs["skipped"].get("no time") == 4


@pytest.mark.parametrize("scale", ["utc", "tai", "tt", "tdb", "tcb"])
def test_utc_datetime64_equals_astropys_own_conversion_to_the_nanosecond(scale):
    """The integer assembly from ERFA's d2dtf gives what astropy's to_value("datetime64") gives."""
    from astropy.time import Time

    from bhtom_base.times import JD_MAX, JD_MIN, utc_datetime64

    rng = np.random.default_rng(20261208)
    whole = np.floor(rng.uniform(JD_MIN, JD_MAX - 1, 20_000))
    time = Time(whole, rng.uniform(0, 1, whole.size), format="jd", scale=scale)
    expected = time.utc.to_value("datetime64").astype("datetime64[ns]")
    difference = np.abs((utc_datetime64(time) - expected).astype(np.int64))
    # TDB and TCB take TDB - TT from the tabulated series (tdb_minus_tt): within 100 ns of astropy's own
    assert difference.max() <= (0 if scale in ("utc", "tai", "tt") else 100)
    assert utc_datetime64(time[0]).shape == ()


def test_tabulated_tdb_minus_tt_matches_erfa_within_10_ns():
    import erfa

    from bhtom_base.times import JD_MAX, JD_MIN, tdb_minus_tt

    jd = np.random.default_rng(7).uniform(JD_MIN, JD_MAX, 50_000)
    exact = erfa.dtdb(np.floor(jd), jd - np.floor(jd), 0.0, 0.0, 0.0, 0.0)
    assert np.abs(tdb_minus_tt(jd) - exact).max() < 1e-8


def test_utc_datetime64_gives_nat_inside_a_leap_second_only():
    from astropy.time import Time

    from bhtom_base.times import utc_datetime64

    times = Time(["2016-12-31T23:59:59.999999", "2016-12-31T23:59:60.5", "2017-01-01T00:00:00"], scale="utc")
    result = utc_datetime64(times)
    assert np.isnat(result).tolist() == [False, True, False]
    assert str(result[0]) == "2016-12-31T23:59:59.999999000" and str(result[2]) == "2017-01-01T00:00:00.000000000"
