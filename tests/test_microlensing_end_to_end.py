"""OGLE EWS, KMTNet and CRTS end to end: update_reduced_data through the replay server -> photometry rows."""
from __future__ import annotations

import io
from datetime import UTC

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import EarthLocation, SkyCoord
from astropy.time import Time
from django.core.management import call_command
from django.core.management.base import CommandError
from tom_dataproducts.models import PhotometryReducedDatum
from tom_targets.models import Target, TargetExtra

from bhtom2.brokers.ogle_ews import OGLEEWSBroker
from bhtom_base.models import LightcurveUpdateState
from tests.conftest import FIXTURES

pytestmark = pytest.mark.django_db

BULGE = (268.23354, -29.63647)  # a direction towards the bulge for the heliocentric correction


def run(*args) -> str:
    out = io.StringIO()
    call_command("update_reduced_data", *args, stdout=out)
    return out.getvalue()


def table(relative: str) -> np.ndarray:
    return np.atleast_2d(np.loadtxt(FIXTURES / relative, comments="#", dtype=float))


def instant_of(hjd: float, ra: float, dec: float):
    """Independent: the UTC instant t with t + light travel time to the Sun = HJD (two fixed-point steps)."""
    location = EarthLocation.from_geocentric(0, 0, 0, unit=u.m)
    target = SkyCoord(ra * u.deg, dec * u.deg)
    hjd_time = Time(hjd, format="jd", scale="utc", location=location)
    t = hjd_time
    for _ in range(2):
        t = hjd_time - t.light_travel_time(target, kind="heliocentric")
    return t.utc.datetime.replace(tzinfo=UTC)


def target_with(name: str, source: str | None = None, survey_name: str = "", ra=BULGE[0], dec=BULGE[1]) -> Target:
    target = Target.objects.create(name=name, type="SIDEREAL", ra=ra, dec=dec, epoch=2000)
    if source:
        TargetExtra.objects.create(target=target, key=source, value=survey_name)
    return target


@pytest.fixture(autouse=True)
def fresh_season_lists():
    OGLEEWSBroker._list_cache.clear()
    yield
    OGLEEWSBroker._list_cache.clear()


def rows(target: Target, source: str):
    return PhotometryReducedDatum.objects.filter(target=target, source_name=source).order_by("timestamp")


# -- OGLE EWS --------------------------------------------------------------------

def test_ogle_event_end_to_end_and_second_run_inserts_nothing(replay):
    target = target_with("OB140939", "OGLE_EWS", "ogle-2014-blg-0939")
    run("OB140939", "--source", "OGLE_EWS")
    data = table("ogle_ews/OGLE-2014-BLG-0939_phot.dat")
    stored = rows(target, "OGLE_EWS")
    assert stored.count() == len(data) == 485
    first = stored.first()
    assert abs((first.timestamp - instant_of(data[:, 0].min(), *BULGE)).total_seconds()) < 0.01
    assert first.brightness == data[np.argmin(data[:, 0]), 1] and first.brightness_error == data[0, 2]
    assert first.bandpass == "I(OGLE EWS)" and first.telescope == "OGLE" and first.limit is None
    assert first.source_location.endswith("/ogle/ogle4/ews/2014/blg-0939/phot.dat")
    assert set(stored.values_list("bandpass", flat=True)) == {"I(OGLE EWS)"}
    assert sorted(stored.values_list("brightness", flat=True)) == sorted(data[:, 1].tolist())
    state = LightcurveUpdateState.objects.get(target=target, source="OGLE_EWS")
    assert (state.status, state.new_points, state.total_points) == ("done", 485, 485)

    run("OB140939", "--source", "OGLE_EWS")
    state.refresh_from_db()
    assert (state.status, state.new_points, state.total_points) == ("done", 0, 485)
    assert rows(target, "OGLE_EWS").count() == 485


