"""OGLE EWS and KMTNet parsers on real recorded files; counts computed independently with numpy."""
from __future__ import annotations

import io
import tarfile

import astropy.units as u
import numpy as np
import pandas as pd
import pytest
from astropy.coordinates import EarthLocation, SkyCoord
from astropy.time import Time

from bhtom2.brokers import kmtnet, ogle_ews
from bhtom2.brokers.heliocentric import full_jd, heliocentric_delay, hjd_to_utc
from bhtom_base.errors import FetchError, ParseError
from bhtom_base.lightcurve import COLUMNS, TRACE_COLUMNS, ParseContext
from bhtom_base.replay import HTML_ERROR_PAGE
from tests.conftest import FIXTURES, fixture_bytes
from tests.replay_kmtnet import pysis_archive_bytes

# A direction towards the Galactic bulge (the events' exact coordinates are not in the recorded files).
RA, DEC = 268.23354, -29.63647


def columns(relative: str) -> np.ndarray:
    """Every uncommented data row of a whitespace table, read with numpy (nan for 'nan')."""
    return np.atleast_2d(np.loadtxt(FIXTURES / relative, comments="#", dtype=float))


def heliocentric_jd(times: pd.Series, ra: float, dec: float) -> np.ndarray:
    """Independent check of the definition: HJD = UTC instant + light travel time to the Sun's centre."""
    t = Time(times.dt.tz_localize(None).to_numpy(), scale="utc",
             location=EarthLocation.from_geocentric(0, 0, 0, unit=u.m))
    return (t + t.light_travel_time(SkyCoord(ra * u.deg, dec * u.deg), kind="heliocentric")).utc.jd


# -- OGLE EWS -------------------------------------------------------------------

@pytest.mark.parametrize("name", ["OGLE-2014-BLG-0939_phot.dat", "omriatir_phot.dat"])
def test_every_row_of_a_real_phot_dat_is_a_point(name):
    table = columns(f"ogle_ews/{name}")
    assert table.shape[1] == 5
    good = table[:, 2] <= 9
    frame = ogle_ews.parse(fixture_bytes(f"ogle_ews/{name}"))
    assert len(frame) == good.sum()
    assert frame["mag"].to_numpy() == pytest.approx(table[good, 1])
    assert frame["mag_err"].to_numpy() == pytest.approx(table[good, 2])
    assert set(frame["band"]) == {"I"}


def test_known_counts_and_span_of_ogle_2014_blg_0939():
    frame = ogle_ews.parse(fixture_bytes("ogle_ews/OGLE-2014-BLG-0939_phot.dat"))
    assert len(frame) == 485 and frame.attrs["skipped"] == {}
    assert frame["time"].min().year == 2010 and frame["time"].max().year == 2014
    assert frame["mag"].min() < 15.0 < frame["mag"].max()


def test_ogle_times_are_hjd_with_the_heliocentric_correction_removed():
    table = columns("ogle_ews/OGLE-2014-BLG-0939_phot.dat")
    frame = ogle_ews.parse(fixture_bytes("ogle_ews/OGLE-2014-BLG-0939_phot.dat"), ParseContext(ra=RA, dec=DEC))
    parsed_jd = Time(frame["time"].dt.tz_localize(None).to_numpy(), scale="utc").jd
    assert np.abs(heliocentric_jd(frame["time"], RA, DEC) - table[:, 0]).max() * 86400 < 0.002
    shift = (table[:, 0] - parsed_jd) * 86400
    # the correction changes sign through the observing season and never exceeds the light time of 1.017 au
    assert shift.min() < -200 and shift.max() > 200 and np.abs(shift).max() < 508  # 1.017 au / c
    # without coordinates the HJD is taken as the instant
    plain = ogle_ews.parse(fixture_bytes("ogle_ews/OGLE-2014-BLG-0939_phot.dat"))
    plain_jd = Time(plain["time"].dt.tz_localize(None).to_numpy(), scale="utc").jd
    assert np.abs(plain_jd - table[:, 0]).max() * 86400 < 0.01


