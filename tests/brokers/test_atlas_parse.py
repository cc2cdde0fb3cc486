"""ATLAS forced photometry parser on real recorded result files; counts computed here with plain splitting."""
from __future__ import annotations

from datetime import UTC
from pathlib import Path

import astropy.units as u
import numpy as np
import pandas as pd
import pytest
from astropy.time import Time

from bhtom2.brokers.atlas import parse, throttle_seconds
from bhtom2.brokers.atlas_photometry import uses_reduced_images
from bhtom_base.errors import ParseError
from bhtom_base.lightcurve import Brightness, ParseContext
from tests.conftest import fixture_bytes

JOB = "atlas/atlas_forcedphot_job211831_ASASSN-21qj.txt"
DOCSTRING = "atlas/atlas_forcedphot_skyportal_docstring_5rows.txt"


def table(relative: str) -> dict[str, np.ndarray]:
    lines = [line for line in fixture_bytes(relative).decode().splitlines() if line.strip()]
    names = lines[0].lstrip("#").split()
    rows = [line.split() for line in lines[1:]]
    assert all(len(row) == len(names) for row in rows)
    return {name: np.array([row[i] for row in rows]) for i, name in enumerate(names)}


def faq_good(raw: dict[str, np.ndarray]) -> np.ndarray:
    """The ATLAS FAQ's "common sense filters", written out here from the FAQ's own text."""
    f = {name: raw[name].astype(float) for name in ("duJy", "x", "y", "maj", "min", "apfit", "mag5sig", "Sky")}
    return ((f["duJy"] < 10000) & (raw["err"].astype(int) == 0)
            & (f["x"] > 100) & (f["x"] < 10460) & (f["y"] > 100) & (f["y"] < 10460)
            & (f["maj"] < 5) & (f["maj"] > 1.6) & (f["min"] < 5) & (f["min"] > 1.6)
            & (f["apfit"] > -1) & (f["apfit"] < -0.1) & (f["mag5sig"] > 17) & (f["Sky"] > 17))


def at(frame: pd.DataFrame, mjd_start: float) -> pd.DataFrame:
    """The rows stored for the 30 s exposure that started at ``mjd_start`` (at its start or middle)."""
    start = Time(mjd_start, format="mjd", scale="utc").datetime.replace(tzinfo=UTC)
    offset = (frame["time"] - pd.Timestamp(start)).dt.total_seconds()
    return frame[(offset > -0.001) & (offset < 30)]


def test_star_on_reduced_images_keeps_only_rows_passing_the_documented_cuts():
    """Issue #18 finding 2: ASASSN-21qj (a 13.5 mag star) measured on reduced images."""
    raw = table(JOB)
    assert len(raw["MJD"]) == 1042
    flux, flux_err = raw["uJy"].astype(float), raw["duJy"].astype(float)
    known = np.isin(raw["F"], ["c", "o"])
    with np.errstate(divide="ignore", invalid="ignore"):
        significant = known & (raw["err"].astype(int) == 0) & (flux / flux_err >= 5) & (raw["m"].astype(float) > 0)
    # what the old parser stored as detections: 996, of which 87 fail the FAQ's cuts
    assert significant.sum() == 996 and (significant & ~faq_good(raw)).sum() == 87
    frame = parse(fixture_bytes(JOB))
    detections = frame[frame["mag"].notna()]
    assert len(detections) == (significant & faq_good(raw)).sum() == 909
    assert sorted(detections["point_id"]) == sorted(raw["Obs"][significant & faq_good(raw)])
    # no row of this star is a limit: each S/N < 5 row fails a documented cut or its PSF fit
    assert frame["limit"].isna().all()
    assert sum(frame.attrs["skipped"].values()) == 1042 - 909
    assert frame.attrs["skipped"]["unknown filter"] == 5  # 4 g and 1 H rows
    assert frame.attrs["skipped"]["nothing measured (flux 0, error 0)"] == 1
    assert set(frame["band"]) == {"c", "o"} and (frame["mag"] > 0).all()


def test_stored_magnitudes_are_the_measured_total_flux_in_ab_magnitudes():
    """Independent of ATLAS's own m: astropy's AB magnitude of uJy (rounded to 1 uJy in the file)."""
    raw = table(JOB)
    frame = parse(fixture_bytes(JOB)).set_index("point_id")
    flux = dict(zip(raw["Obs"], raw["uJy"].astype(float), strict=True))
    flux_err = dict(zip(raw["Obs"], raw["duJy"].astype(float), strict=True))
    detections = frame[frame["mag"].notna()]
    uJy = np.array([flux[obs] for obs in detections.index])
    ab = (uJy * u.uJy).to_value(u.ABmag)
    rounding = 2.5 / np.log(10) * 0.5 / uJy + 0.0005
    assert np.all(np.abs(detections["mag"].to_numpy() - ab) <= rounding)
    # the star: 13.4-13.8 mag out of its dimming (as ASAS-SN V); a difference flux would be near zero
    assert 13.3 < np.median(detections["mag"]) < 14.0
    # errors: the magnitude error of the flux error (1.0857 duJy/uJy); ATLAS's dm is duJy/uJy, 8 % smaller
    duJy = np.array([flux_err[obs] for obs in detections.index])
    dm = dict(zip(raw["Obs"], raw["dm"].astype(float), strict=True))
    atlas_dm = np.array([dm[obs] for obs in detections.index])
    from_flux = 2.5 / np.log(10) * duJy / uJy
    assert np.allclose(detections["mag_err"], np.maximum(atlas_dm, from_flux))
    assert (from_flux > atlas_dm).sum() == 807  # of 909: dm is the smaller error in most rows


