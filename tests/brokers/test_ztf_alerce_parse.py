"""ALeRCE ZTF parser on real recorded object, detections, non-detections, lightcurve and object list.

ZTF18abbuksn (ALeRCE, recorded 2026-08-11): a star in ZTF's reference images. ALeRCE
corrected every recorded detection (``corrected`` true, 0.03-0.86" from the reference
source); 36 of the 43 are fainter than the reference (``isdiffpos`` -1). Its brightness
is ``magpsf_corr`` (issue #18, findings 1 and 9), not the difference magnitude
``magpsf``, which the parser stored before.
"""
from __future__ import annotations

import json

import astropy.units as u
import numpy as np
import pytest
from astropy.time import Time

from bhtom2.brokers.ztf_alerce import bundle, parse, parse_objects, separation_arcsec
from bhtom_base.errors import ParseError
from bhtom_base.lightcurve import Brightness, ParseContext, clean_lightcurve
from tests.conftest import fixture_bytes

FID = {1: "g", 2: "r", 3: "i"}
DETECTIONS = "ZTF18abbuksn_detections_first43.json"
NON_DETECTIONS = "ZTF18abbuksn_non_detections_first7.json"
OBJECT = "ZTF18abbuksn_object.json"
TOM_BASE = "alerce_lightcurve_candid1936275461615015015_tom_base_test.json"


def load(name: str):
    return json.loads(fixture_bytes(f"alerce/{name}"))


def recorded_bundle(*, detections=None, non_detections=None, obj=None) -> bytes:
    """The broker's document for one update; any part may be replaced by a derived one."""
    def body(value, name):
        return fixture_bytes(f"alerce/{name}") if value is None else json.dumps(value).encode()
    return bundle(body(obj, OBJECT), body(detections, DETECTIONS), body(non_detections, NON_DETECTIONS))


def star(choice: Brightness = Brightness.AUTO):
    return parse(recorded_bundle(), ParseContext(brightness=choice))


def utc_mjd(frame) -> np.ndarray:
    return Time(frame["time"].dt.tz_localize(None).to_numpy(), format="datetime64", scale="utc").mjd


def flux(mag) -> np.ndarray:
    return (np.asarray(mag, dtype=float) * u.ABmag).to_value(u.uJy)


# -- finding 1: a star is its apparent (corrected) magnitude ------------------------------


def test_star_is_stored_as_its_corrected_magnitude_not_the_difference():
    recorded = load(DETECTIONS)
    frame = star()
    assert len(frame) == len(recorded) == 43
    g = frame[frame["band"] == "g"]
    # the numbers: g stored 17.58-18.55 (magpsf) where ALeRCE's corrected magnitudes are 15.44-15.54
    first_g = g["mag"].iloc[:7]
    assert first_g.between(15.44, 15.54).all() and not frame["mag"].between(17.5, 18.6).any()
    assert frame["mag"].tolist() == [row["magpsf_corr"] for row in recorded]
    # the r point dropped before (isdiffpos -1) is the star at 13.29, and so are the 20 after it
    r = frame[frame["band"] == "r"]
    assert (len(g), len(r)) == (22, 21) and r["mag"].iloc[0] == 13.293495
    assert np.isnan(frame["limit"]).all()
    # ZTF's difference-image limits say "no change from the reference" for a star: left out, counted
    assert frame.attrs["skipped"] == {"difference-image limit (source in the reference: no change)": 7}


def test_stored_magnitudes_are_reference_plus_signed_difference_in_flux():
    """Independent check (astropy AB magnitudes): every stored point minus its signed difference
    flux gives one reference flux per band, as ALeRCE documents (correction step README)."""
    recorded = load(DETECTIONS)
    frame = star()
    sign = np.array([row["isdiffpos"] for row in recorded], dtype=float)
    reference = flux(frame["mag"]) - sign * flux([row["magpsf"] for row in recorded])
    bands = frame["band"].to_numpy()
    for band, expected in (("g", 15.607), ("r", 13.135)):
        ref_mag = (reference[bands == band] * u.uJy).to_value(u.ABmag)
        assert np.ptp(ref_mag) < 1e-5 and ref_mag[0] == pytest.approx(expected, abs=5e-4)
    # the star is fainter than its reference exactly where ZTF saw a negative difference
    assert ((flux(frame["mag"]) < reference) == (sign < 0)).all()


def test_an_eclipsing_or_fading_star_keeps_its_full_lightcurve_with_real_errors():
    """Finding 9: most detections are negative differences; every one is a point with a finite,
    sub-0.1 mag error (ALeRCE's placeholder 100 never reaches the database)."""
    recorded = load(DETECTIONS)
    assert sum(row["isdiffpos"] == -1 for row in recorded) == 36
    frame = clean_lightcurve(star())
    assert len(frame) == 43
    assert frame["mag_err"].between(0.001, 0.1).all()
    assert frame.groupby("band")["mag"].agg(["min", "max"]).round(3).to_dict("index") == {
        "g": {"min": 15.444, "max": 16.299}, "r": {"min": 13.293, "max": 13.736}}


