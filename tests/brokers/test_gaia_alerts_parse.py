"""Gaia Alerts lightcurve parser on the real recorded files."""
from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pytest
from astropy.time import Time

from bhtom2.brokers.gaia_alerts import gaia_alert_mag_error, parse, parse_alerts_index
from bhtom_base.errors import ParseError
from tests.conftest import fixture_bytes

FILES = ["Gaia14aaa.csv", "Gaia16aaa.csv", "Gaia18dqq.csv"]


def independent_rows(name: str) -> list[tuple[str, float, str]]:
    """(date, jd, mag text) of each data row, read with the csv module."""
    lines = fixture_bytes(f"gaia_alerts/{name}").decode().splitlines()[2:]
    return [(row[0], float(row[1]), row[2]) for row in csv.reader(lines) if row]


def numeric(text: str) -> bool:
    try:
        return np.isfinite(float(text))
    except ValueError:
        return False


@pytest.mark.parametrize("name", FILES)
def test_every_real_file_parses_into_its_numeric_rows(name):
    rows = independent_rows(name)
    expected = [row for row in rows if numeric(row[2])]
    frame = parse(fixture_bytes(f"gaia_alerts/{name}"))
    assert len(frame) == len(expected)
    assert frame["mag"].tolist() == [float(row[2]) for row in expected]
    assert set(frame["band"]) == ({"G"} if expected else set())
    skipped = frame.attrs["skipped"]
    assert skipped.get("null magnitude", 0) == sum(row[2] == "null" for row in rows)
    assert skipped.get("untrusted magnitude", 0) == sum(row[2] == "untrusted" for row in rows)
    assert len(frame) + sum(skipped.values()) == len(rows)


def test_known_counts_from_provenance():
    assert len(parse(fixture_bytes("gaia_alerts/Gaia14aaa.csv"))) == 28
    assert len(parse(fixture_bytes("gaia_alerts/Gaia16aaa.csv"))) == 3
    assert len(parse(fixture_bytes("gaia_alerts/Gaia18dqq.csv"))) == 118


@pytest.mark.parametrize("name", FILES)
def test_times_are_tcb_dates_converted_to_utc_by_astropy(name):
    rows = [row for row in independent_rows(name) if numeric(row[2])]
    frame = parse(fixture_bytes(f"gaia_alerts/{name}"))
    for (date, _jd, _mag), parsed in zip(rows, frame["time"], strict=True):
        expected = Time(date.replace(" ", "T"), scale="tcb").utc.datetime
        assert abs((parsed.to_pydatetime().replace(tzinfo=None) - expected).total_seconds()) < 1e-3
    # TCB runs ahead of UTC by about 1.5 minutes in these years.
    first_date = pd.Timestamp(rows[0][0], tz="UTC")
    offset = (first_date - frame["time"].iloc[0]).total_seconds()
    assert 84 < offset < 90


def test_the_date_agrees_with_the_jd_column():
    for date, jd, _ in independent_rows("Gaia14aaa.csv"):
        assert abs(Time(date.replace(" ", "T"), scale="tcb").jd - jd) * 86400 < 1.0


def test_space_separated_header_variant():
    text = fixture_bytes("gaia_alerts/Gaia14aaa.csv").decode()
    lines = text.splitlines()
    spaced = "\n".join([lines[0], "#Date JD(TCB) averagemag"] + [line.replace(",", " ") for line in lines[2:]])
    frame = parse(spaced.encode())
    reference = parse(fixture_bytes("gaia_alerts/Gaia14aaa.csv"))
    assert len(frame) == 28
    pd.testing.assert_frame_equal(frame, reference)


def test_error_model_is_defined_and_continuous_enough_everywhere():
    mags = np.array([10.0, 13.4999, 13.5, 13.5001, 16.9999, 17.0, 17.0001, 21.0])
    errors = gaia_alert_mag_error(mags)
    assert np.all(np.isfinite(errors)) and np.all(errors > 0) and np.all(errors < 0.2)
    assert errors[0] == errors[1] == errors[2] == pytest.approx(10 ** (0.2 * 13.5 - 5.2))
    assert errors[5] == pytest.approx(10 ** (0.2 * 17 - 5.2))
    assert errors[6] == pytest.approx(10 ** (0.26 * 17.0001 - 6.26))
    assert errors[7] == pytest.approx(10 ** (0.26 * 21 - 6.26))


def test_garbage_rows_are_counted_and_good_rows_kept():
    text = fixture_bytes("gaia_alerts/Gaia14aaa.csv").decode()
    lines = text.splitlines()
    garbage = ["this is not a row", "2014-08-03 01:02:03,xx,yy", "2014-08-03 01:02:03,2456872.5,NaN"]
    corrupted = lines[:5] + garbage + lines[5:]
    frame = parse("\n".join(corrupted).encode())
    assert len(frame) == 28
    assert frame.attrs["skipped"]["unparseable row"] == 2
    assert frame.attrs["skipped"]["NaN magnitude"] == 1


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head></html>", "HTML page (502 Bad Gateway)"),
        (b"Gaia14aaa\nsomething else entirely\n", "no '#Date,JD,averagemag' header"),
        (b"Gaia14aaa\n#Name,RA,Dec\n1,2,3\n", "unexpected header"),
    ],
)
def test_bad_responses_are_clear_parse_errors(content, message):
    with pytest.raises(ParseError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse(content)


def test_header_without_rows_is_an_empty_lightcurve():
    frame = parse(b"Gaia99zzz\n#Date,JD,averagemag.\n")
    assert len(frame) == 0


def test_alerts_index():
    index = parse_alerts_index(fixture_bytes("gaia_alerts/alerts_index_head300.csv"))
    raw = list(csv.reader(io.StringIO(fixture_bytes("gaia_alerts/alerts_index_head300.csv").decode())))
    assert len(index) == len(raw) - 1 == 299
    first = index.iloc[0]
    assert first["Name"] == "Gaia22cxt" and first["RaDeg"] == pytest.approx(251.49401)
    assert first["TNSid"] == "AT2022owc"
