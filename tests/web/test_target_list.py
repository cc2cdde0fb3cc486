"""The target list: last magnitude and last point from the update path, sorting, filters, "brightened"."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import assign_perm
from tom_dataproducts.models import PhotometryReducedDatum
from tom_targets.models import Target

from bhtom_base.models import TargetLightcurveSummary
from bhtom_base.summary import BRIGHTENING_MIN_MAG, brightening, refresh_summary

from ..conftest import fixture_bytes

pytestmark = pytest.mark.django_db


def make_target(name: str, viewer, mags: list[float], *, source="ZTF", band="g(ZTF)", last: datetime | None = None,
                step_days: float = 10.0) -> Target:
    target = Target.objects.create(name=name, type="SIDEREAL", ra=10.0, dec=20.0,
                                   permissions=Target.Permissions.PRIVATE)
    assign_perm("tom_targets.view_target", viewer, target)
    last = last or timezone.now() - timedelta(days=1)
    PhotometryReducedDatum.objects.bulk_create([
        PhotometryReducedDatum(target=target, timestamp=last - timedelta(days=step_days * (len(mags) - 1 - i)),
                               source_name=source, bandpass=band, brightness=mag, brightness_error=0.02)
        for i, mag in enumerate(mags)])
    refresh_summary(target.pk)
    return target


def list_names(client, **params) -> list[str]:
    html = client.get(reverse("targets:list"), params).content.decode()
    return re.findall(r'<td class="bhtom-name"[^>]*>\s*<a [^>]*>([^<]+)</a>', html) or re.findall(
        r'href="/targets/\d+/"[^>]*>([^<]+)</a>', html)


def test_update_path_keeps_the_summary_current(replay, gaia_target):
    """A real update through the replay server fills the summary with the file's latest detection."""
    from bhtom2.brokers.gaia_alerts import GaiaAlertsBroker
    from bhtom_base.update import update_lightcurve

    assert not TargetLightcurveSummary.objects.filter(target=gaia_target).exists()
    report = update_lightcurve(GaiaAlertsBroker(), gaia_target)
    assert report.status == "done" and report.new_points > 0
    summary = TargetLightcurveSummary.objects.get(target=gaia_target)
    lines = fixture_bytes("gaia_alerts/Gaia14aaa.csv").decode().splitlines()[2:]
    good = [line.split(",") for line in lines if line and line.split(",")[2] not in ("null", "untrusted")]
    newest = max(good, key=lambda row: float(row[1]))
    assert summary.last_mag == float(newest[2]) and summary.last_source == "GAIA"
    assert summary.last_band == "G(Gaia)" and summary.points == report.total_points


def test_failed_update_leaves_the_summary_alone(replay, gaia_target):
    from bhtom2.brokers.gaia_alerts import GaiaAlertsBroker
    from bhtom_base.update import update_lightcurve

    replay.inject(path="/alerts/alert/Gaia14aaa/", html=True)
    assert update_lightcurve(GaiaAlertsBroker(), gaia_target).status == "failed"
    assert not TargetLightcurveSummary.objects.filter(target=gaia_target).exists()


def test_list_shows_last_magnitude_band_survey_and_days_ago(client, users):
    viewer = users["viewer"]
    make_target("Bright", viewer, [14.0, 14.1, 13.9], last=timezone.now() - timedelta(days=2, hours=1))
    client.force_login(viewer)
    html = client.get(reverse("targets:list")).content.decode()
    assert "Last magnitude" in html and "Last point" in html
    assert "13.90" in html and "± 0.02" in html and "(g, ZTF)" in html and "2 days ago" in html


def test_list_sorts_by_last_magnitude_and_filters(client, users):
    viewer = users["viewer"]
    make_target("Mid", viewer, [16.0] * 3)
    make_target("Faint", viewer, [19.0] * 3, last=timezone.now() - timedelta(days=20))
    make_target("Bright", viewer, [13.0] * 3)
    Target.objects.create(name="NoData", type="SIDEREAL", ra=1, dec=1)
    assign_perm("tom_targets.view_target", viewer, Target.objects.get(name="NoData"))
    client.force_login(viewer)
    no_data = {"NoData", "Gaia14aaa"}  # targets without photometry come last both ways
    ascending, descending = list_names(client, sort="last_mag"), list_names(client, sort="-last_mag")
    assert ascending[:3] == ["Bright", "Mid", "Faint"] and set(ascending[3:]) == no_data
    assert descending[:3] == ["Faint", "Mid", "Bright"] and set(descending[3:]) == no_data
    assert list_names(client, brighter_than="15") == ["Bright"]
    assert sorted(list_names(client, seen_within_days="3")) == ["Bright", "Mid"]


def test_brightened_marker(client, users):
    viewer = users["viewer"]
    now = timezone.now()
    make_target("Outburst", viewer, [17.0, 17.05, 16.95, 17.02, 16.98, 17.01, 15.2], last=now, step_days=5)
    make_target("Steady", viewer, [17.0, 17.05, 16.95, 17.02, 16.98, 17.01, 16.97], last=now, step_days=5)
    make_target("Noisy", viewer, [17.0, 18.0, 16.0, 17.5, 16.5, 17.8, 16.6], last=now, step_days=5)
    summaries = {s.target.name: s for s in TargetLightcurveSummary.objects.select_related("target")}
    assert summaries["Outburst"].brightened and summaries["Outburst"].brightening == pytest.approx(1.805, abs=0.01)
    assert not summaries["Steady"].brightened
    assert not summaries["Noisy"].brightened  # 0.4 mag brighter, but within its own scatter
    client.force_login(viewer)
    html = client.get(reverse("targets:list")).content.decode()
    assert html.count("bhtom-brightened-badge") == 1 and "1.81 mag" in html
    assert list_names(client, brightened="true") == ["Outburst"]