def test_error_above_nine_means_no_measurement():
    lines = fixture_bytes("ogle_ews/OGLE-2014-BLG-0939_phot.dat").decode().splitlines()
    lines[3] = "2455275.90692 99.999 9.999 5.42 386.0"
    lines[4] = "not a row"
    frame = ogle_ews.parse("\n".join(lines).encode())
    assert len(frame) == 483
    assert frame.attrs["skipped"] == {"error > 9 (no measurement)": 1, "unparseable row": 1}


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty"),
        (HTML_ERROR_PAGE, "HTML page (503 Service Temporarily Unavailable)"),
        (b"2455265.84145 15.398\n", "fewer than three columns"),
        (b"Event Field StarNo\nfoo bar baz\n", "no row of numbers"),
    ],
)
def test_bad_phot_dat_is_a_clear_parse_error(content, message):
    with pytest.raises(ParseError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ogle_ews.parse(content)


def test_lenses_par_excerpt():
    events = ogle_ews.parse_lenses_par(fixture_bytes("ogle_ews/lenses_2019_excerpt.par"))
    assert events["name"].tolist() == ["OGLE-2019-BLG-0001", "OGLE-2019-BLG-0161"]
    first = SkyCoord("17:53:50.46 -29:08:57.9", unit=(u.hourangle, u.deg))
    assert events["ra"].iloc[0] == pytest.approx(first.ra.deg, abs=1e-9)
    assert events["dec"].iloc[0] == pytest.approx(first.dec.deg, abs=1e-9)
    with pytest.raises(ParseError, match="no 'Event Field StarNo"):
        ogle_ews.parse_lenses_par(b"2019-BLG-0001 BLG500.01 179275 17:53:50.46 -29:08:57.9\n")


def test_phot_path_is_built_from_a_validated_name():
    assert ogle_ews.phot_path("ogle-2014-blg-0939") == "/ogle/ogle4/ews/2014/blg-0939/phot.dat"
    assert ogle_ews.phot_path("OGLE-2015-GD-0002") == "/ogle/ogle4/ews/2015/gd-0002/phot.dat"
    with pytest.raises(Exception, match="not a valid OGLE EWS event"):
        ogle_ews.phot_path("OGLE-2014-BLG-0939/../../etc")


# -- KMTNet ----------------------------------------------------------------------

PYSIS = ["KMTA12", "KMTA14", "KMTC12", "KMTC14", "KMTS12", "KMTS14"]


@pytest.mark.parametrize("name", PYSIS)
def test_every_real_pysis_file_parses_with_the_error_cut(name):
    table = columns(f"kmtnet/KB180003/{name}_I.pysis")
    good = table[:, 4] < 1
    frame = kmtnet.parse_pysis(fixture_bytes(f"kmtnet/KB180003/{name}_I.pysis"), site=name[3], band="I")
    assert len(frame) == good.sum()
    assert frame["mag"].to_numpy() == pytest.approx(table[good, 3])
    assert frame["mag_err"].to_numpy() == pytest.approx(table[good, 4])
    assert set(frame["facility"]) == {name[:4]} and set(frame["band"]) == {"I"}
    assert frame.attrs["skipped"].get("mag_err >= 1", 0) == (~good).sum()


def test_pysis_times_are_hjd_minus_2450000():
    table = columns("kmtnet/KB180003/KMTC12_I.pysis")
    frame = kmtnet.parse_pysis(fixture_bytes("kmtnet/KB180003/KMTC12_I.pysis"), site="C", band="I", ra=RA, dec=DEC)
    good = table[:, 4] < 1
    assert np.abs(heliocentric_jd(frame["time"], RA, DEC) - (table[good, 0] + 2450000)).max() * 86400 < 0.002
    assert frame["time"].iloc[0].year == 2018


def test_eight_column_pysis_with_full_hjd_and_fwhm_cut():
    frame = kmtnet.parse_pysis(fixture_bytes("kmtnet/pysis_8col_excerpt.pysis"), site="S", band="I")
    assert len(frame) == 1 and frame.attrs["skipped"] == {"fwhm outside (0, 10) px": 1}
    assert frame["mag"].iloc[0] == 17.0391 and frame["facility"].iloc[0] == "KMTS"
    jd = Time(frame["time"].dt.tz_localize(None).to_numpy(), scale="utc").jd
    assert abs(jd[0] - 2460728.23437) * 86400 < 0.01


def test_full_jd_reads_every_shorthand():
    assert full_jd(np.array([8172.5, 60727.2, 2460727.2])) == pytest.approx([2458172.5, 2460727.2, 2460727.2])
    assert len(hjd_to_utc(np.array([]), RA, DEC)) == 0


def test_the_archive_keeps_every_site_and_field():
    frame = kmtnet.parse(pysis_archive_bytes(), ParseContext(ra=RA, dec=DEC))
    expected = {name[:4]: 0 for name in PYSIS}
    for name in PYSIS:
        expected[name[:4]] += int((columns(f"kmtnet/KB180003/{name}_I.pysis")[:, 4] < 1).sum())
    assert frame["facility"].value_counts().to_dict() == expected
    assert len(frame) == sum(expected.values()) == 699
    assert frame.attrs["skipped"] == {"mag_err >= 1": 3}


def test_archive_with_v_band_and_other_members():
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for member, data in [("KMTC12_V.pysis", fixture_bytes("kmtnet/KB180003/KMTS12_I.pysis")),
                             ("README", b"not photometry"),
                             ("sub/KMTA14_I.pysis", fixture_bytes("kmtnet/KB180003/KMTA14_I.pysis"))]:
            info = tarfile.TarInfo(member)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    frame = kmtnet.parse(buffer.getvalue())
    counts = frame.groupby(["facility", "band"]).size().to_dict()
    assert counts == {("KMTA", "I"): 67, ("KMTC", "V"): 37}


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty response"),
        (HTML_ERROR_PAGE, "HTML page (503 Service Temporarily Unavailable)"),
        (pysis_archive_bytes()[:300], "unreadable KMTNet pysis.tar.gz"),
        (b"\x1f\x8b\x08\x00garbage", "unreadable KMTNet pysis.tar.gz"),
    ],
)
def test_bad_archives_are_clear_parse_errors(content, message):
    with pytest.raises(ParseError, match=message.replace("(", r"\(").replace(")", r"\)")):
        kmtnet.parse(content)


