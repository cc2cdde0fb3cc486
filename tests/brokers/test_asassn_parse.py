"""ASAS-SN Sky Patrol parser on the real recorded v1 CSV exports."""
from __future__ import annotations

import csv
import io

import astropy.units as u
import numpy as np
import pandas as pd
import pytest
from astropy.coordinates import EarthLocation, SkyCoord
from astropy.time import Time

from bhtom2.brokers.asassn import parse
from bhtom_base.errors import ParseError
from bhtom_base.lightcurve import ParseContext
from tests.conftest import fixture_bytes

FILES = {
    "asassn_skypatrol_v1_ASASSN-21qj_light_curve_c4765b75.csv": SkyCoord("08h15m23.41s", "-38d59m23.4s"),
    "asassn_skypatrol_v1_J060000_light_curve_03ce0bc8.csv": SkyCoord("06h00m00.76s", "-31d00m27.8s"),
}


def rows(name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(fixture_bytes(f"asassn/{name}").decode())))


def ut_date(text: str) -> pd.Timestamp:
    day, fraction = text.split(".")
    return pd.Timestamp(day, tz="UTC") + pd.Timedelta(days=float("0." + fraction))


@pytest.mark.parametrize("name", FILES)
def test_points_limits_and_bands(name):
    records = rows(name)
    limits = [r for r in records if r["mag"].startswith(">")]
    empty = [r for r in records if r["mag_err"] == "99.990" and not r["mag"].startswith(">")]
    detections = [r for r in records if r not in limits and r not in empty]
    frame = parse(fixture_bytes(f"asassn/{name}"))
    assert len(frame) == len(limits) + len(detections)
    assert frame.attrs["skipped"] == {"no limit": len(empty)}
    assert sorted(frame["limit"].dropna()) == sorted(float(r["mag"][1:]) for r in limits)
    assert frame["mag"].dropna().tolist() == [float(r["mag"]) for r in detections]
    assert frame["mag_err"].dropna().tolist() == [float(r["mag_err"]) for r in detections]
    kept = [r for r in records if r not in empty]
    assert frame["band"].tolist() == [r["Filter"] for r in kept]
    assert frame["facility"].tolist() == ["ASAS-SN " + r["Camera"] for r in kept]
    times = [ut_date(r["UT Date"]) for r in kept]
    assert (abs(frame["time"] - pd.Series(times)) < pd.Timedelta("1us")).all()


def test_known_counts_from_provenance():
    frame = parse(fixture_bytes("asassn/asassn_skypatrol_v1_ASASSN-21qj_light_curve_c4765b75.csv"))
    assert len(frame) == 2776 - 58 and int(frame["limit"].notna().sum()) == 3
    assert frame["band"].value_counts().to_dict() == {"g": 1919, "V": 799}


@pytest.mark.parametrize("name", FILES)
def test_ut_date_is_hjd_without_the_heliocentric_correction(name):
    """The reason the v1 parser can use the UT Date as is."""
    kept = [r for r in rows(name) if r["Limit"] != "99.990"]
    ut = Time([ut_date(r["UT Date"]).to_pydatetime() for r in kept], scale="utc")
    hjd = np.array([float(r["HJD"]) for r in kept])
    geocentre = EarthLocation.from_geocentric(0, 0, 0, unit=u.m)
    ltt = ut.light_travel_time(FILES[name], kind="heliocentric", location=geocentre).to_value(u.s)
    assert np.abs((hjd - ut.jd) * 86400 - ltt).max() < 1.5
    assert np.abs(ltt).max() > 250  # the correction itself is minutes, so the test can tell


def v2_from_v1(name: str, quality: str = "G") -> bytes:
    """A v2-layout export built from a recorded v1 file (JD = its HJD), with v2's comment lines."""
    out = ["# ASAS-SN Sky Patrol v2 export (derived for the test)", "", "JD,Flux,Flux Error,Mag,Mag Error,Limit,FWHM,"
           "Filter,Quality"]
    for r in rows(name):
        out.append(",".join([r["HJD"], r["flux(mJy)"], r["flux_err"], r["mag"].lstrip(">"), r["mag_err"], r["Limit"],
                             r["FWHM"], r["Filter"], quality]))
    return "\n".join(out).encode()


@pytest.mark.parametrize("name", FILES)
def test_v2_hjd_is_made_geocentric_with_the_coordinates(name):
    star = FILES[name]
    v1 = parse(fixture_bytes(f"asassn/{name}"))
    v2 = parse(v2_from_v1(name), ParseContext(ra=star.ra.deg, dec=star.dec.deg))
    assert len(v2) == len(v1)
    assert np.allclose(v2["limit"], v1["limit"], equal_nan=True) and np.allclose(v2["mag"], v1["mag"], equal_nan=True)
    assert (abs(v2["time"] - v1["time"]) < pd.Timedelta("1.5s")).all()
    uncorrected = parse(v2_from_v1(name))
    assert (abs(uncorrected["time"] - v1["time"]) > pd.Timedelta("200s")).any()


def test_v2_bad_quality_rows_are_left_out():
    name = "asassn_skypatrol_v1_J060000_light_curve_03ce0bc8.csv"
    frame = parse(v2_from_v1(name, quality="B"))
    assert len(frame) == 0 and frame.attrs["skipped"] == {"bad quality": 86}


def test_header_only_is_an_empty_lightcurve():
    frame = parse(fixture_bytes("asassn/derived_empty_header_only.csv"))
    assert len(frame) == 0 and frame.attrs["skipped"] == {}


@pytest.mark.parametrize(
    "content, message",
    [
        (b"<!DOCTYPE html><html><head><title>Sky Patrol</title></head></html>", "HTML page"),
        (b"", "empty"),
        (b"# only comments\n\n", "no header"),
        (b"ra,dec\n1,2\n", "no \\['jd', 'mag', 'mag_err'\\] column"),
    ],
)
def test_bad_answers_are_parse_errors(content, message):
    with pytest.raises(ParseError, match=message):
        parse(content)
