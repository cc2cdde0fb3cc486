"""ANTARES parser on real lightcurve rows (in the locus JSON shape) and the recorded locus listing.

ZTF20aafqubg (locus ANT2020nb5h6, recorded 2026-08-12): a star in ZTF's reference images
(ANTARES ``is_corrected``, tagged "dimmers"); its seven recorded detections are negative differences.
"""
from __future__ import annotations

import csv
import io
import json
from urllib.parse import parse_qsl, urlsplit

import astropy.units as u
import numpy as np
import pytest
from astropy.time import Time

from bhtom2.brokers.antares import listing_query, parse, parse_lightcurve_csv, parse_listing
from bhtom_base.errors import ParseError
from bhtom_base.lightcurve import Brightness, ParseContext
from tests.conftest import fixture_bytes

LIGHTCURVE = "ZTF20aafqubg_lightcurve_first62rows.csv"
LOCUS = "antares/locus_ANT2020nb5h6.json"


def utc_mjd(frame) -> np.ndarray:
    return Time(frame["time"].dt.tz_localize(None).to_numpy(), format="datetime64", scale="utc").mjd


def recorded_rows() -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(fixture_bytes(f"antares/{LIGHTCURVE}").decode())))


def flux(mag) -> np.ndarray:
    return (np.asarray(mag, dtype=float) * u.ABmag).to_value(u.uJy)


def test_star_locus_is_stored_as_antares_corrected_magnitude():
    """Issue #18 finding 1: ZTF20aafqubg (ANTARES ``is_corrected``) was stored as ant_mag 17.15, the
    flux it lost since the reference; its brightness is ant_mag_corrected 15.54. All seven recorded
    detections are negative differences (16.94-19.27 as "magnitudes"), all are the star at 14.4/15.4."""
    rows = recorded_rows()
    detections = [row for row in rows if row["ant_mag"] != ""]
    frame = parse(fixture_bytes(LOCUS))
    assert len(frame) == len(detections) == 7
    assert frame["mag"].tolist() == [float(row["ant_mag_corrected"]) for row in detections]
    assert frame["mag_err"].tolist() == [float(row["ant_magerr_corrected"]) for row in detections]
    assert frame["point_id"].tolist() == [row["alert_id"] for row in detections]
    first = frame.iloc[0]
    assert (first["band"], round(first["mag"], 2)) == ("g", 15.54)
    assert first["point_id"] == "ztf_candidate:1113163781415010010"
    assert frame.groupby("band")["mag"].agg(["min", "max"]).round(3).to_dict("index") == {
        "R": {"min": 14.379, "max": 14.411}, "g": {"min": 15.351, "max": 15.544}}
    assert np.isnan(frame["limit"]).all()
    # ZTF's difference-image limits say "no change" for a star in the reference: not stored as limits
    assert frame.attrs["skipped"] == {"difference-image limit (source in the reference: no change)": 55}


def test_antares_corrected_values_follow_the_ztf_variable_star_recipe():
    """Independent check (astropy AB magnitudes, ZTF's Variable_star_lightcurves notebook): each row's
    corrected limits are reference +- the difference limit in flux, with one reference per band, and
    each detection is that reference minus its difference flux (all seven are fainter than it)."""
    rows = recorded_rows()
    upper = flux([float(row["ant_magulim_corrected"]) for row in rows])
    lower = flux([float(row["ant_magllim_corrected"]) for row in rows])
    assert np.allclose((upper - lower) / 2, flux([float(row["ant_maglim"]) for row in rows]), rtol=1e-9, atol=0)
    reference = ((upper + lower) / 2 * u.uJy).to_value(u.ABmag)
    bands = np.array([row["ant_passband"] for row in rows])
    assert np.ptp(reference[bands == "g"]) < 1e-5 and np.ptp(reference[bands == "R"]) < 1e-5
    assert (round(reference[bands == "g"][0], 3), round(reference[bands == "R"][0], 3)) == (15.322, 14.31)
    detected = np.array([row["ant_mag"] != "" for row in rows])
    difference = flux([float(row["ant_mag"]) for row in rows if row["ant_mag"]])
    total = ((flux(reference[detected]) - difference) * u.uJy).to_value(u.ABmag)
    corrected = [float(row["ant_mag_corrected"]) for row in rows if row["ant_mag"]]
    assert np.allclose(total, corrected, rtol=0, atol=1e-6)


def test_person_says_difference_limits_are_true_limits_and_negative_differences_are_left_out():
    rows = recorded_rows()
    limits = [row for row in rows if row["ant_mag"] == ""]
    frame = parse(fixture_bytes(LOCUS), ParseContext(brightness=Brightness.DIFFERENCE))
    assert len(frame) == len(limits) == 55
    assert np.isnan(frame["mag"]).all()
    assert frame["limit"].tolist() == [float(row["ant_maglim"]) for row in limits]
    assert frame["band"].value_counts().to_dict() == {"R": 28, "g": 27}
    assert frame["point_id"].tolist() == [row["alert_id"] for row in limits]
    assert frame.attrs["skipped"] == {
        "negative difference (ANTARES corrected magnitude fainter than the reference)": 7}