@pytest.mark.parametrize("mjd_start, what", [
    (58043.620328, "21 +- 29 uJy at x = 47 (chip edge): was the limit 18.76"),
    (58109.489225, "-490 +- 14 uJy, chi/N 142: was the limit 19.15"),
    (58109.490139, "45 +- 15 uJy, chi/N 162: was the limit 19.04"),
    (58181.374471, "flux 0, error 0 (nothing measured): was the limit 14.73"),
])
def test_impossible_limits_of_a_star_are_not_stored(mjd_start, what):
    frame = parse(fixture_bytes(JOB))
    assert len(at(frame, 58043.635532)) == 1  # the next exposure, a good one, is found this way
    assert at(frame, mjd_start).empty, what


def test_time_is_mid_exposure_utc_and_the_row_is_traceable():
    frame = parse(fixture_bytes(JOB))
    first = frame.sort_values("time").iloc[0]
    # ATLAS MJD is the start of a 30 s exposure (output description); astropy adds the 15 s
    expected = (Time(58037.635279, format="mjd", scale="utc") + 15 * u.s).datetime.replace(tzinfo=UTC)
    assert abs((first["time"] - pd.Timestamp(expected)).total_seconds()) < 1e-5
    assert (first["mag"], first["band"]) == (13.616, "o")
    assert first["mag_err"] == pytest.approx(2.5 / np.log(10) * 44 / 12984)  # dm 0.003 is duJy/uJy
    assert (first["point_id"], first["survey_time"]) == ("02a58037o0713o", "58037.635279")
    assert first["time_system"] == "MJD UTC (start of the 30 s exposure)"


def test_difference_images_of_a_transient_give_true_limits_and_drop_negative_flux():
    lines = fixture_bytes(DOCSTRING).decode().splitlines()
    negative, faint = lines[1].split(), lines[2].split()
    faint[3], faint[4] = "40", "15"  # uJy, duJy: S/N 2.7 (chi/N 7.87) -> below the 5-sigma limit
    negative[3], negative[4] = "-400", "20"  # S/N -20: no flux of a transient
    content = "\n".join([lines[0], " ".join(negative), " ".join(faint), *lines[3:]]).encode()
    frame = parse(content, ParseContext(brightness=Brightness.DIFFERENCE))
    assert frame["mag"].notna().sum() == 3
    limits = frame[frame["limit"].notna()]
    assert list(limits["limit"]) == [19.28] and list(limits["point_id"]) == ["02a59228o0102c"]
    assert frame.attrs["skipped"] == {"significant negative difference flux (no flux of a transient)": 1}


def test_reduced_or_difference_images_follow_the_brightness_choice():
    assert uses_reduced_images(Brightness.AUTO) and uses_reduced_images(Brightness.TOTAL)
    assert not uses_reduced_images(Brightness.DIFFERENCE)


def test_docstring_sample_five_cyan_detections():
    raw = table(DOCSTRING)
    frame = parse(fixture_bytes(DOCSTRING))
    assert len(frame) == len(raw["MJD"]) == 5
    assert list(frame["band"]) == ["c"] * 5
    assert list(frame["mag"]) == [float(v) for v in raw["m"]]
    from_flux = 2.5 / np.log(10) * raw["duJy"].astype(float) / raw["uJy"].astype(float)
    assert np.allclose(frame["mag_err"], np.maximum(raw["dm"].astype(float), from_flux))


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
    assert throttle_seconds(b'{"detail": "Request was throttled. Expected available in 2 minutes."}', {}) == 120
    assert throttle_seconds(b"{}", {"Retry-After": "3"}) == 3
    assert throttle_seconds(b"{}", {}) is None


def test_zero_flux_error_is_no_measurement():
    lines = fixture_bytes(DOCSTRING).decode().splitlines()
    fields = lines[1].split()
    fields[4] = "0"  # duJy
    frame = parse("\n".join([lines[0], " ".join(fields)]).encode())
    assert len(frame) == 0 and frame.attrs["skipped"] == {"no flux error": 1}


def test_docs_surveys_section_states_images_cuts_limits_and_time():
    text = (Path(__file__).resolve().parents[2] / "docs" / "surveys.md").read_text()
    section = text.split("## ATLAS (`ATLAS`)", 1)[1].split("\n## ", 1)[0]
    for word in ("use_reduced", "bhtom_brightness", "mag5sig", "chi/N > 10", "apfit", "start* of the 30 s",
                 "MJD + 15 s", "`Obs`", "faq"):
        assert word in section, word