def test_ogle_name_is_found_in_the_season_list_and_stored(replay, settings):
    settings.BHTOM_OGLE_EWS_SEASONS = [2021, 2019, 2014]  # 2021 and 2014 have no recorded list: 404, skipped
    target = target_with("near", ra=SkyCoord("17:53:50.46 -29:08:57.9", unit=(u.hourangle, u.deg)).ra.deg + 0.0002,
                         dec=-(29 + 8 / 60 + 57.9 / 3600))
    with pytest.raises(CommandError):
        run("near", "--source", "OGLE_EWS")
    assert TargetExtra.objects.get(target=target, key="OGLE_EWS").value == "OGLE-2019-BLG-0001"
    assert [r.path for r in replay.requests_to("/ogle/ogle4/ews/")] == [
        "/ogle/ogle4/ews/2021/lenses.par", "/ogle/ogle4/ews/2019/lenses.par", "/ogle/ogle4/ews/2014/lenses.par",
        "/ogle/ogle4/ews/2019/blg-0001/phot.dat"]
    state = LightcurveUpdateState.objects.get(target=target, source="OGLE_EWS")
    # OGLE-2019-BLG-0001's phot.dat is not among the recorded responses: a clear 404, nothing stored
    assert state.status == "failed" and "HTTP 404" in state.last_error


def test_ogle_target_far_from_every_event_has_no_name(replay, settings):
    settings.BHTOM_OGLE_EWS_SEASONS = [2019]
    settings.BHTOM_CROSS_MATCH_MAX_SEPARATION = {"OGLE_EWS": 1.0}
    target = target_with("far", ra=268.4603 + 0.01, dec=-29.1494)
    run("far", "--source", "OGLE_EWS")
    state = LightcurveUpdateState.objects.get(target=target, source="OGLE_EWS")
    assert state.status == "no_survey_name" and not TargetExtra.objects.filter(target=target, key="OGLE_EWS")


# -- KMTNet ----------------------------------------------------------------------

KMT_FILES = ["KMTA12", "KMTA14", "KMTC12", "KMTC14", "KMTS12", "KMTS14"]


def test_kmtnet_event_keeps_every_site_and_field(replay):
    target = target_with("KB180003", "KMT_NET", "KMT-2018-BLG-0003")
    run("KB180003", "--source", "KMT_NET")
    expected: dict[str, int] = {}
    hjd_min = np.inf
    for name in KMT_FILES:
        data = table(f"kmtnet/KB180003/{name}_I.pysis")
        good = data[:, 4] < 1
        expected[name[:4]] = expected.get(name[:4], 0) + int(good.sum())
        hjd_min = min(hjd_min, data[good, 0].min() + 2450000)
    stored = rows(target, "KMT_NET")
    per_site = {site: stored.filter(telescope=site).count() for site in ("KMTA", "KMTC", "KMTS")}
    assert per_site == expected and stored.count() == sum(expected.values()) == 699
    assert set(stored.values_list("bandpass", flat=True)) == {"I(KMTNet)"}
    assert abs((stored.first().timestamp - instant_of(hjd_min, *BULGE)).total_seconds()) < 0.01
    assert stored.first().source_location.endswith("/~ulens/event/2018/data/KB180003/pysis/pysis.tar.gz")
    state = LightcurveUpdateState.objects.get(target=target, source="KMT_NET")
    assert (state.status, state.new_points, state.total_points) == ("done", 699, 699)
    assert state.skipped_rows == 3

    run("KB180003", "--source", "KMT_NET")
    state.refresh_from_db()
    assert (state.status, state.new_points, state.total_points) == ("done", 0, 699)


def test_kmtnet_event_without_public_data_is_a_recorded_404(replay):
    target = target_with("KB190001", "KMT_NET", "KMT-2019-BLG-0001")
    with pytest.raises(CommandError):
        run("KB190001", "--source", "KMT_NET")
    state = LightcurveUpdateState.objects.get(target=target, source="KMT_NET")
    assert state.status == "failed" and "HTTP 404" in state.last_error
    assert [r.path for r in replay.requests_to("/~ulens/")] == ["/~ulens/event/2019/data/KB190001/pysis/pysis.tar.gz"]