def test_error_is_sigmapsf_corr_or_the_extended_error_where_alerce_wrote_its_placeholder():
    recorded = load(DETECTIONS)
    placeholder = [row["sigmapsf_corr"] == 100.0 for row in recorded]
    assert sum(placeholder) == 34
    expected = [row["sigmapsf_corr_ext"] if bad else row["sigmapsf_corr"]
                for row, bad in zip(recorded, placeholder, strict=True)]
    assert star()["mag_err"].tolist() == expected
    # the extended error is the difference's flux error over the total flux (ALeRCE's README): astropy agrees
    ext = [row["sigmapsf"] * flux(row["magpsf"]) / flux(row["magpsf_corr"]) for row in recorded]
    assert np.allclose(ext, [row["sigmapsf_corr_ext"] for row in recorded], rtol=1e-4, atol=0)


def test_points_carry_candid_mjd_and_are_stored_at_mid_exposure():
    recorded = load(DETECTIONS)
    frame = star()
    assert frame["point_id"].tolist() == [row["candid"] for row in recorded]
    assert frame["survey_time"].tolist() == [row["mjd"] for row in recorded]
    assert set(frame["time_system"]) == {"MJD UTC, exposure start"}
    mid = Time([row["mjd"] for row in recorded], format="mjd", scale="utc") + 15 * u.s
    assert np.abs(utc_mjd(frame) - mid.mjd).max() * 86400 < 1e-5
    assert str(frame["time"].iloc[0])[:23] == "2018-06-17 10:18:54.003"


# -- the per-target choice and the auto rule ------------------------------------------------


def test_person_says_difference_the_positive_differences_and_true_limits_are_stored():
    recorded = load(DETECTIONS)
    limits = load(NON_DETECTIONS)
    frame = star(Brightness.DIFFERENCE)
    detections = frame[np.isfinite(frame["mag"])]
    assert detections["mag"].tolist() == [row["magpsf"] for row in recorded if row["isdiffpos"] == 1]
    assert detections["mag"].min() == 17.579912 and detections["mag"].max() == 18.551207
    assert detections["mag_err"].tolist() == [row["sigmapsf"] for row in recorded if row["isdiffpos"] == 1]
    assert frame.loc[~np.isfinite(frame["mag"]), "limit"].tolist() == [row["diffmaglim"] for row in limits]
    assert frame.attrs["skipped"] == {"negative difference (isdiffpos)": 36}


def test_person_says_total_matches_auto_for_this_star():
    auto, total = star(), star(Brightness.TOTAL)
    assert auto["mag"].tolist() == total["mag"].tolist() and auto.attrs == total.attrs


def test_auto_rule_on_the_recorded_object_flags():
    """Derived answers: the recorded object and detections with one thing changed at a time."""
    recorded, obj = load(DETECTIONS), load(OBJECT)
    assert (obj["corrected"], obj["stellar"]) == (True, False)
    positives = [row for row in recorded if row["isdiffpos"] == 1]

    def stored(**parts) -> str:
        frame = parse(recorded_bundle(**parts))
        return "total" if len(frame) and frame["mag"].iloc[0] == recorded[0]["magpsf_corr"] else "difference"

    assert stored() == "total"  # corrected, seen fainter than the reference
    assert stored(detections=positives) == "difference"  # corrected, not stellar, never fainter: a transient
    assert stored(detections=positives, obj={**obj, "stellar": True}) == "total"  # a star, brightening
    assert stored(obj={**obj, "corrected": False}) == "difference"  # no reference source
    dubious = [{**row, "dubious": row["isdiffpos"] == -1} for row in recorded]
    assert stored(detections=dubious) == "difference"  # its fading is in doubt


def test_total_leaves_out_what_alerce_did_not_correct_or_doubts():
    recorded = load(DETECTIONS)
    changed = [dict(row) for row in recorded]
    changed[1].update(corrected=False, magpsf_corr=None, sigmapsf_corr=None, sigmapsf_corr_ext=None)
    changed[2]["dubious"] = True
    changed[3].update(magpsf_corr=100.0)
    changed[4].update(sigmapsf_corr=100.0, sigmapsf_corr_ext=100.0)
    frame = parse(recorded_bundle(detections=changed), ParseContext(brightness=Brightness.TOTAL))
    assert len(frame) == 40
    assert frame.attrs["skipped"] == {
        "not corrected by ALeRCE (no reference source within 1.4\")": 1, "dubious correction (ALeRCE)": 1,
        "no corrected magnitude (ALeRCE)": 1, "difference-image limit (source in the reference: no change)": 7}
    assert np.isnan(frame["mag_err"]).sum() == 1  # no error at all: cleaning counts it as "invalid error"
    assert len(clean_lightcurve(frame)) == 39


# -- lists on their own, and what other brokers' tests recorded ------------------------------


