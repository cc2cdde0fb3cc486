"""Gaia DR3/DR2 epoch photometry end to end through the replay server (TAP cone search + DataLink)."""
from __future__ import annotations

import io
import logging

import astropy.units as u
import numpy as np
import pandas as pd
import pytest
from astropy.coordinates import EarthLocation, SkyCoord
from astropy.table import Table
from astropy.time import Time
from django.core.management import call_command
from django.core.management.base import CommandError
from tom_dataproducts.models import PhotometryReducedDatum
from tom_targets.models import Target, TargetExtra

from bhtom_base.models import LightcurveUpdateState
from tests.conftest import FIXTURES

pytestmark = pytest.mark.django_db

GAIA4 = "1457486023639239296"
TAP = "/tap-server/tap/sync"
DATALINK = "/data-server/data"


def run(*args) -> str:
    out = io.StringIO()
    call_command("update_reduced_data", *args, stdout=out)
    return out.getvalue()


def run_failing(*args) -> None:
    """A run with a failed update: the command exits with an error (a missing survey name does not)."""
    with pytest.raises(CommandError, match="updates failed"):
        run(*args)


def state_of(target: Target, source: str = "GAIA_DR3") -> LightcurveUpdateState:
    return LightcurveUpdateState.objects.get(target=target, source=source)


def expected_counts() -> dict[str, int]:
    """Per band: transits not rejected by variability/photometry and with a magnitude (astropy directly)."""
    table = Table.read(FIXTURES / "gaia_dr3/dr3_epoch_photometry_gaia4.vot", format="votable")
    photometry = np.asarray(table["rejected_by_photometry"].filled(False), dtype=bool)
    counts = {}
    for band, mag in (("G", "g_transit_mag"), ("BP", "bp_mag"), ("RP", "rp_mag")):
        rejected = np.asarray(table[f"variability_flag_{band.lower()}_reject"].filled(False), dtype=bool)
        counts[f"{band}(Gaia DR3)"] = int((~rejected & ~photometry & np.isfinite(table[mag].filled(np.nan))).sum())
    return counts


def with_name(name: str, value: str, source: str = "GAIA_DR3", ra: float = 10.0, dec: float = -10.0) -> Target:
    target = Target.objects.create(name=name, type="SIDEREAL", ra=ra, dec=dec, epoch=2000)
    TargetExtra.objects.create(target=target, key=source, value=value)
    return target


def test_coordinates_only_target_is_cross_matched_fetched_and_then_left_alone(replay, caplog):
    target = Target.objects.create(name="Gaia-4", type="SIDEREAL", ra=210.0, dec=35.0, epoch=2000)
    with caplog.at_level(logging.INFO, logger="bhtom.broker.GAIA_DR3"):
        run("Gaia-4", "--source", "GAIA_DR3")

    # The nearest of the two sources inside 1 arcsec is stored; the other one is logged.
    assert TargetExtra.objects.get(target=target, key="GAIA_DR3").value == GAIA4
    assert "1457486023639239424" in caplog.text and "also" in caplog.text
    (cone,) = replay.requests_to(TAP)
    assert "FROM gaiadr3.gaia_source" in cone.query["QUERY"] and cone.query["FORMAT"] == "votable"
    # 1 arcsec, widened by 1 arcsec per year between J2000 (the target) and J2016 (Gaia DR3): 17 arcsec
    assert "CIRCLE('ICRS', 210.000000000, 35.000000000, 0.004722222)" in cone.query["QUERY"]
    (datalink,) = replay.requests_to(DATALINK)
    assert datalink.query["ID"] == GAIA4 and datalink.query["RELEASE"] == "Gaia DR3"
    assert datalink.query["RETRIEVAL_TYPE"] == "EPOCH_PHOTOMETRY" and datalink.query["DATA_STRUCTURE"] == "INDIVIDUAL"

    rows = PhotometryReducedDatum.objects.filter(target=target, source_name="GAIA_DR3")
    counts = pd.Series(list(rows.values_list("bandpass", flat=True))).value_counts().to_dict()
    assert counts == expected_counts() == {"G(Gaia DR3)": 60, "BP(Gaia DR3)": 62, "RP(Gaia DR3)": 60}
    first = rows.filter(bandpass="G(Gaia DR3)").order_by("timestamp").first()
    # stored as the geocentric UTC instant: BJD(TCB) minus the barycentric light time at the target (astropy)
    bjd = Time(2455197.5, 1693.257506198131, format="jd", scale="tcb")
    geocentric = bjd.utc
    for _ in range(4):
        geocentric = (bjd.tdb - geocentric.light_travel_time(
            SkyCoord(210.0 * u.deg, 35.0 * u.deg), kind="barycentric",
            location=EarthLocation.from_geocentric(0, 0, 0, unit=u.m))).utc
    assert abs((first.timestamp.replace(tzinfo=None) - geocentric.datetime).total_seconds()) < 1e-5
    assert abs((first.timestamp.replace(tzinfo=None) - bjd.utc.datetime).total_seconds()) > 60
    assert first.telescope == "Gaia" and first.limit is None
    assert first.value["observer"] == "Gaia" and first.value["time_system"] == "BJD TCB - 2455197.5"
    assert first.value["survey_time"] == 1693.257506198131 and first.value["point_id"].isdigit()
    assert DATALINK in first.source_location
    state = state_of(target)
    assert (state.status, state.new_points, state.total_points) == ("done", 182, 182)
    assert state.skipped_rows == 13 and state.next_due is None

    # A data release is fetched once: the second run asks the archive nothing.
    replay.clear_requests()
    run("Gaia-4", "--source", "GAIA_DR3")
    assert replay.requests_to(TAP) == [] and replay.requests_to(DATALINK) == []
    assert rows.count() == 182
    state.refresh_from_db()
    assert (state.status, state.total_points) == ("done", 182)

    # --force fetches again (by the stored source_id, no cone search) and inserts nothing new.
    run("Gaia-4", "--source", "GAIA_DR3", "--force")
    assert replay.requests_to(TAP) == [] and len(replay.requests_to(DATALINK)) == 1
    state.refresh_from_db()
    assert (state.status, state.new_points, state.total_points) == ("done", 0, 182)


