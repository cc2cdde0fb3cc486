"""TNS parser: a real recorded get/object answer (1999gy) and a CONSTRUCTED one (see PROVENANCE.md)."""
from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bhtom2.brokers.tns import MISSING_ERROR, internal_survey_names, parse, parse_search
from bhtom_base.errors import ParseError
from bhtom_base.lightcurve import clean_lightcurve
from tests.conftest import fixture_bytes

REAL = "tns/tns_get_object_1999gy_photometry.json"
CONSTRUCTED = "tns/CONSTRUCTED_tns_get_object_2021abc.json"


def test_real_answer_one_point_without_error():
    entries = json.loads(fixture_bytes(REAL))["data"]["reply"]["photometry"]
    frame = parse(fixture_bytes(REAL))
    assert len(frame) == len(entries) == 1
    point = frame.iloc[0]
    assert point["time"].to_pydatetime() == datetime(1999, 3, 21, 11, 27, 29, tzinfo=UTC)
    assert (point["mag"], point["band"], point["facility"]) == (17.88, "r", "Sloan")
    assert point["mag_err"] == MISSING_ERROR == 0.3  # TNS has no error for it: kept with the stand-in error
    assert clean_lightcurve(frame).shape[0] == 1  # and the cleaning keeps it (it used to drop it)
    assert (point["survey_time"], point["time_system"], point["point_id"]) == ("1999-03-21 11:27:29", "UTC date", "")
    assert internal_survey_names(fixture_bytes(REAL)) == {}


def test_newer_answer_without_reply_wrapper():
    answer = json.loads(fixture_bytes(REAL))
    answer["data"] = answer["data"]["reply"]
    assert len(parse(json.dumps(answer).encode())) == 1


def test_constructed_answer_detections_limits_units():
    entries = json.loads(fixture_bytes(CONSTRUCTED))["data"]["reply"]["photometry"]
    magnitudes = [e for e in entries if e["flux_unit"]["name"].lower().endswith("mag")]
    frame = parse(fixture_bytes(CONSTRUCTED))
    assert len(frame) == len(magnitudes) == 5
    assert frame.attrs["skipped"] == {"flux unit mJy": 1}
    assert frame["mag"].notna().sum() == sum(e["flux"] is not None for e in magnitudes) == 4
    limit = frame[frame["mag"].isna()].iloc[0]
    assert (limit["limit"], limit["band"], limit["facility"]) == (19.1, "orange", "ATLAS1")
    assert frame.loc[frame["mag"].notna(), "limit"].isna().all()
    from_jd = frame[frame["mag"] == 18.9].iloc[0]
    assert from_jd["time"].to_pydatetime() == datetime(2021, 3, 7, 0, 0, tzinfo=UTC)
    assert from_jd["time_system"] == "JD UTC" and isinstance(from_jd["survey_time"], float)
    reported = {e["flux"]: e["fluxerr"] for e in magnitudes if e["flux"] is not None}
    for _, row in frame[frame["mag"].notna()].iterrows():  # the reporter's error where given, else 0.3
        assert row["mag_err"] == (reported[row["mag"]] if reported[row["mag"]] is not None else MISSING_ERROR)
    assert set(frame["band"]) == {"g", "r", "orange", "G"}


def test_internal_names_that_validate_become_survey_names():
    assert internal_survey_names(fixture_bytes(CONSTRUCTED)) == {
        "ZTF": "ZTF21aaaaaaa", "ATLAS": "ATLAS21bbb", "GAIA": "Gaia21ccc"}


def test_search_answers():
    assert parse_search(fixture_bytes("tns/CONSTRUCTED_tns_get_search_2021abc.json")) == ["2021abc"]
    assert parse_search(fixture_bytes("tns/CONSTRUCTED_tns_get_search_no_results.json")) == []


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty response"),
        (b"<html><head><title>429 Too Many Requests</title></head></html>", "HTML page"),
        (b'{"id_code": 401, "id_message": "Unauthorized"}', "TNS answered 401 Unauthorized"),
        (b'{"id_code": 200, "id_message": "OK", "data": {"reply": {"objname": {"110": '
         b'{"message": "No results found.", "message_id": 110}}}}}', "No results found"),
        (b'{"id_code": 200, "data": {"reply": {"objname": "20', "not JSON"),
    ],
)
def test_bad_answers_are_parse_errors(content, message):
    with pytest.raises(ParseError, match=message):
        parse(content)
