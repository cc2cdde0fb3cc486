"""Gaia DR3/DR2 epoch photometry parser on the real recorded files; counts computed here with astropy directly."""
from __future__ import annotations

import math
import zipfile
from datetime import UTC

import astropy.units as u
import numpy as np
import pandas as pd
import pytest
from astropy.table import Table
from astropy.time import Time

from bhtom2.brokers.gaia_dr2 import GaiaDR2Broker
from bhtom2.brokers.gaia_dr3 import GaiaDR3Broker
from bhtom2.brokers.gaia_epoch import (
    MAG_ERROR_FLOOR,
    cone_query,
    match_separation,
    parse,
    parse_cone,
)
from bhtom_base.errors import NoSurveyName, ParseError
from bhtom_base.lightcurve import ParseContext, clean_lightcurve
from tests.conftest import FIXTURES, fixture_bytes

WIDE = "gaia_dr3/dr3_epoch_photometry_gaia4.vot"
WIDE_ZIP = "gaia_dr3/epoch_photometry_dr3_1457486023639239296.zip"
LONG = "gaia_dr3/gaia_dr3_epoch_photometry_old_format_5813181197970338560_pyvo_mivot_viewer.xml"
NO_EPOCH_ZIP = "gaia_dr3/gaia_dr3_source_id_5937083312263887616_dl_products_vot.zip"
GAIA_SOURCE = "gaia_dr3/gaia_dr3_source_2ids_1710099405832VAL-result.vot"
GAIA4 = "1457486023639239296"


def expected_wide() -> dict[str, pd.DataFrame]:
    """Per band, the points an astronomer keeps: not rejected, with a time, a magnitude and flux/error > 0."""
    table = Table.read(FIXTURES / WIDE, format="votable", use_names_over_ids=True)
    photometry = np.asarray(table["rejected_by_photometry"].filled(False), dtype=bool)
    columns = {"G": ("g_transit_time", "g_transit_mag", "g_transit_flux_over_error", "g"),
               "BP": ("bp_obs_time", "bp_mag", "bp_flux_over_error", "bp"),
               "RP": ("rp_obs_time", "rp_mag", "rp_flux_over_error", "rp")}
    result = {}
    for band, (t, m, f, flag) in columns.items():
        time = np.ma.filled(table[t].astype(float), np.nan)
        mag = np.ma.filled(table[m].astype(float), np.nan)
        foe = np.ma.filled(table[f].astype(float), np.nan)
        rejected = np.asarray(table[f"variability_flag_{flag}_reject"].filled(False), dtype=bool) | photometry
        keep = ~rejected & np.isfinite(time) & np.isfinite(mag) & (foe > 0)
        result[band] = pd.DataFrame({"time": time[keep], "mag": mag[keep], "foe": foe[keep]})
    return result


def astropy_utc(gaia_time) -> pd.DatetimeIndex:
    """The reference conversion: one float JD in TCB, straight through astropy."""
    utc = Time(np.asarray(gaia_time) + 2455197.5, format="jd", scale="tcb").utc
    return pd.to_datetime(utc.to_value("datetime64"), utc=True)


def test_wide_format_counts_times_and_errors_per_band():
    frame = parse(fixture_bytes(WIDE))
    expected = expected_wide()
    counts = frame.groupby("band").size().to_dict()
    assert counts == {band: len(points) for band, points in expected.items()}
    assert counts == {"G": 60, "BP": 62, "RP": 60}  # 65 transits; 5, 3 and 5 rejected by variability
    assert frame.attrs["skipped"] == {"rejected by variability": 13}
    for band, points in expected.items():
        got = frame[frame["band"] == band].reset_index(drop=True)
        offsets = (got["time"] - astropy_utc(points["time"])).dt.total_seconds().abs()
        assert offsets.max() < 1e-3
        np.testing.assert_allclose(got["mag"], points["mag"])
        statistical = 2.5 / math.log(10) / points["foe"]
        np.testing.assert_allclose(got["mag_err"], np.hypot(statistical, MAG_ERROR_FLOOR[band]), rtol=1e-6)
    # TCB runs ahead of UTC by about 86 s in 2014-2017.
    first = frame.sort_values("time").iloc[0]
    assert first["time"].year == 2014
    assert set(frame["observer"]) == {""} and frame["limit"].isna().all()


