"""ZTF data-release (IRSA) parser on the real recorded DR19 cone answer."""
from __future__ import annotations

import csv
import io
from collections import Counter

import numpy as np
import pytest
from astropy.table import Table
from astropy.time import Time

from bhtom2.brokers.ztf_dr import BAD_CATFLAGS_MASK, parse, time_range
from bhtom_base.errors import ParseError
from bhtom_base.lightcurve import clean_lightcurve
from tests.conftest import fixture_bytes

BAND = {"zg": "g", "zr": "r", "zi": "i"}


def rows(name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(fixture_bytes(f"ztf_dr/{name}").decode())))


def good(row: dict[str, str]) -> bool:
    return int(row["catflags"]) & 32768 == 0


@pytest.mark.parametrize("name", ["cone.csv", "zvanderbosch_lc_dr19.csv"])
def test_cone_answer_keeps_every_unflagged_epoch_of_every_object(name):
    recorded = rows(name)
    kept = [row for row in recorded if good(row)]
    frame = parse(fixture_bytes(f"ztf_dr/{name}"))
    assert len(recorded) == 1452 and len(kept) == 1358
    assert len(frame) == len(kept)
    assert frame.attrs["skipped"] == {"bad catflags": len(recorded) - len(kept)} == {"bad catflags": 94}
    # all four object ids (two fields x two filters) belong to the target
    assert frame.attrs["object_ids"] == ["775104100001769", "775204100022187", "1776110100007378", "1776210100011121"]
    assert Counter(frame["band"]) == Counter(BAND[row["filtercode"]] for row in kept) == {"r": 854, "g": 504}
    assert frame["mag"].tolist() == [float(row["mag"]) for row in kept]
    assert frame["mag_err"].tolist() == [float(row["magerr"]) for row in kept]
    assert np.isnan(frame["limit"]).all()


def test_catflags_cut_is_the_bad_epoch_bit_only():
    assert BAD_CATFLAGS_MASK == 32768
    recorded = rows("cone.csv")
    flags = Counter(int(row["catflags"]) for row in recorded)
    assert flags == {0: 1358, 32768: 92, 32776: 2}
    # 32776 = 32768 + 8 (flagged epoch and a bad pixel): out because of the 32768 bit
    frame = parse(fixture_bytes("ztf_dr/cone.csv"))
    kept_mjd = np.sort(Time(frame["time"].dt.tz_localize(None).to_numpy(), format="datetime64").mjd)
    good_mjd = np.sort([float(row["mjd"]) for row in recorded if good(row)])
    flagged_mjd = np.array([float(row["mjd"]) for row in recorded if not good(row)])
    assert np.allclose(kept_mjd, good_mjd, rtol=0, atol=1e-8)
    nearest = np.abs(kept_mjd[np.searchsorted(kept_mjd, flagged_mjd).clip(0, len(kept_mjd) - 1)] - flagged_mjd)
    assert (nearest > 1e-6).all()


def test_times_are_the_utc_mjd_column():
    kept = [row for row in rows("cone.csv") if good(row)]
    frame = parse(fixture_bytes("ztf_dr/cone.csv"))
    expected = Time([float(row["mjd"]) for row in kept], format="mjd", scale="utc")
    got = Time(frame["time"].dt.tz_localize(None).to_numpy(), format="datetime64", scale="utc")
    assert np.abs((got - expected).to_value("s")).max() < 1e-3
    assert str(frame["time"].min())[:19] == "2018-05-31 11:34:33"  # mjd 58269.4823264
    # the heliocentric column is a different (later) time: not the one used
    first = kept[0]
    assert abs(float(first["hjd"]) - 2400000.5 - float(first["mjd"])) * 86400 > 60


def test_each_id_answer_is_one_object_in_one_band():
    for oid, band, count in [("775104100001769", "g", 474), ("775204100022187", "r", 813),
                             ("1776110100007378", "g", 80), ("1776210100011121", "r", 85)]:
        recorded = rows(f"id_{oid}.csv")
        assert len(recorded) == count
        frame = parse(fixture_bytes(f"ztf_dr/id_{oid}.csv"))
        assert frame.attrs["object_ids"] == [oid]
        assert set(frame["band"]) == {band}
        assert len(frame) == sum(good(row) for row in recorded)


def test_ipac_table_format_gives_the_same_frame():
    table = Table.read(fixture_bytes("ztf_dr/cone.csv").decode(), format="ascii.csv")
    buffer = io.StringIO()
    table.write(buffer, format="ascii.ipac")
    from_ipac = parse(buffer.getvalue().encode())
    from_csv = parse(fixture_bytes("ztf_dr/cone.csv"))
    assert len(from_ipac) == len(from_csv) == 1358
    assert np.allclose(from_ipac["mag"], from_csv["mag"])
    assert (from_ipac["band"] == from_csv["band"]).all()
    assert (from_ipac["time"] == from_csv["time"]).all()


def test_header_only_answer_is_an_empty_lightcurve():
    header = fixture_bytes("ztf_dr/cone.csv").decode().splitlines()[0] + "\n"
    frame = parse(header.encode())
    assert len(frame) == 0 and frame.attrs["object_ids"] == []


def test_cleaning_keeps_all_parsed_points():
    cleaned = clean_lightcurve(parse(fixture_bytes("ztf_dr/cone.csv")))
    assert len(cleaned) == 1358 and cleaned.attrs["skipped"] == {"bad catflags": 94}


@pytest.mark.parametrize(
    "body, message",
    [
        (b"", "empty response"),
        (b"<!DOCTYPE html><html><head><title>Oops</title></head></html>", "HTML page"),
        (b"<?xml version='1.0'?><VOTABLE><INFO name='QUERY_STATUS' value='ERROR'>bad POS</INFO></VOTABLE>", "XML"),
        (b"a,b,c\n1,2,3\n", "no column"),
    ],
)
def test_bad_answers_are_parse_errors(body, message):
    with pytest.raises(ParseError, match=message):
        parse(body)


@pytest.mark.parametrize("cut", [300, 517, 20000])
def test_a_body_cut_mid_row_drops_the_incomplete_row(cut):
    body = fixture_bytes("ztf_dr/cone.csv")[:cut]
    lines = body.decode().split("\n")
    complete = [line for line in lines[1:-1] if line]
    assert lines[-1] and lines[-1].count(",") < lines[0].count(",")  # really cut inside a row
    frame = parse(body)
    expected = [line for line in complete if int(line.split(",")[6]) & 32768 == 0]
    assert len(frame) == len(expected)
    assert frame.attrs["skipped"].get("incomplete last row") == 1
    assert frame["mag"].tolist() == [float(line.split(",")[4]) for line in expected]


def test_mjd_is_the_exposure_start_encoded_in_filefracday():
    recorded = rows("cone.csv")
    start = Time([f"{r['filefracday'][:4]}-{r['filefracday'][4:6]}-{r['filefracday'][6:8]}" for r in recorded],
                 scale="utc").mjd + np.array([int(r["filefracday"][8:]) / 1e6 for r in recorded])
    offset = (np.array([float(r["mjd"]) for r in recorded]) - start) * 86400
    assert abs(np.median(offset)) < 2 and np.percentile(np.abs(offset), 90) < 10


def test_time_range_for_incremental_updates():
    from datetime import UTC, datetime

    assert time_range(None) is None
    start, end = (float(value) for value in time_range(datetime(2024, 1, 1, tzinfo=UTC)).split())
    assert start == pytest.approx(60310.0)
    assert end > start
