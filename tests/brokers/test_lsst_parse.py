"""Rubin/LSST parsers on the recorded Lasair object and the Fink/ALeRCE answers built from their schema.

Expected values are computed here from the files' own numbers: m = 31.4 - 2.5 log10(f / nJy),
sigma_m = 2.5 / ln 10 * sigma_f / f, and TAI -> UTC by astropy.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from astropy.time import Time
from django.core.exceptions import ValidationError

from bhtom2.brokers.lsst import alerce, fink, lasair
from bhtom2.brokers.lsst import parse as parse_any
from bhtom2.brokers.lsst.brightness import from_fink, from_sherlock
from bhtom2.data_sources import DataSource
from bhtom_base.errors import ParseError
from bhtom_base.lightcurve import Brightness, ParseContext, clean_lightcurve
from tests.conftest import fixture_bytes

LASAIR = "lsst/lasair_169342391615488714.json"
SN, STAR = "313000000000000001", "313000000000000002"


def mag(flux: float) -> float:
    return 31.4 - 2.5 * math.log10(flux)


def mag_err(flux: float, err: float) -> float:
    return 2.5 / math.log(10) * err / flux


def utc(mjd_tai: float) -> pd.Timestamp:
    return pd.Timestamp(Time(mjd_tai, format="mjd", scale="tai").utc.datetime64, tz="UTC")


def context(brightness: Brightness = Brightness.AUTO) -> ParseContext:
    return ParseContext(brightness=brightness)


def fink_answer(object_id: str) -> bytes:
    records = (json.loads(fixture_bytes(f"lsst_fink/CONSTRUCTED_fink_sources_{object_id}.json"))
               + json.loads(fixture_bytes(f"lsst_fink/CONSTRUCTED_fink_fp_{object_id}.json")))
    return json.dumps(records).encode()


# -- Lasair: the recorded supernova ------------------------------------------------


def test_lasair_supernova_is_its_positive_difference_flux_and_the_negative_one_is_left_out():
    frame = lasair.parse(fixture_bytes(LASAIR), context())
    assert len(frame) == 1
    point = frame.iloc[0]
    assert point["band"] == "g"
    assert point["mag"] == pytest.approx(mag(848.316162109375), abs=1e-9)  # 24.079, not the host's 21.0
    assert point["mag"] == pytest.approx(24.0786, abs=1e-4)
    assert point["mag_err"] == pytest.approx(mag_err(848.316162109375, 153.88131713867188), abs=1e-9)
    assert point["point_id"] == "169342391615488714"
    assert point["survey_time"] == 60934.119182507566
    assert point["time_system"].startswith("MJD TAI")
    assert frame.attrs["skipped"] == {"negative difference (transient absent from the template)": 1}
    assert frame.attrs["survey_names"] == {"LSST": "169342391615488714"}


def test_lasair_times_are_tai_converted_to_utc_by_astropy():
    point = lasair.parse(fixture_bytes(LASAIR), context()).iloc[0]
    assert abs(point["time"] - utc(60934.119182507566)) < pd.Timedelta(microseconds=1)
    # UTC = TAI - 37 s since 2017: Lasair's own "discUtc" (02:51:37) is the TAI clock reading.
    tai = pd.Timestamp(Time(60934.119182507566, format="mjd", scale="tai").datetime64, tz="UTC")
    assert (tai - point["time"]).total_seconds() == pytest.approx(37.0, abs=1e-6)
    assert point["time"].strftime("%Y-%m-%d %H:%M:%S") == "2025-09-16 02:51:00"


def test_sherlock_class_sn_decides_difference_and_a_person_can_choose_total():
    assert from_sherlock("SN") is Brightness.DIFFERENCE
    assert from_sherlock("VS") is Brightness.TOTAL
    assert from_sherlock("UNCLEAR") is None
    frame = lasair.parse(fixture_bytes(LASAIR), context(Brightness.TOTAL)).sort_values("time")
    assert list(frame["mag"]) == pytest.approx([mag(14900.4599609375), mag(10540.5888671875)], abs=1e-9)
    assert list(frame["mag_err"]) == pytest.approx(
        [mag_err(14900.4599609375, 149.17457580566406), mag_err(10540.5888671875, 116.3625259399414)], abs=1e-9)
    assert list(frame["point_id"]) == ["169342391615488714", "169355602814829361"]


def test_lasair_current_key_names_withdrawn_and_flagged_sources():
    data = json.loads(fixture_bytes(LASAIR))
    sources = data.pop("diaSources")
    data.pop("diaForcedSources")
    sources[0]["isNegative"], sources[0]["psfFlux"] = False, 1200.0  # the negative one, made positive
    sources[0]["timeWithdrawnMjdTai"] = 60940.5
    data["diaSourcesList"], data["diaForcedSourcesList"] = sources, []
    frame = lasair.parse(json.dumps(data).encode(), context())
    assert len(frame) == 1 and frame.attrs["skipped"] == {"withdrawn by Rubin (timeWithdrawnMjdTai)": 1}
    sources[0]["timeWithdrawnMjdTai"], sources[0]["psfFlux_flag"] = float("nan"), True
    frame = lasair.parse(json.dumps(data).encode(), context())
    assert len(frame) == 1 and frame.attrs["skipped"] == {"flagged flux (psfFlux_flag)": 1}


def test_lasair_forced_photometry_becomes_5_sigma_limits_or_detections():
    data = json.loads(fixture_bytes(LASAIR))
    data["diaForcedSources"] = [
        {"diaForcedSourceId": 18446744073709551615, "midpointMjdTai": 60930.1, "band": "r",
         "psfFlux": 150.0, "psfFluxErr": 100.0, "scienceFlux": 9000.0, "scienceFluxErr": 110.0},
        {"diaForcedSourceId": 169342391615400001, "midpointMjdTai": 60931.1, "band": "r",
         "psfFlux": 900.0, "psfFluxErr": 100.0, "scienceFlux": 9800.0, "scienceFluxErr": 110.0},
    ]
    frame = lasair.parse(json.dumps(data).encode(), context()).sort_values("time").reset_index(drop=True)
    assert len(frame) == 3
    assert math.isnan(frame.loc[0, "mag"]) and frame.loc[0, "limit"] == pytest.approx(mag(500.0), abs=1e-9)
    assert frame.loc[0, "point_id"] == "18446744073709551615"  # 2**64 - 1, every digit kept
    assert frame.loc[1, "mag"] == pytest.approx(mag(900.0), abs=1e-9)
    total = lasair.parse(json.dumps(data).encode(), context(Brightness.TOTAL)).sort_values("time")
    assert list(total["mag"])[:2] == pytest.approx([mag(9000.0), mag(9800.0)], abs=1e-9)


def test_garbage_rows_are_counted_and_the_good_ones_kept():
    data = json.loads(fixture_bytes(LASAIR))
    data["diaSources"] += [
        {"diaSourceId": [1], "midpointMjdTai": {"a": 1}, "band": "g", "psfFlux": [5], "psfFluxErr": True},
        {"diaSourceId": 7, "midpointMjdTai": "60935.5", "band": ["g"], "psfFlux": "900", "psfFluxErr": "90"},
        {"diaSourceId": 8, "midpointMjdTai": 60935.6, "band": "g", "psfFlux": 900.0, "psfFluxErr": -1.0},
    ]
    frame = clean_lightcurve(lasair.parse(json.dumps(data).encode(), context()))
    assert list(frame["point_id"]) == ["169342391615488714"]
    assert frame.attrs["skipped"] == {"negative difference (transient absent from the template)": 1,
                                      "band not u/g/r/i/z/y": 1, "no flux": 1, "invalid flux error": 1}
    assert from_fink(cats_class=float("inf")) is None


@pytest.mark.parametrize("body, message", [
    (b'{"error": "objectId not found"}', "Lasair answered with an error: objectId not found"),
    (b'{"diaObjectId": "1"}', "no diaSources"),
    (b'{"diaSources": {"a": 1}}', "not a list"),
    (b"", "empty response"),
])
def test_lasair_bad_answers_are_parse_errors(body, message):
    with pytest.raises(ParseError, match=message):
        lasair.parse(body, context())


def test_the_dispatching_parser_reads_every_service():
    assert len(parse_any(fixture_bytes(LASAIR), context())) == 1
    assert len(parse_any(fink_answer(SN), context())) == 5
    assert len(parse_any(fixture_bytes("lsst_alerce/alerce_client_notebook_lightcurve_7912941781254157.json"),
                         context())) == 2
    with pytest.raises(ParseError, match="HTML page"):
        parse_any(b"<html><head><title>502 Bad Gateway</title></head></html>", context())


# -- Fink: constructed from the documented schema -----------------------------------


def test_fink_transient_alerts_and_forced_photometry():
    frame = clean_lightcurve(fink.parse(fink_answer(SN), context()))
    assert frame.attrs["skipped"] == {
        "negative difference (transient absent from the template)": 1,
        "flagged flux (psfFlux_flag)": 1,
        "forced photometry at a detection's visit": 1,
    }
    assert list(frame["band"]) == ["g", "r", "g", "g", "r"]
    detections = frame[frame["mag"].notna()]
    assert list(detections["mag"]) == pytest.approx([mag(700.0), mag(1520.5), mag(2210.0)], abs=1e-9)
    limits = frame[frame["mag"].isna()]
    assert list(limits["limit"]) == pytest.approx([mag(5 * 95.0), mag(5 * 100.0)], abs=1e-9)
    assert list(frame["point_id"]) == ["313000000000000101", "313000000000000102", "313000000000000103",
                                       "313000000000000001", "313000000000000011"]
    assert abs(frame["time"].iloc[3] - utc(61100.051234567)) < pd.Timedelta(microseconds=1)
    assert frame.attrs["survey_names"] == {"LSST": SN}


def test_fink_star_takes_the_total_flux():
    frame = fink.parse(fink_answer(STAR), context()).sort_values("time").reset_index(drop=True)
    assert list(frame["mag"]) == pytest.approx([mag(45500.0), mag(41000.0), mag(63500.0)], abs=1e-9)
    assert list(frame["mag_err"]) == pytest.approx(
        [mag_err(45500.0, 220.0), mag_err(41000.0, 210.0), mag_err(63500.0, 260.0)], abs=1e-9)
    assert frame["limit"].isna().all()
    # the same star read as a transient would be one faint positive difference: never stored as its brightness
    as_difference = fink.parse(fink_answer(STAR), context(Brightness.DIFFERENCE))
    assert mag(5200.0) in list(as_difference["mag"]) and len(as_difference[as_difference["mag"].notna()]) == 1


def test_fink_classification_rules():
    assert from_fink(gaia_name="Gaia DR3 1") is Brightness.TOTAL
    assert from_fink(vsx_type="RRAB") is Brightness.TOTAL
    assert from_fink(simbad_otype="SN") is Brightness.DIFFERENCE
    assert from_fink(simbad_otype="EB*") is Brightness.TOTAL
    assert from_fink(simbad_otype="Unknown", cats_class=11) is Brightness.DIFFERENCE
    assert from_fink(cats_class=22.0) is Brightness.TOTAL
    assert from_fink(gaia_name=float("nan"), simbad_otype="nan", cats_class=-1) is None


def test_fink_batched_answer_splits_by_object_with_exact_ids():
    both = json.loads(fink_answer(SN)) + json.loads(fink_answer(STAR))
    parts = fink.split_by_object(json.dumps(both).encode())
    assert set(parts) == {SN, STAR}
    assert len(fink.load_records(parts[STAR])) == 4


@pytest.mark.parametrize("body, message", [
    (b'{"status": "error", "text": "bad column r:nope"}', "Fink answered with an error: bad column"),
    (b'[{"r:band": "g"}]', "records lack r:midpointMjdTai"),
    (b"[1, 2]", "expected a list of records"),
])
def test_fink_bad_answers_are_parse_errors(body, message):
    with pytest.raises(ParseError, match=message):
        fink.parse(body, context())


def test_fink_cone_search_nearest_within_radius():
    content = fixture_bytes("lsst_fink/CONSTRUCTED_fink_conesearch.json")
    assert fink.nearest_in_cone(content, 150.1234567, -30.7654321, 1.0) == SN
    assert fink.nearest_in_cone(content, 150.1240, -30.7654321, 1.0) is None


# -- ALeRCE ---------------------------------------------------------------------------


def test_alerce_lightcurve_from_the_clients_notebook():
    frame = alerce.parse(fixture_bytes("lsst_alerce/alerce_client_notebook_lightcurve_7912941781254157.json"),
                         context()).sort_values("time")
    assert list(frame["band"]) == ["r", "r"]
    assert list(frame["mag"]) == pytest.approx([mag(939.40765), mag(2425.8623)], abs=1e-9)
    assert list(frame["mag_err"]) == pytest.approx(
        [mag_err(939.40765, 415.13318), mag_err(2425.8623, 384.99548)], abs=1e-9)
    assert list(frame["point_id"]) == ["7912941781254157", "8245877210611797"]
    assert abs(frame["time"].iloc[0] - utc(60961.23309222222)) < pd.Timedelta(microseconds=1)
    assert frame.attrs["skipped"] == {"forced photometry at a detection's visit": 1}


def test_alerce_without_science_flux_gives_no_total_brightness():
    frame = alerce.parse(fixture_bytes("lsst_alerce/alerce_client_notebook_lightcurve_7912941781254157.json"),
                         context(Brightness.TOTAL))
    assert frame.empty and frame.attrs["skipped"]["no flux"] == 2


def test_alerce_probabilities_decide():
    content = fixture_bytes("lsst_alerce/CONSTRUCTED_alerce_probability_7912941781254157.json")
    assert alerce.classify(content) is Brightness.DIFFERENCE
    star = json.dumps([{"classifier_name": "x", "class_name": "RRL", "probability": 0.9, "ranking": 1}]).encode()
    assert alerce.classify(star) is Brightness.TOTAL


# -- the survey name ------------------------------------------------------------------


@pytest.mark.parametrize("value", ["169342391615488714", " 313000000000000001 ", str(2**64 - 1)])
def test_dia_object_id_is_an_unsigned_64_bit_integer_kept_as_text(value):
    assert DataSource.LSST.validate_name(value) == value.strip()


@pytest.mark.parametrize("value", [str(2**64), "0", "0123", "-1", "1.69e17", "169342391615488714,1", "1 OR 1=1"])
def test_invalid_dia_object_ids_are_refused(value):
    with pytest.raises(ValidationError):
        DataSource.LSST.validate_name(value)


def test_lsst_bands_and_filter_names():
    assert DataSource.LSST.filters == [f"{b}(Rubin/LSST)" for b in "ugrizy"]
    assert np.isclose(2.5 / np.log(10), 1.0857, atol=1e-4)