def test_non_detections_list_alone_are_limits_at_mid_exposure():
    recorded = load(NON_DETECTIONS)
    frame = parse(fixture_bytes(f"alerce/{NON_DETECTIONS}"))
    assert len(frame) == len(recorded) == 7
    assert np.isnan(frame["mag"]).all() and np.isnan(frame["mag_err"]).all()
    assert frame["limit"].tolist() == [row["diffmaglim"] for row in recorded]
    assert frame["band"].value_counts().to_dict() == {"g": 5, "r": 2}
    assert set(frame["point_id"]) == {""}
    assert np.allclose(utc_mjd(frame), [row["mjd"] + 15 / 86400 for row in recorded], rtol=0, atol=1e-8)


def test_detections_list_alone_decides_from_its_first_detections():
    """Without the object record the first detection per band stands in for ALeRCE's ``corrected``."""
    frame = parse(fixture_bytes(f"alerce/{DETECTIONS}"))
    assert frame["mag"].tolist() == [row["magpsf_corr"] for row in load(DETECTIONS)]


def test_lightcurve_object_from_tom_base_is_a_positive_difference():
    """One corrected, positive detection and no object record: nothing says it is a star."""
    recorded = load(TOM_BASE)
    frame = parse(fixture_bytes(f"alerce/{TOM_BASE}"))
    assert len(frame) == len(recorded["detections"]) + len(recorded["non_detections"]) == 2
    detection, limit = frame.iloc[0], frame.iloc[1]
    assert (detection["band"], detection["mag"], detection["mag_err"]) == ("g", 20.146738, 0.18631585)
    assert detection["point_id"] == "1936275461615015015"
    assert np.isnan(detection["limit"])
    assert limit["band"] == "r" and limit["limit"] == 20.2106 and np.isnan(limit["mag"])
    assert str(detection["time"])[:19] == "2022-04-21 06:36:55"  # MJD 59690.27546299994 UTC + 15 s
    total = parse(fixture_bytes(f"alerce/{TOM_BASE}"), ParseContext(brightness=Brightness.TOTAL))
    assert total["mag"].tolist() == [18.00878] and total["mag_err"].tolist() == [0.015807027]


def test_negative_difference_spellings():
    row = load(DETECTIONS)[0]
    context = ParseContext(brightness=Brightness.DIFFERENCE)
    for value, kept in [(1, 1), ("t", 1), ("1", 1), (None, 1), (-1, 0), ("f", 0), ("0", 0), (0, 0)]:
        body = json.dumps([{**row, "isdiffpos": value}]).encode()
        assert len(parse(body, context)) == kept, value


def test_a_detection_and_a_limit_at_the_same_time_and_band_are_both_kept():
    """Derived: the recorded non-detection moved onto the recorded detection's time and band."""
    recorded = load(TOM_BASE)
    detection = recorded["detections"][0]
    limit = {**recorded["non_detections"][0], "mjd": detection["mjd"], "fid": detection["fid"]}
    frame = clean_lightcurve(parse(json.dumps({"detections": [detection], "non_detections": [limit]}).encode()))
    assert len(frame) == 2
    assert frame["time"].nunique() == 1 and set(frame["band"]) == {"g"}
    assert sorted(frame["mag"].fillna(0).tolist()) == [0, 20.146738]
    assert sorted(frame["limit"].fillna(0).tolist()) == [0, 20.2106]


def test_unknown_filter_is_counted():
    row = load(NON_DETECTIONS)[0]
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
        (b'{"object": {}, "detections": {"a": 1}, "non_detections": []}', "not a list"),
    ],
)
def test_bad_answers_are_parse_errors(body, message):
    with pytest.raises(ParseError, match=message):
        parse(body)


@pytest.mark.parametrize(
    "part, body, message",
    [
        ("object", b"<!DOCTYPE html><html><title>503 Service Unavailable</title></html>",
         "HTML page \\(503 Service Unavailable\\) where a ALeRCE ZTF object was expected"),
        ("object", b'["ZTF18abbuksn"]', "not an ALeRCE object"),
        ("detections", b"", "empty response where a ALeRCE ZTF detections list was expected"),
        ("non_detections", b"[{\"mjd\": 5", "unreadable ALeRCE ZTF non-detections list"),
    ],
)
def test_a_bad_part_of_the_bundle_is_named(part, body, message):
    parts = {"object": fixture_bytes(f"alerce/{OBJECT}"), "detections": fixture_bytes(f"alerce/{DETECTIONS}"),
             "non_detections": fixture_bytes(f"alerce/{NON_DETECTIONS}")}
    parts[part] = body
    with pytest.raises(ParseError, match=message):
        bundle(parts["object"], parts["detections"], parts["non_detections"])


def test_truncated_detections_body_is_a_parse_error():
    body = fixture_bytes(f"alerce/{DETECTIONS}")
    with pytest.raises(ParseError, match="not JSON"):
        parse(body[: len(body) // 2])


def test_hand_copied_detections_agree_with_their_ztf_ids():
    """ZTF processing ids (pid) encode the night and the fraction of the day; candid starts with pid."""
    for row in load(DETECTIONS):
        pid = str(row["pid"])
        assert row["candid"].startswith(pid) and row["nid"] == int(pid[:3])
        assert int(row["mjd"]) - int(pid[:3]) == 57754
        assert abs(row["mjd"] % 1 - int(pid[3:9]) / 1e6) * 86400 < 1.0
