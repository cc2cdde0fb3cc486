"""ALeRCE ZTF parser on real recorded detections, non-detections, lightcurve and object list."""
from __future__ import annotations

import json

import numpy as np
import pytest
from astropy.time import Time

from bhtom2.brokers.ztf_alerce import parse, parse_objects, separation_arcsec
from bhtom_base.errors import ParseError
from bhtom_base.lightcurve import clean_lightcurve
from tests.conftest import fixture_bytes

FID = {1: "g", 2: "r", 3: "i"}


def load(name: str):
    return json.loads(fixture_bytes(f"alerce/{name}"))


def utc_mjd(frame) -> np.ndarray:
    return Time(frame["time"].dt.tz_localize(None).to_numpy(), format="datetime64", scale="utc").mjd


def test_detections_list_keeps_positive_differences_only():
    recorded = load("ZTF18abbuksn_detections_first8.json")
    positive = [row for row in recorded if row["isdiffpos"] == 1]
    negative = [row for row in recorded if row["isdiffpos"] == -1]
    assert (len(positive), len(negative)) == (7, 1)
    frame = parse(fixture_bytes("alerce/ZTF18abbuksn_detections_first8.json"))
    assert len(frame) == 7
    assert frame.attrs["skipped"] == {"negative difference (isdiffpos)": 1}
    assert frame["mag"].tolist() == [row["magpsf"] for row in positive]
    assert frame["mag_err"].tolist() == [row["sigmapsf"] for row in positive]
    assert frame["band"].tolist() == [FID[row["fid"]] for row in positive] == ["g"] * 7
    assert np.isnan(frame["limit"]).all()
    assert np.allclose(utc_mjd(frame), [row["mjd"] for row in positive], rtol=0, atol=1e-8)


def test_non_detections_are_limits():
    recorded = load("ZTF18abbuksn_non_detections_first7.json")
    frame = parse(fixture_bytes("alerce/ZTF18abbuksn_non_detections_first7.json"))
    assert len(frame) == len(recorded) == 7
    assert np.isnan(frame["mag"]).all() and np.isnan(frame["mag_err"]).all()
    assert frame["limit"].tolist() == [row["diffmaglim"] for row in recorded]
    assert frame["band"].tolist() == [FID[row["fid"]] for row in recorded]
    assert frame["band"].value_counts().to_dict() == {"g": 5, "r": 2}
    assert np.allclose(utc_mjd(frame), [row["mjd"] for row in recorded], rtol=0, atol=1e-8)


def test_lightcurve_object_from_tom_base():
    recorded = load("alerce_lightcurve_candid1936275461615015015_tom_base_test.json")
    frame = parse(fixture_bytes("alerce/alerce_lightcurve_candid1936275461615015015_tom_base_test.json"))
    assert len(frame) == len(recorded["detections"]) + len(recorded["non_detections"]) == 2
    detection, limit = frame.iloc[0], frame.iloc[1]
    assert (detection["band"], detection["mag"], detection["mag_err"]) == ("g", 20.146738, 0.18631585)
    assert np.isnan(detection["limit"])
    assert limit["band"] == "r" and limit["limit"] == 20.2106 and np.isnan(limit["mag"])
    assert str(detection["time"])[:19] == "2022-04-21 06:36:40"  # MJD 59690.27546299994 UTC


def test_negative_difference_spellings():
    row = load("ZTF18abbuksn_detections_first8.json")[0]
    for value, kept in [(1, 1), ("t", 1), ("1", 1), (None, 1), (-1, 0), ("f", 0), ("0", 0), (0, 0)]:
        body = json.dumps([{**row, "isdiffpos": value}]).encode()
        assert len(parse(body)) == kept, value


def test_a_detection_and_a_limit_at_the_same_time_and_band_are_both_kept():
    """Derived: the recorded non-detection moved onto the recorded detection's time and band."""
    recorded = load("alerce_lightcurve_candid1936275461615015015_tom_base_test.json")
    detection = recorded["detections"][0]
    limit = {**recorded["non_detections"][0], "mjd": detection["mjd"], "fid": detection["fid"]}
    frame = clean_lightcurve(parse(json.dumps({"detections": [detection], "non_detections": [limit]}).encode()))
    assert len(frame) == 2
    assert frame["time"].nunique() == 1 and set(frame["band"]) == {"g"}
    assert sorted(frame["mag"].fillna(0).tolist()) == [0, 20.146738]
    assert sorted(frame["limit"].fillna(0).tolist()) == [0, 20.2106]


def test_unknown_filter_is_counted():
    row = load("ZTF18abbuksn_non_detections_first7.json")[0]
    frame = parse(json.dumps([{**row, "fid": 4}, row]).encode())
    assert len(frame) == 1 and frame.attrs["skipped"] == {"unknown fid": 1}


def test_object_list_and_nearest_object():
    objects = parse_objects(fixture_bytes("alerce/objects_4_items.json"))
    assert objects["oid"].tolist() == ["ZTF18abbuksn", "ZTF21aaeyldq", "ZTF17aaaaaak", "ZTF17aaaaaal"]
    distance = separation_arcsec(objects["meanra"], objects["meandec"], 313.773323, 39.098004)
    assert distance[0] < 0.1 and (distance[1:] > 3600).all()


@pytest.mark.parametrize(
    "body, message",
    [
        (b"", "empty response"),
        (b"<html><head><title>502 Bad Gateway</title></head></html>", "HTML page"),
        (b'{"detail": "Object ZTF00aaaaaaa not found"}', "expected a list"),
        (b"[{\"mjd\": 1", "not JSON"),
        (b"[1, 2]", "not objects"),
        (b'[{"magpsf": 18.0}]', "lack 'mjd' or 'fid'"),
    ],
)
def test_bad_answers_are_parse_errors(body, message):
    with pytest.raises(ParseError, match=message):
        parse(body)


def test_truncated_detections_body_is_a_parse_error():
    body = fixture_bytes("alerce/ZTF18abbuksn_detections_first8.json")
    with pytest.raises(ParseError, match="not JSON"):
        parse(body[: len(body) // 2])


def test_hand_copied_detections_agree_with_their_ztf_ids():
    """ZTF processing ids (pid) encode the night and the fraction of the day; candid starts with pid."""
    for row in load("ZTF18abbuksn_detections_first8.json"):
        pid = str(row["pid"])
        assert row["candid"].startswith(pid) and row["nid"] == int(pid[:3])
        assert int(row["mjd"]) - int(pid[:3]) == 57754
        assert abs(row["mjd"] % 1 - int(pid[3:9]) / 1e6) * 86400 < 1.0