def test_auto_follows_the_locus_property_else_the_corrected_values():
    locus = json.loads(fixture_bytes(LOCUS))
    properties = locus["data"]["attributes"]["properties"]
    assert properties["is_corrected"] == "true"

    def stored(is_corrected) -> tuple[int, int]:
        changed = {**properties, "is_corrected": is_corrected} if is_corrected is not None else {
            key: value for key, value in properties.items() if key != "is_corrected"}
        locus["data"]["attributes"]["properties"] = changed
        frame = parse(json.dumps(locus).encode())
        return int(np.isfinite(frame["mag"]).sum()), int(np.isfinite(frame["limit"]).sum())

    assert stored("true") == stored(True) == (7, 0)
    assert stored("false") == stored(False) == (0, 55)  # difference: limits, the negative differences out
    assert stored(None) == (7, 0)  # no property: ANTARES computed corrected values


def test_times_are_mid_exposure_and_keep_ant_mjd():
    rows = recorded_rows()
    frame = parse(fixture_bytes(LOCUS), ParseContext(brightness=Brightness.DIFFERENCE))
    limits = [float(row["ant_mjd"]) for row in rows if row["ant_mag"] == ""]
    mid = Time(limits, format="mjd", scale="utc") + 15 * u.s
    assert np.abs(utc_mjd(frame) - mid.mjd).max() * 86400 < 1e-5
    assert frame["survey_time"].tolist() == limits
    assert set(frame["time_system"]) == {"MJD UTC, exposure start"}


@pytest.mark.parametrize("name, count, bands", [("ZTF17aadlxmv.csv", 17, {"R": 9, "g": 8}),
                                                ("ZTF18aahatvc.csv", 26, None)])
def test_processed_test_data_csvs_with_their_column_names_restored(name, count, bands):
    """Two BTS supernovae: no corrected values, so ``auto`` stores their (positive) differences."""
    text = fixture_bytes(f"antares/{name}").decode()
    header, body = text.split("\n", 1)
    assert header == "time,mag,magerr,band"
    rows = list(csv.reader(io.StringIO(body)))
    rows = [row for row in rows if row]
    restored = "ant_mjd,ant_mag,ant_magerr,ant_passband,ant_maglim\n" + "".join(",".join(row) + ",\n" for row in rows)
    frame = parse_lightcurve_csv(restored)
    assert len(frame) == len(rows) == count
    assert frame["mag"].tolist() == [float(row[1]) for row in rows]
    assert frame["mag_err"].tolist() == [float(row[2]) for row in rows]
    assert frame["band"].tolist() == [row[3] for row in rows]
    if bands:
        assert frame["band"].value_counts().to_dict() == bands


def test_other_surveys_passbands_are_counted_and_left_out():
    text = fixture_bytes("antares/ZTF20aafqubg_lightcurve_first62rows.csv").decode()
    lines = text.splitlines()
    lsst = lines[1].replace(",R,", ",y,")
    frame = parse_lightcurve_csv("\n".join([lines[0], lsst, *lines[2:]]), choice=Brightness.DIFFERENCE)
    assert len(frame) == 54 and frame.attrs["skipped"] == {
        "passband not ZTF g/R/i": 1, "negative difference (ANTARES corrected magnitude fainter than the reference)": 7}


def test_listing_gives_the_locus_id_and_the_query_is_the_recorded_one():
    body = fixture_bytes("antares/antares_v1_loci_search_ZTF18aagrczj.json")
    assert parse_listing(body) == ["ANT2020g7nq"]
    recorded = dict(parse_qsl(urlsplit(json.loads(body)["links"]["self"]).query))
    assert recorded["elasticsearch_query[locus_listing]"] == listing_query("ZTF18aagrczj")


def test_a_listing_is_not_a_locus():
    with pytest.raises(ParseError, match="listing"):
        parse(fixture_bytes("antares/antares_v1_loci_search_ZTF18aagrczj.json"))


@pytest.mark.parametrize(
    "body, message",
    [
        (b"", "empty response"),
        (b"<!DOCTYPE html><html><head><title>504 Gateway Time-out</title></head></html>", "HTML page"),
        (b'{"errors": [{"status": "404", "title": "Not Found", "detail": "No locus ANT0000aaa"}]}', "No locus"),
        (b'{"data": {"type": "locus", "id": "ANT2020nb5h6", "attributes": {"ra": 1}}}', "has no lightcurve"),
        (b'{"data": {"id": "x", "attributes": {"lightcurve": "a,b\\n1,2\\n"}}}', "no column"),
        (b"[]", "expected a JSON object"),
    ],
)
def test_bad_answers_are_parse_errors(body, message):
    with pytest.raises(ParseError, match=message):
        parse(body)


def test_truncated_locus_body_is_a_parse_error():
    body = fixture_bytes("antares/locus_ANT2020nb5h6.json")
    with pytest.raises(ParseError, match="not JSON"):
        parse(body[:200])


def test_hand_copied_rows_agree_with_the_ztf_ids_they_carry():
    """ZTF processing ids encode the night (4 digits) and the fraction of the day (6 digits)."""
    rows = list(csv.DictReader(io.StringIO(fixture_bytes("antares/ZTF20aafqubg_lightcurve_first62rows.csv").decode())))
    for row in rows:
        alert = row["alert_id"]
        pid = alert.rsplit("-", 1)[1] if alert.startswith("ztf_upper_limit:") else alert.split(":")[1][:13]
        mjd = float(row["ant_mjd"])
        assert int(mjd) - int(pid[:4]) == 57754
        assert abs(mjd % 1 - int(pid[4:10]) / 1e6) * 86400 < 1.0