def test_kmtnet_without_event_name(replay):
    target = target_with("nameless")
    run("nameless", "--source", "KMT_NET")
    assert LightcurveUpdateState.objects.get(target=target, source="KMT_NET").status == "no_survey_name"


# -- CRTS ------------------------------------------------------------------------

def test_crts_cone_search_end_to_end_fetched_once(replay):
    target = target_with("crts", ra=137.97214, dec=38.29239)
    run("crts", "--source", "CRTS")
    stored = rows(target, "CRTS")
    assert stored.count() == 171  # of 172 rows, one is another source 7.6" away in the same exposure
    assert not stored.filter(brightness=21.42).exists()
    assert set(stored.values_list("bandpass", flat=True)) == {"CL(CRTS)"}
    first = stored.first()
    assert first.brightness == 20.87 and first.brightness_error == 0.45  # MJD 53687.46143, the earliest row
    expected = Time(53687.46143, format="mjd", scale="utc").datetime.replace(tzinfo=UTC)
    assert abs((first.timestamp - expected).total_seconds()) < 0.001
    assert first.telescope == "CSS" and "RA=137.97214" in first.source_location
    assert TargetExtra.objects.get(target=target, key="CRTS").value == "1138040035002"
    request = replay.requests_to("/cgi-bin/getcssconedb_release_img.cgi")[0]
    assert request.query == {"RA": "137.97214", "Dec": "38.29239", "Rad": "0.1", "DB": "photcat", "OUT": "web",
                             "SHORT": "short"}

    run("crts", "--source", "CRTS")
    state = LightcurveUpdateState.objects.get(target=target, source="CRTS")
    assert state.status == "done" and state.total_points == 171
    assert len(replay.requests_to("/cgi-bin/")) == 1  # a data release: asked once, not again
    assert rows(target, "CRTS").count() == 171


def test_crts_not_covered_is_an_empty_result_not_an_error(replay):
    target = target_with("uncovered", ra=283.61614, dec=0.81912)
    run("uncovered", "--source", "CRTS")
    state = LightcurveUpdateState.objects.get(target=target, source="CRTS")
    assert (state.status, state.new_points, state.last_error) == ("done", 0, "")
    assert not rows(target, "CRTS").exists()


# -- failures ----------------------------------------------------------------------

CASES = {
    "OGLE_EWS": ("OB140939", "ogle-2014-blg-0939", BULGE, "/ogle/ogle4/ews/2014/", 485),
    "KMT_NET": ("KB180003", "KMT-2018-BLG-0003", BULGE, "/~ulens/event/2018/", 699),
    "CRTS": ("crts", "", (137.97214, 38.29239), "/cgi-bin/", 171),
}


@pytest.mark.parametrize("source", list(CASES))
@pytest.mark.parametrize(
    "fault, message",
    [
        ({"status": 500}, "HTTP 500 Internal Server Error (still, after 2 retries)"),
        ({"delay": 4.0}, "read timeout"),
        ({"html": True}, "503 Service Temporarily Unavailable"),
        ({"truncate": 200}, "truncated body"),
    ],
)
def test_failures_are_recorded_errors_with_no_rows(replay, source, fault, message):
    name, survey_name, (ra, dec), path, points = CASES[source]
    target = target_with(name, source if survey_name else None, survey_name, ra=ra, dec=dec)
    replay.inject(path=path, **fault)
    with pytest.raises(CommandError, match="1 of 1 updates failed"):
        run(name, "--source", source)
    state = LightcurveUpdateState.objects.get(target=target, source=source)
    assert state.status == "failed" and message in state.last_error
    assert not rows(target, source).exists()

    replay.clear_faults()
    run(name, "--source", source, "--quiet")
    state.refresh_from_db()
    assert state.status == "done" and state.new_points == points == rows(target, source).count()