def test_a_bare_votable_in_the_old_long_format_is_stored(replay):
    target = with_name("old-format", "5813181197970338560")
    run("old-format", "--source", "GAIA_DR3")
    rows = PhotometryReducedDatum.objects.filter(target=target).order_by("timestamp")
    assert list(rows.values_list("bandpass", flat=True)) == ["G(Gaia DR3)"] * 3
    assert rows.first().brightness == pytest.approx(15.216574774452164)
    assert replay.requests_to(TAP) == []


@pytest.mark.parametrize(
    "value, status, message",
    [
        # a name written before validation existed (bypassing the pre_save check)
        ("1 OR 1=1", "failed", "is not a valid Gaia DR3 source_id"),
        ("5937083312263887616", "failed", "holds no EPOCH_PHOTOMETRY file for source_id 5937083312263887616"),
        ("4583627001381815936", "failed", "unexpected columns for Gaia epoch photometry"),
    ],
)
def test_bad_names_and_bad_answers_are_recorded_errors(replay, value, status, message):
    target = with_name("bad", "1")
    TargetExtra.objects.filter(target=target, key="GAIA_DR3").update(value=value)
    if status == "failed":
        run_failing("bad", "--source", "GAIA_DR3")
    else:
        run("bad", "--source", "GAIA_DR3")
    state = state_of(target)
    assert state.status == status and message in state.last_error
    assert PhotometryReducedDatum.objects.filter(target=target).count() == 0
    assert replay.requests_to(TAP) == []
    if value == "1 OR 1=1":  # an invalid name never reaches a URL
        assert replay.requests_to(DATALINK) == []


def test_empty_cone_search_is_a_recorded_error(replay):
    target = Target.objects.create(name="empty-sky", type="SIDEREAL", ra=10.0, dec=-10.0, epoch=2000)
    run("empty-sky", "--source", "GAIA_DR3")
    state = state_of(target)
    assert state.status == "no_survey_name"
    assert "no Gaia DR3 source within 1 arcsec of RA 10.000000, Dec -10.000000" in state.last_error
    assert not TargetExtra.objects.filter(target=target, key="GAIA_DR3").exists()
    assert len(replay.requests_to(TAP)) == 1 and replay.requests_to(DATALINK) == []
    assert PhotometryReducedDatum.objects.filter(target=target).count() == 0


def test_cross_match_radius_is_a_setting(replay, settings):
    settings.BHTOM_CROSS_MATCH_MAX_SEPARATION = {"GAIA_DR3": 0.1}
    target = Target.objects.create(name="Gaia-4", type="SIDEREAL", ra=210.0, dec=35.0, epoch=2016)
    run("Gaia-4", "--source", "GAIA_DR3")
    # the nearest source is 0.26 arcsec away: outside 0.1 arcsec (same epoch as Gaia DR3: no widening)
    (cone,) = replay.requests_to(TAP)
    assert "CIRCLE('ICRS', 210.000000000, 35.000000000, 0.000027778)" in cone.query["QUERY"]
    assert "no Gaia DR3 source within 0.1 arcsec" in state_of(target).last_error


@pytest.mark.parametrize("fault, message", [({"status": 500}, "HTTP 500"), ({"html": True}, "HTML page"),
                                            ({"truncate": 300}, "truncated body")])
def test_archive_failures_are_recorded_and_nothing_is_written(replay, fault, message):
    target = with_name("faulty", GAIA4)
    replay.inject(path=DATALINK, **fault)
    run_failing("faulty", "--source", "GAIA_DR3")
    state = state_of(target)
    assert state.status == "failed" and message in state.last_error
    assert PhotometryReducedDatum.objects.filter(target=target).count() == 0


def test_dr2_uses_its_own_table_and_release(replay):
    target = Target.objects.create(name="dr2", type="SIDEREAL", ra=210.0, dec=35.0, epoch=2000)
    run("dr2", "--source", "GAIA_DR2")
    (cone,) = replay.requests_to(TAP)
    assert "FROM gaiadr2.gaia_source" in cone.query["QUERY"]
    assert state_of(target, "GAIA_DR2").status == "no_survey_name"  # no DR2 cone result is recorded

    named = with_name("dr2-named", "5813181197970338560", source="GAIA_DR2")
    run("dr2-named", "--source", "GAIA_DR2")
    (datalink,) = replay.requests_to(DATALINK)
    assert datalink.query["RELEASE"] == "Gaia DR2" and datalink.query["ID"] == "5813181197970338560"
    # tests/fixtures/gaia_dr2 serves the DR3 long-format file at the DR2 endpoint (same format)
    state = state_of(named, "GAIA_DR2")
    assert state.status == "done" and state.new_points == 3
    bands = set(PhotometryReducedDatum.objects.filter(target=named).values_list("bandpass", flat=True))
    assert bands == {"G(Gaia DR2)"}
