"""ATLAS forced photometry parser on real recorded result files; counts computed here with plain splitting."""
from __future__ import annotations

from datetime import UTC

import numpy as np
import pandas as pd
import pytest
from astropy.time import Time

from bhtom2.brokers.atlas import parse, throttle_seconds
from bhtom_base.errors import ParseError
from tests.conftest import fixture_bytes

JOB = "atlas/atlas_forcedphot_job211831_ASASSN-21qj.txt"
DOCSTRING = "atlas/atlas_forcedphot_skyportal_docstring_5rows.txt"


def table(relative: str) -> dict[str, np.ndarray]:
    lines = [line for line in fixture_bytes(relative).decode().splitlines() if line.strip()]
    names = lines[0].lstrip("#").split()
    rows = [line.split() for line in lines[1:]]
    assert all(len(row) == len(names) for row in rows)
    return {name: np.array([row[i] for row in rows]) for i, name in enumerate(names)}


def test_real_job_file_detections_limits_and_bands():
    raw = table(JOB)
    assert len(raw["MJD"]) == 1042
    flux, flux_err = raw["uJy"].astype(float), raw["duJy"].astype(float)
    mag5sig = raw["mag5sig"].astype(float)
    known = np.isin(raw["F"], ["c", "o"]) & (raw["err"].astype(int) == 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        significant = known & (flux / flux_err >= 5)
    detected = significant & (raw["m"].astype(float) > 0)
    limits = known & ~significant & (mag5sig > 0)
    frame = parse(fixture_bytes(JOB))

    assert len(frame) == detected.sum() + limits.sum()
    assert frame["mag"].notna().sum() == detected.sum() == 996
    assert frame["limit"].notna().sum() == limits.sum() == 22
    for band in ("c", "o"):
        in_band = frame["band"] == band
        assert frame.loc[in_band, "mag"].notna().sum() == (detected & (raw["F"] == band)).sum()
        assert frame.loc[in_band, "limit"].notna().sum() == (limits & (raw["F"] == band)).sum()
    # 4 g and 1 H rows are not ATLAS survey filters
    # 4 rows at S/N >= 5 are failed fits (1e11 uJy, m < 0); 15 faint rows have a mag5sig <= 0
    assert frame.attrs["skipped"] == {"unknown filter": 5, "implausible detection (m <= 0)": 4,
                                      "non-detection without a valid mag5sig": 15}
    assert set(frame["band"]) == {"c", "o"}
    # detections carry m and dm; non-detections carry mag5sig and no magnitude
    detections = frame[frame["mag"].notna()]
    assert np.allclose(np.sort(detections["mag"]), np.sort(raw["m"][detected].astype(float)))
    assert detections["limit"].isna().all() and frame.loc[frame["mag"].isna(), "mag_err"].isna().all()
    assert np.allclose(np.sort(frame["limit"].dropna()), np.sort(mag5sig[limits]))


def test_first_point_time_and_values():
    frame = parse(fixture_bytes(JOB)).sort_values("time")
    first = frame.iloc[0]
    expected = Time(58037.635279, format="mjd", scale="utc").datetime.replace(tzinfo=UTC)
    assert abs((first["time"] - pd.Timestamp(expected)).total_seconds()) < 1e-3
    assert (first["mag"], first["mag_err"], first["band"]) == (13.616, 0.003, "o")
    # 58043.620328: 21 +- 29 uJy, a non-detection -> the 5-sigma limit 18.76
    at = Time(58043.620328, format="mjd", scale="utc").datetime.replace(tzinfo=UTC)
    faint = frame[(frame["time"] - at).abs() < pd.Timedelta(seconds=1)]
    assert len(faint) == 1 and np.isnan(faint["mag"].iloc[0]) and faint["limit"].iloc[0] == 18.76


def test_negative_flux_rows_are_limits_not_negative_magnitudes():
    frame = parse(fixture_bytes(JOB))
    assert (frame["mag"].dropna() > 0).all()
    assert (frame["limit"].dropna() > 0).all()


def test_docstring_sample_five_cyan_detections():
    raw = table(DOCSTRING)
    frame = parse(fixture_bytes(DOCSTRING))
    assert len(frame) == len(raw["MJD"]) == 5
    assert list(frame["band"]) == ["c"] * 5
    assert list(frame["mag"]) == [float(v) for v in raw["m"]]
    assert list(frame["mag_err"]) == [float(v) for v in raw["dm"]]


def test_columns_are_found_by_header_name_not_position():
    lines = fixture_bytes(DOCSTRING).decode().splitlines()
    names = lines[0].lstrip("#").split()
    order = list(reversed(range(len(names))))
    shuffled = ["###" + " ".join(names[i] for i in order)]
    shuffled += [" ".join(line.split()[i] for i in order) for line in lines[1:]]
    frame = parse("\n".join(shuffled).encode())
    assert list(frame["mag"]) == list(parse(fixture_bytes(DOCSTRING))["mag"])


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty response"),
        (b"<!DOCTYPE html><html><head><title>Server Error (500)</title></head></html>", "HTML page"),
        (b"MJD m dm uJy\n1 2 3 4\n", "lacks columns"),
        (b'{"detail": "Invalid token."}', "no '###MJD"),
    ],
)
def test_bad_input_is_a_parse_error(content, message):
    with pytest.raises(ParseError, match=message):
        parse(content)


def test_truncated_result_counts_the_partial_row():
    content = fixture_bytes(DOCSTRING)
    frame = parse(content[: len(content) - 40])
    assert len(frame) == 4 and frame.attrs["skipped"] == {"unparseable row": 1}


def test_throttle_seconds_from_body_or_header():
    body = b'{"detail": "Request was throttled. Expected available in 17 seconds."}'
    assert throttle_seconds(body, {}) == 17
    assert throttle_seconds(b"{}", {"Retry-After": "3"}) == 3
    assert throttle_seconds(b"{}", {}) is None


def test_zero_flux_error_is_no_measurement():
    lines = fixture_bytes(DOCSTRING).decode().splitlines()
    fields = lines[1].split()
    fields[4] = "0"  # duJy
    frame = parse("\n".join([lines[0], " ".join(fields)]).encode())
    assert len(frame) == 1 and np.isnan(frame["mag"].iloc[0]) and frame["limit"].iloc[0] == 19.58