def test_zip_from_the_archive_parses_like_the_bare_votable():
    bare = parse(fixture_bytes(WIDE))
    zipped = parse(fixture_bytes(WIDE_ZIP), ParseContext(survey_name=GAIA4))
    pd.testing.assert_frame_equal(bare, zipped)
    with zipfile.ZipFile(FIXTURES / WIDE_ZIP) as archive:  # the wrapper holds the real file byte for byte
        assert archive.read(f"EPOCH_PHOTOMETRY-Gaia DR3 {GAIA4}.xml") == fixture_bytes(WIDE)


def test_long_format_counts_and_times():
    table = Table.read(FIXTURES / LONG, format="votable", table_id="Results", use_names_over_ids=True)
    frame = parse(fixture_bytes(LONG), ParseContext(survey_name="5813181197970338560"))
    assert len(table) == 3 and len(frame) == 3 and set(frame["band"]) == {"G"}
    offsets = (frame["time"] - astropy_utc(np.asarray(table["time"], dtype=float))).dt.total_seconds().abs()
    assert offsets.max() < 1e-3
    expected_first = Time(2455197.5 + 1705.9437360200984, format="jd", scale="tcb").utc.datetime
    assert abs((frame["time"].iloc[0] - pd.Timestamp(expected_first.replace(tzinfo=UTC))).total_seconds()) < 1e-3
    assert str(frame["time"].iloc[0])[:19] == "2014-09-02 22:37:33"
    np.testing.assert_allclose(frame["mag"], [15.216574774452164, 14.767336693604877, 15.278342999137502],
                               rtol=1e-6)
    np.testing.assert_allclose(frame["mag_err"].iloc[0], math.hypot(1.0857362 / 349.76254, 0.002), rtol=1e-6)


def test_long_format_rejections_are_left_out_and_counted():
    # Variant derived from the real file: the first point rejected by photometry, the second by variability.
    text = fixture_bytes(LONG).decode()
    first = "<TD>349.76254</TD>\n    <TD>F</TD>\n    <TD>F</TD>"
    second = "<TD>696.584</TD>\n    <TD>F</TD>\n    <TD>F</TD>"
    assert first in text and second in text
    text = text.replace(first, "<TD>349.76254</TD>\n    <TD>T</TD>\n    <TD>F</TD>")
    text = text.replace(second, "<TD>696.584</TD>\n    <TD>F</TD>\n    <TD>T</TD>")
    frame = parse(text.encode())
    assert len(frame) == 1 and frame["mag"].iloc[0] == pytest.approx(15.278342999137502)
    assert frame.attrs["skipped"] == {"rejected by photometry": 1, "rejected by variability": 1}


def test_a_file_of_another_source_is_refused():
    with pytest.raises(ParseError, match="not of the requested 123"):
        parse(fixture_bytes(LONG), ParseContext(survey_name="123"))
    with pytest.raises(ParseError, match="not of the requested 42"):
        parse(fixture_bytes(WIDE), ParseContext(survey_name="42"))


def test_zip_without_epoch_photometry_is_a_clear_error():
    with pytest.raises(ParseError, match="holds no EPOCH_PHOTOMETRY file for source_id 5937083312263887616") as error:
        parse(fixture_bytes(NO_EPOCH_ZIP), ParseContext(survey_name="5937083312263887616"))
    assert "XP_SAMPLED-Gaia DR3 5937083312263887616.xml" in str(error.value)


def test_votable_with_unexpected_columns_is_a_clear_error():
    with pytest.raises(ParseError, match="unexpected columns .* found .*source_id"):
        parse(fixture_bytes(GAIA_SOURCE))


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty response"),
        (b"<!DOCTYPE html><html><head><title>Error</title></head></html>", "HTML page"),
        (b"this is not xml", "not a readable VOTable"),
        (b"PK\x03\x04garbage", "unreadable zip"),
    ],
)
def test_bad_input_is_a_parse_error(content, message):
    with pytest.raises(ParseError, match=message):
        parse(content)


def test_unreadable_values_are_counted_not_raised():
    text = fixture_bytes(LONG).decode()
    for old, new, reason in (("1705.9437360200984", "not-a-time", "no time"),
                             ("1705.9437360200984", "1e30", "time out of range"),
                             ("15.216574774452164", "NaN", "no magnitude"),
                             ("349.76254", "-3", "no flux_over_error")):
        frame = parse(text.replace(old, new, 1).encode())
        assert len(frame) == 2 and frame.attrs["skipped"] == {reason: 1}