def test_empty_archive_is_an_error():
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz"):
        pass
    with pytest.raises(ParseError, match="holds no KMT"):
        kmtnet.parse(buffer.getvalue())


def test_archive_path():
    assert kmtnet.archive_path("kmt-2018-blg-0003") == "/~ulens/event/2018/data/KB180003/pysis/pysis.tar.gz"
    with pytest.raises(FetchError, match="pilot season"):
        kmtnet.archive_path("KMT-2015-BLG-0001")
    with pytest.raises(Exception, match="not a valid KMTNet event"):
        kmtnet.archive_path("KMT-2018-BLG-0003&x=1")


def test_frames_have_the_standard_columns():
    frame = kmtnet.parse(pysis_archive_bytes())
    assert list(frame.columns) == [*COLUMNS, *TRACE_COLUMNS]
    assert str(frame["time"].dtype) == "datetime64[ns, UTC]"
    assert frame["limit"].isna().all() and isinstance(frame, pd.DataFrame)


@pytest.mark.parametrize("ra, dec", [(268.2, -29.6), (0.0, 89.0), (81.3, 23.4), (201.5, -45.0)])
def test_heliocentric_delay_agrees_with_astropy_everywhere_on_the_sky(ra, dec):
    jd = 2458000.0 + np.linspace(0, 800, 97)
    astropy_delay = Time(jd, format="jd", scale="utc", location=EarthLocation.from_geocentric(0, 0, 0, unit=u.m)
                         ).light_travel_time(SkyCoord(ra * u.deg, dec * u.deg), kind="heliocentric").to_value(u.s)
    direction = SkyCoord(ra * u.deg, dec * u.deg).cartesian.xyz.value
    delay, rate = heliocentric_delay(Time(jd, format="jd", scale="utc").tt.jd, direction)
    assert np.abs(delay - astropy_delay).max() < 1e-3
    assert np.abs(rate).max() < 2e-4  # at most 2 pi au / c per year
