"""ANTARES parser on real lightcurve rows (in the locus JSON shape) and the recorded locus listing."""
from __future__ import annotations

import csv
import io
import json
from urllib.parse import parse_qsl, urlsplit

import numpy as np
import pytest
from astropy.time import Time

from bhtom2.brokers.antares import listing_query, parse, parse_lightcurve_csv, parse_listing
from bhtom_base.errors import ParseError
from tests.conftest import fixture_bytes


def utc_mjd(frame) -> np.ndarray:
    return Time(frame["time"].dt.tz_localize(None).to_numpy(), format="datetime64", scale="utc").mjd


def test_locus_lightcurve_has_limits_and_a_detection():
    rows = list(csv.DictReader(io.StringIO(fixture_bytes("antares/ZTF20aafqubg_lightcurve_first33rows.csv").decode())))
    limits = [row for row in rows if row["ant_mag"] == ""]
    detections = [row for row in rows if row["ant_mag"] != ""]
    assert (len(limits), len(detections)) == (32, 1)
    frame = parse(fixture_bytes("antares/locus_ANT2020nb5h6.json"))
    assert len(frame) == 33
    is_limit = np.isnan(frame["mag"].to_numpy())
    assert is_limit.sum() == 32
    assert frame.loc[is_limit, "limit"].tolist() == [float(row["ant_maglim"]) for row in limits]
    assert frame.loc[is_limit, "band"].value_counts().to_dict() == {"R": 17, "g": 15}
    detection = frame.loc[~is_limit].iloc[0]
    assert (detection["band"], detection["mag"], detection["mag_err"]) == ("g", 17.15279769897461, 0.1963560730218887)
    # the detection row also carries the image depth (ant_maglim); it is not a second point
    assert np.isnan(detection["limit"])
    assert np.allclose(utc_mjd(frame), [float(row["ant_mjd"]) for row in rows], rtol=0, atol=1e-8)


@pytest.mark.parametrize("name, count, bands", [("ZTF17aadlxmv.csv", 17, {"R": 9, "g": 8}),
                                                ("ZTF18aahatvc.csv", 26, None)])
def test_processed_test_data_csvs_with_their_column_names_restored(name, count, bands):
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
    text = fixture_bytes("antares/ZTF20aafqubg_lightcurve_first33rows.csv").decode()
    lines = text.splitlines()
    lsst = lines[1].replace(",R,", ",y,")
    frame = parse_lightcurve_csv("\n".join([lines[0], lsst, *lines[2:]]))
    assert len(frame) == 32 and frame.attrs["skipped"] == {"passband not ZTF g/R/i": 1}


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
    rows = list(csv.DictReader(io.StringIO(fixture_bytes("antares/ZTF20aafqubg_lightcurve_first33rows.csv").decode())))
    for row in rows:
        alert = row["alert_id"]
        pid = alert.rsplit("-", 1)[1] if alert.startswith("ztf_upper_limit:") else alert.split(":")[1][:13]
        mjd = float(row["ant_mjd"])
        assert int(mjd) - int(pid[:4]) == 57754
        assert abs(mjd % 1 - int(pid[4:10]) / 1e6) * 86400 < 1.0
