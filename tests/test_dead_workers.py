"""A killed worker's pair and task row are taken back: by --due, or by a person in the admin."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks.backends.database.models import DBTaskResult
from tom_targets.models import Target, TargetExtra

from bhtom_base import scheduling
from bhtom_base.models import LightcurveUpdateState, UpdateStatus
from bhtom_base.tasks import update_target_source

pytestmark = pytest.mark.django_db


def make_target(name: str, alert: str) -> Target:
    target = Target.objects.create(name=name, type="SIDEREAL", ra=200.25961, dec=45.53943)
    TargetExtra.objects.create(target=target, key="GAIA", value=alert)
    return target


def task_row(target: Target, started_ago: timedelta) -> DBTaskResult:
    return DBTaskResult.objects.create(
        status="RUNNING", args_kwargs={"args": [target.pk, "GAIA", True], "kwargs": {}},
        task_path=update_target_source.module_path, backend_name="default",
        started_at=timezone.now() - started_ago, exception_class_path="", traceback="")


def test_due_fails_what_a_killed_worker_left_and_runs_the_pair_again(replay, settings):
    now = timezone.now()
    killed = make_target("Gaia14aaa", "Gaia14aaa")
    alive = make_target("Gaia16aaa", "Gaia16aaa")
    LightcurveUpdateState.objects.create(target=killed, source="GAIA", status=UpdateStatus.RUNNING,
                                         last_attempt=now - timedelta(minutes=40),
                                         running_until=now - timedelta(minutes=10))
    LightcurveUpdateState.objects.create(target=alive, source="GAIA", status=UpdateStatus.RUNNING,
                                         last_attempt=now - timedelta(minutes=2),
                                         running_until=now + timedelta(minutes=28))
    dead_row, alive_row = task_row(killed, timedelta(minutes=40)), task_row(alive, timedelta(minutes=2))

    out = io.StringIO()
    call_command("update_reduced_data", "--due", "--source", "GAIA", stdout=out)
    assert "Released work of dead workers: 1 pairs marked failed, 1 task rows marked failed." in out.getvalue()
    dead_row.refresh_from_db()
    alive_row.refresh_from_db()
    assert (dead_row.status, dead_row.traceback) == ("FAILED", scheduling.WORKER_GONE)
    assert dead_row.finished_at is not None
    assert alive_row.status == "RUNNING"  # its pair is running within the lease: left alone
    # the released pair was due at once and ran again; the live one was not touched
    assert LightcurveUpdateState.objects.get(target=killed).status == UpdateStatus.DONE
    assert LightcurveUpdateState.objects.get(target=alive).status == UpdateStatus.RUNNING
    assert len(replay.requests_to("/alerts/alert/Gaia14aaa/")) == 1
    assert not replay.requests_to("/alerts/alert/Gaia16aaa/")


def test_a_task_row_whose_pair_never_started_is_released_after_a_minute(replay):
    target = make_target("Gaia14aaa", "Gaia14aaa")
    LightcurveUpdateState.objects.create(target=target, source="GAIA", status=UpdateStatus.QUEUED,
                                         queued_at=timezone.now() - timedelta(minutes=5))
    recent, old = task_row(target, timedelta(seconds=5)), task_row(target, timedelta(minutes=5))
    call_command("update_reduced_data", "--due", "--source", "GAIA", "--enqueue", stdout=io.StringIO())
    recent.refresh_from_db()
    old.refresh_from_db()
    assert (recent.status, old.status) == ("RUNNING", "FAILED")


def test_the_status_panel_says_how_long_a_pair_has_been_running(client, django_user_model, settings):
    settings.TOM_ALERT_CLASSES = ["bhtom2.brokers.gaia_alerts.GaiaAlertsBroker"]
    target = make_target("Gaia14aaa", "Gaia14aaa")
    client.force_login(django_user_model.objects.create_superuser("boss", "b@example.org", "pw"))
    started = timezone.now() - timedelta(minutes=47, seconds=10)
    LightcurveUpdateState.objects.create(target=target, source="GAIA", status=UpdateStatus.RUNNING,
                                         last_attempt=started, running_until=started + timedelta(minutes=60))
    html = client.get(f"/bhtom/targets/{target.pk}/lightcurve/status/").content.decode()
    assert "running for 47 min" in html


def test_duration_text():
    seconds = (0, 59, 60, 3599, 3600, 3 * 3600 + 5 * 60, 86400 * 2 + 3600 * 4)
    assert [scheduling.duration_text(timedelta(seconds=s)) for s in seconds] == [
        "0 s", "59 s", "1 min", "59 min", "1 h 00 min", "3 h 05 min", "2 d 4 h"]
