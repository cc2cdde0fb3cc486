"""AAVSO parser on the real recorded VSX api.delim answer and AID download CSV."""
from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from astropy.time import Time

from bhtom2.brokers.aavso import DEFAULT_BANDS, parse
from bhtom_base.errors import ParseError
from tests.conftest import fixture_bytes

API = "aavso/aavso_vsx_apidelim_GAIA20FNR_2rows_bhtom2_test.txt"
DOWNLOAD = "aavso/aavso_webobs_download_PDS110_aavsodata_598d6894a988c.txt"


def api_rows(text: str | None = None) -> list[dict[str, str]]:
    text = text if text is not None else fixture_bytes(API).decode()
    return list(csv.DictReader(io.StringIO(text), delimiter="~"))


def test_api_delim_rows_times_and_people():
    rows = api_rows()
    frame = parse(fixture_bytes(API))
    assert len(rows) == 2 and len(frame) == 2
    assert frame["mag"].tolist() == [float(row["mag"]) for row in rows]
    assert frame["mag_err"].tolist() == [float(row["uncert"]) for row in rows]
    assert frame["band"].tolist() == ["V", "V"]
    assert frame["observer"].tolist() == ["HMB", "HMB"] and frame["facility"].tolist() == ["Facility"] * 2
    assert frame["limit"].isna().all()
    for row, parsed in zip(rows, frame["time"], strict=True):
        expected = Time(float(row["JD"]), format="jd", scale="utc").datetime
        assert abs((parsed.to_pydatetime().replace(tzinfo=None) - expected).total_seconds()) < 1e-3


def test_the_delimiter_is_read_from_the_header():
    text = fixture_bytes(API).decode()
    reference = parse(text.encode())
    for delimiter in ("|~|", "@@@", "$"):
        again = parse(text.replace("~", delimiter).encode())
        assert again.equals(reference)


def _edited(row: int, **changes: str) -> bytes:
    """The recorded answer with fields of one row changed (derived, for the rules)."""
    lines = fixture_bytes(API).decode().splitlines()
    header = lines[0].split("~")
    fields = lines[1 + row].split("~")
    for name, value in changes.items():
        fields[header.index(name)] = value
    lines[1 + row] = "~".join(fields)
    return ("\n".join(lines) + "\n").encode()


def test_fainter_than_is_a_limit():
    frame = parse(_edited(0, fainterThan="1"))
    limit = frame.iloc[0]
    assert np.isnan(limit["mag"]) and np.isnan(limit["mag_err"]) and limit["limit"] == 13.068
    assert frame.iloc[1]["mag"] == 13.087


@pytest.mark.parametrize(
    "changes, reason",
    [
        ({"val": "T"}, "not validated"),
        ({"val": "U"}, "not validated"),
        ({"obsType": "Visual"}, "observation type not kept"),
        ({"band": "Vis."}, "band not kept"),
        ({"band": "TG"}, "band not kept"),
        ({"uncert": ""}, "no uncertainty"),
    ],
)
def test_rows_left_out_are_counted(changes, reason):
    frame = parse(_edited(1, **changes))
    assert len(frame) == 1 and frame.attrs["skipped"] == {reason: 1}


def test_a_row_with_the_wrong_number_of_fields_is_counted_not_fatal():
    frame = parse(fixture_bytes(API)[:-200])  # the second row cut short
    assert len(frame) == 1 and frame.attrs["skipped"] == {"unparseable row": 1}
    assert frame["mag"].tolist() == [13.068]


def test_settings_widen_what_is_kept():
    assert len(parse(_edited(1, obsType="Visual"), obs_types=["CCD", "visual"])) == 2
    assert len(parse(_edited(1, obsType="Visual"), obs_types=None)) == 2
    assert len(parse(_edited(1, band="TG"), bands=[*DEFAULT_BANDS, "TG"])) == 2
    kept = parse(_edited(1, uncert=""), missing_uncertainty=0.1)
    assert kept["mag_err"].tolist() == [0.011, 0.1]


def test_download_csv_variant():
    rows = list(csv.DictReader(io.StringIO(fixture_bytes(DOWNLOAD).decode())))
    expected = [row for row in rows if row["Validation Flag"] in ("V", "Z") and row["Band"] in DEFAULT_BANDS]
    frame = parse(fixture_bytes(DOWNLOAD))
    assert len(rows) == 340 and len(frame) == len(expected)
    assert frame["mag"].tolist() == [float(row["Magnitude"]) for row in expected]
    assert frame["mag_err"].tolist() == [float(row["Uncertainty"]) for row in expected]
    counts = {band: sum(row["Band"] == band for row in expected) for band in {row["Band"] for row in expected}}
    assert frame["band"].value_counts().to_dict() == counts == {"V": 179, "B": 61, "I": 58, "R": 42}
    assert set(frame["observer"]) == {row["Observer Code"] for row in expected}
    first = Time(float(expected[0]["JD"]), format="jd", scale="utc").datetime
    assert abs((frame["time"].iloc[0].to_pydatetime().replace(tzinfo=None) - first).total_seconds()) < 1e-3


def test_no_observations_is_an_empty_lightcurve():
    frame = parse(fixture_bytes("aavso/derived_empty_header_only.txt"))
    assert len(frame) == 0 and frame.attrs["skipped"] == {}


@pytest.mark.parametrize(
    "content, message",
    [
        (b"<!DOCTYPE html><html><head><title>AAVSO</title></head></html>", "HTML page"),
        (b"", "empty response"),
        (b"Error: star not found\n", "unexpected header"),
        (b"JD~mag~band~val\n2459233.5~13.0\n", "no row has the header's 4 fields"),
        (b"JD~mag~uncert\n2459233.5~13.0~0.01\n", "lacks columns"),
    ],
)
def test_bad_answers_are_parse_errors(content, message):
    with pytest.raises(ParseError, match=message):
        parse(content)