def test_brightening_rule():
    baseline = [17.0, 17.1, 16.9, 17.05, 16.95]
    assert brightening([(16.0, 0.05)], baseline)[2]
    assert not brightening([(17.0 - BRIGHTENING_MIN_MAG / 2, 0.001)], baseline)[2]
    assert not brightening([(15.0, 0.05)], baseline[:4])[2]  # too few baseline points to tell
    assert not brightening([(18.0, 0.05)], baseline)[2]  # fainter


def test_list_costs_the_same_queries_for_many_targets(client, users, settings):
    viewer = users["viewer"]
    client.force_login(viewer)
    for i in range(5):
        make_target(f"T{i:03d}", viewer, [15.0 + i / 10] * 2)
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("targets:list"), {"sort": "last_mag"}).status_code == 200
    for i in range(5, 60):
        make_target(f"T{i:03d}", viewer, [15.0 + i / 10] * 2)
    with CaptureQueriesContext(connection) as many:
        assert client.get(reverse("targets:list"), {"sort": "last_mag"}).status_code == 200
    assert len(many) == len(few)


def test_summary_of_a_target_without_detections(users):
    target = Target.objects.create(name="Limits", type="SIDEREAL", ra=1, dec=1)
    PhotometryReducedDatum.objects.create(target=target, timestamp=datetime(2024, 1, 1, tzinfo=UTC),
                                          source_name="ZTF", bandpass="r(ZTF)", limit=20.5)
    summary = refresh_summary(target.pk)
    assert summary.last_mag is None and summary.points == 1 and summary.last_point.year == 2024


def test_refresh_command_fills_summaries_of_points_stored_before(users):
    import io

    from django.core.management import call_command

    target = Target.objects.create(name="Old", type="SIDEREAL", ra=1, dec=1)
    PhotometryReducedDatum.objects.create(target=target, timestamp=datetime(2023, 5, 1, tzinfo=UTC),
                                          source_name="GAIA", bandpass="G(Gaia)", brightness=16.25,
                                          brightness_error=0.01)
    assert not TargetLightcurveSummary.objects.exists()
    out = io.StringIO()
    call_command("refresh_lightcurve_summaries", stdout=out)
    assert out.getvalue().strip() == "Refreshed 1 target summary; 0 brightened."
    assert TargetLightcurveSummary.objects.get(target=target).last_mag == 16.25


def test_an_update_with_nothing_new_leaves_the_summary_unwritten(replay, gaia_target):
    from bhtom2.brokers.gaia_alerts import GaiaAlertsBroker
    from bhtom_base.update import update_lightcurve

    update_lightcurve(GaiaAlertsBroker(), gaia_target)
    written = TargetLightcurveSummary.objects.get(target=gaia_target).updated
    report = update_lightcurve(GaiaAlertsBroker(), gaia_target, force=True)
    assert report.status == "done" and report.new_points == 0
    assert TargetLightcurveSummary.objects.get(target=gaia_target).updated == written


SUMMARY_FIELDS = ("points", "last_point", "last_mag", "last_mag_error", "last_band", "last_source", "last_mag_time",
                  "baseline_mag", "brightening", "brightened")


def _summary_fields(target) -> dict:
    summary = TargetLightcurveSummary.objects.get(target=target)
    return {name: getattr(summary, name) for name in SUMMARY_FIELDS}


@pytest.mark.parametrize(("source", "band", "offset_days", "cheap"), [
    ("GAIA", "G(Gaia)", -30, True),   # another survey, older points: one UPDATE
    ("GAIA", "G(Gaia)", +0.5, False),  # another survey, a newer detection: full refresh
    ("ZTF", "g(ZTF)", -30, False),    # the latest detection's survey: its baseline may change, full refresh
])
def test_summary_after_an_update_equals_a_full_refresh(users, source, band, offset_days, cheap):
    """Whatever path record_summary takes, the summary is what a full refresh computes."""
    from bhtom_base.report import LightcurveUpdateReport
    from bhtom_base.summary import record_summary

    target = make_target("summary-paths", users["viewer"], [17.0, 17.1, 16.9, 17.0, 17.05, 16.95, 15.2])
    latest = TargetLightcurveSummary.objects.get(target=target).last_mag_time
    added = [latest + timedelta(days=offset_days - i) for i in range(5)]
    PhotometryReducedDatum.objects.bulk_create([
        PhotometryReducedDatum(target=target, timestamp=when, source_name=source, bandpass=band,
                               brightness=14.0 + i / 10, brightness_error=0.05) for i, when in enumerate(added)])
    report = LightcurveUpdateReport(target_name=target.name, source=source, status="done", new_points=len(added),
                                    total_points=len(added), last_point=max(added))
    with CaptureQueriesContext(connection) as queries:
        record_summary(target, report)
    after = _summary_fields(target)
    assert (len(queries) == 1) is cheap, [query["sql"][:80] for query in queries]
    assert after["points"] == 12
    refresh_summary(target.pk)
    assert after == _summary_fields(target)
    assert after["last_source"] == (source if offset_days > 0 else "ZTF")