def test_archive_error_document_is_a_parse_error():
    error = (b'<?xml version="1.0"?><VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">'
             b'<RESOURCE type="results"><INFO name="QUERY_STATUS" value="ERROR">Invalid ID</INFO>'
             b'</RESOURCE></VOTABLE>')
    with pytest.raises(ParseError, match="Gaia archive error: Invalid ID"):
        parse(error)


def test_truncated_votable_is_a_parse_error():
    with pytest.raises(ParseError, match="not a readable VOTable"):
        parse(fixture_bytes(WIDE)[:5000])


def test_cleaning_keeps_every_parsed_point():
    frame = parse(fixture_bytes(WIDE))
    cleaned = clean_lightcurve(frame)
    assert len(cleaned) == len(frame) == 182
    assert cleaned["time"].is_monotonic_increasing


def test_real_cone_result_is_read():
    table = Table.read(FIXTURES / GAIA_SOURCE, format="votable", use_names_over_ids=True)
    cone = parse_cone(fixture_bytes(GAIA_SOURCE))
    assert cone["source_id"].tolist() == [str(v) for v in table["source_id"]]
    np.testing.assert_allclose(cone["ra"], np.asarray(table["ra"], dtype=float))
    np.testing.assert_allclose(cone["pmdec"], np.asarray(table["pmdec"], dtype=float))
    assert (cone["ref_epoch"] == 2016.0).all()


def test_empty_cone_and_tap_error():
    assert len(parse_cone(fixture_bytes("gaia_dr3/cone_dr3_empty.vot"))) == 0
    error = (b'<?xml version="1.0"?><VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">'
             b'<RESOURCE type="results"><INFO name="QUERY_STATUS" value="ERROR">Cannot parse query</INFO>'
             b'</RESOURCE></VOTABLE>')
    with pytest.raises(ParseError, match="cone search: Gaia archive error: Cannot parse query"):
        parse_cone(error)


def test_cone_query_is_built_only_from_valid_numbers():
    adql = cone_query("gaiadr3.gaia_source", 210.0, -35.5, 1 * u.arcsec)
    assert "CIRCLE('ICRS', 210.000000000, -35.500000000, 0.000277778)" in adql
    assert "FROM gaiadr3.gaia_source" in adql
    for ra, dec in ((float("nan"), 0.0), (400.0, 0.0), (10.0, -91.0), (float("inf"), 1.0)):
        with pytest.raises(NoSurveyName):
            cone_query("gaiadr3.gaia_source", ra, dec, 1 * u.arcsec)
    with pytest.raises(ValueError):
        cone_query("gaiadr3.gaia_source; DROP", 1.0, 1.0, 1 * u.arcsec)


def test_proper_motion_between_the_gaia_and_the_target_epoch():
    # A star moving 500 mas/yr north: 8 arcsec between J2000 and J2016.
    candidates = pd.DataFrame({"source_id": ["1", "2"], "ra": [100.0, 100.0], "dec": [20.0 + 8 / 3600, 20.0],
                               "ref_epoch": [2016.0, 2016.0], "pmra": [0.0, np.nan], "pmdec": [500.0, np.nan]})
    # target coordinates at J2000: the fast star is where the target is; the other one is 0 arcsec too
    separation = match_separation(candidates, 100.0, 20.0, 2000.0, 2016.0)
    assert separation[0] == pytest.approx(0.0, abs=1e-6) and separation[1] == pytest.approx(0.0, abs=1e-6)
    # target coordinates at J2016 (epoch mislabelled 2000 is also fine): the catalogue position matches
    separation = match_separation(candidates, 100.0, 20.0 + 8 / 3600, 2000.0, 2016.0)
    assert separation[0] == pytest.approx(0.0, abs=1e-6) and separation[1] == pytest.approx(8.0, rel=1e-6)


def test_bands_and_cadence_of_both_releases():
    dr3, dr2 = GaiaDR3Broker(), GaiaDR2Broker()
    assert dr3.filters == ["G(Gaia DR3)", "BP(Gaia DR3)", "RP(Gaia DR3)"]
    assert dr2.filters == ["G(Gaia DR2)", "BP(Gaia DR2)", "RP(Gaia DR2)"]
    assert dr3.update_cadence is None and dr2.update_cadence is None
    assert dr3.facility == dr2.facility == "Gaia" and dr3.observer == "Gaia"
    assert dr3.cross_match_max_separation == 1 * u.arcsec
    assert (dr3.release.source_table, dr2.release.source_table) == ("gaiadr3.gaia_source", "gaiadr2.gaia_source")
