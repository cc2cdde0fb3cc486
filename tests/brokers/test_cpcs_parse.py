"""CPCS parser on the real recorded get_alert_lc_data answers."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from astropy.time import Time

from bhtom2.brokers.cpcs import cpcs_bandpass, parse
from bhtom_base.errors import ParseError
from bhtom_base.lightcurve import MAG_RANGE, MAX_MAG_ERROR, clean_lightcurve
from tests.conftest import fixture_bytes

FILES = ["alert-25477.json", "alert-25451.json", "Gaia19drz_cpcs_api_bhtom2_test.json"]


@pytest.mark.parametrize("name", FILES)
def test_points_limits_errors_and_bands(name):
    data = json.loads(fixture_bytes(f"cpcs/{name}"))
    frame = parse(fixture_bytes(f"cpcs/{name}"))
    n = len(data["mjd"])
    limits = [i for i in range(n) if data["magerr"][i] == -1]
    assert len(frame) == n and int(frame["limit"].notna().sum()) == len(limits)
    for i in range(n):
        row = frame.iloc[i]
        expected_time = Time(data["mjd"][i], format="mjd", scale="utc").datetime
        assert abs((row["time"].to_pydatetime().replace(tzinfo=None) - expected_time).total_seconds()) < 1e-3
        assert row["band"] == f"{data['filter'][i]}({data['catalog'][i]})"
        assert row["facility"] == data["observatory"][i]
        if i in limits:
            assert np.isnan(row["mag"]) and row["limit"] == data["mag"][i]
        else:
            assert row["mag"] == data["mag"][i] and np.isnan(row["limit"])
            assert row["mag_err"] == pytest.approx(math.sqrt(data["magerr"][i] ** 2 + data["caliberr"][i] ** 2))


def test_known_counts_from_provenance():
    frame = parse(fixture_bytes("cpcs/alert-25451.json"))
    assert len(frame) == 90 and int(frame["limit"].notna().sum()) == 28
    assert {band.split("(")[0] for band in frame["band"]} == {"B", "V", "g", "r", "i"}


def test_bandpass_naming_fits_the_tom():
    assert cpcs_bandpass("r(APASS)") == "r(CPCS/APASS)"
    assert cpcs_bandpass("V") == "V(CPCS)"
    frame = parse(fixture_bytes("cpcs/alert-25451.json"))
    assert all(len(cpcs_bandpass(band)) <= 32 for band in frame["band"])


def test_empty_alert_is_an_empty_lightcurve():
    assert len(parse(fixture_bytes("cpcs/derived_empty_alert.json"))) == 0


def test_odd_filter_or_catalogue_is_left_out():
    data = json.loads(fixture_bytes("cpcs/alert-25477.json"))
    data["catalog"][0] = "A" * 40
    frame = parse(json.dumps(data).encode())
    assert len(frame) == 2 and frame.attrs["skipped"] == {"unknown filter or catalogue": 1}


@pytest.mark.parametrize(
    "content, message",
    [
        (b"<html><head><title>Login</title></head></html>", "HTML page"),
        (b"", "empty"),
        (b'{"mjd": [1, 2', "not JSON"),
        (b"[1, 2]", "expected a JSON object"),
        (b'{"error": "no such alert"}', "no such alert"),
        (b'{"mjd": [1.0], "mag": [], "magerr": [1], "filter": ["r"], "catalog": ["x"]}', "not a list of 1"),
    ],
)
def test_bad_answers_are_parse_errors(content, message):
    with pytest.raises(ParseError, match=message):
        parse(content)


def test_a_negative_error_other_than_the_limit_mark_is_dropped_by_the_cleaning():
    from bhtom_base.lightcurve import clean_lightcurve

    data = json.loads(fixture_bytes("cpcs/alert-25477.json"))
    data["magerr"][0] = -2.0
    cleaned = clean_lightcurve(parse(json.dumps(data).encode()))
    assert len(cleaned) == 2 and cleaned.attrs["skipped"] == {"invalid error": 1}


def test_trace_columns_are_cpcs_ids_and_mjd():
    data = json.loads(fixture_bytes("cpcs/alert-25451.json"))
    frame = parse(fixture_bytes("cpcs/alert-25451.json"))
    assert frame["point_id"].tolist() == [str(i) for i in data["id"]]
    assert frame["survey_time"].astype(float).tolist() == data["mjd"]
    assert set(frame["time_system"]) == {"MJD UTC"}


def test_nonsense_limits_and_errors_are_counted_by_reason_and_never_kept():
    """Issue #17 defect 11: limits of +-1e300, 1e30 and 99 mag and an error of 1e300, on the real alert 25451."""
    data = json.loads(fixture_bytes("cpcs/alert-25451.json"))
    limits = [i for i, err in enumerate(data["magerr"]) if err == -1]
    detections = [i for i, err in enumerate(data["magerr"]) if err != -1]
    for i, value in zip(limits, (1e300, -1e300, 1e30, 99.0), strict=False):
        data["mag"][i] = value
    data["magerr"][detections[0]] = 1e300
    data["mag"][detections[1]] = 99.0
    data["magerr"][detections[2]] = 0.0
    data["caliberr"][detections[2]] = 0.0
    frame = clean_lightcurve(parse(json.dumps(data).encode()))
    assert frame.attrs["skipped"] == {"limit out of range": 4, "error out of range": 1,
                                      "magnitude out of range": 1, "invalid error": 1}
    assert len(frame) == 90 - 7
    assert frame["limit"].dropna().between(MAG_RANGE[0], MAG_RANGE[1]).all()
    assert frame["mag"].dropna().between(MAG_RANGE[0], MAG_RANGE[1]).all()
    assert ((frame["mag_err"].dropna() > 0) & (frame["mag_err"].dropna() <= MAX_MAG_ERROR)).all()
    # the untouched real file loses nothing to the sanity ranges
    assert len(clean_lightcurve(parse(fixture_bytes("cpcs/alert-25451.json")))) == 90
