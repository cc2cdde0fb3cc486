"""Cadence: which (target, source) pairs are due, failures' back-off, leases, and incremental ``since``."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from tom_dataproducts.models import PhotometryReducedDatum
from tom_targets.models import Target, TargetExtra

from bhtom2.brokers.gaia_alerts import GaiaAlertsBroker
from bhtom_base.models import LightcurveUpdateState, UpdateStatus
from bhtom_base.scheduling import due_filter, due_pairs, is_due, next_due_text, queued_lease
from bhtom_base.update import update_lightcurve

pytestmark = pytest.mark.django_db


class RecordingBroker(GaiaAlertsBroker):
    """The Gaia Alerts broker, remembering the ``since`` it was given (and taken as incremental)."""

    seen: list = []
    incremental = True

    def fetch(self, target, survey_name, since):
        RecordingBroker.seen.append(since)
        return super().fetch(target, survey_name, since)


class ReleaseBroker(RecordingBroker):
    update_cadence = None  # a data release: fetched once
    incremental = False


@pytest.fixture
def target():
    target = Target.objects.create(name="Gaia14aaa", type="SIDEREAL", ra=200.25961, dec=45.53943)
    TargetExtra.objects.create(target=target, key="GAIA", value="Gaia14aaa")
    RecordingBroker.seen = []
    return target


def state_of(target) -> LightcurveUpdateState:
    return LightcurveUpdateState.objects.get(target=target, source="GAIA")


def agrees_with_query(state: LightcurveUpdateState, now) -> bool:
    """is_due (Python) and due_filter (SQL) give the same answer."""
    in_query = LightcurveUpdateState.objects.filter(due_filter(now), pk=state.pk).exists()
    return in_query == is_due(state, now)


def test_a_success_is_due_again_after_the_cadence_and_not_before(target, replay):
    assert due_pairs([(target, "GAIA")]) == [(target, "GAIA")]  # never run
    report = update_lightcurve(GaiaAlertsBroker(), target)
    assert report.status == "done" and report.new_points == 28
    state = state_of(target)
    cadence = timedelta(days=1)
    assert abs(state.next_due - (state.last_success + cadence)) < timedelta(seconds=1)
    assert due_pairs([(target, "GAIA")]) == []
    for offset, due in ((timedelta(hours=23), False), (cadence + timedelta(minutes=1), True)):
        now = state.last_success + offset
        assert is_due(state, now) is due and agrees_with_query(state, now)


def test_failures_back_off_further_each_time_and_a_success_resets(target, replay):
    replay.inject(path="/alerts/alert/Gaia14aaa/", status=500)
    delays = []
    for _ in range(3):
        update_lightcurve(GaiaAlertsBroker(), target)
        state = state_of(target)
        assert state.status == "failed"
        delays.append(state.next_due - state.last_attempt)
        assert not is_due(state, state.last_attempt + delays[-1] - timedelta(minutes=1))
        assert is_due(state, state.last_attempt + delays[-1] + timedelta(minutes=1))
        assert agrees_with_query(state, state.last_attempt + delays[-1] + timedelta(minutes=1))
    assert [round(d / timedelta(minutes=1)) for d in delays] == [30, 60, 120]
    assert state.consecutive_failures == 3
    replay.clear_faults()
    update_lightcurve(GaiaAlertsBroker(), target)
    state = state_of(target)
    assert state.status == "done" and state.consecutive_failures == 0
    assert state.next_due - state.last_success == pytest.approx(timedelta(days=1), abs=timedelta(seconds=1))


def test_a_data_release_is_fetched_once_and_never_due_again(target, replay):
    update_lightcurve(ReleaseBroker(), target)
    state = state_of(target)
    assert state.status == "done" and state.next_due is None
    far = timezone.now() + timedelta(days=3650)
    assert not is_due(state, far) and agrees_with_query(state, far)
    assert next_due_text(state) == "never (data release)"
    report = update_lightcurve(ReleaseBroker(), target)  # without --force: nothing fetched
    assert report.status == "up_to_date" and len(RecordingBroker.seen) == 1
    update_lightcurve(ReleaseBroker(), target, force=True)
    assert len(RecordingBroker.seen) == 2 and RecordingBroker.seen == [None, None]


def test_a_failed_data_release_is_retried_after_a_back_off(target, replay):
    replay.inject(path="/alerts/alert/Gaia14aaa/", status=500)
    update_lightcurve(ReleaseBroker(), target)
    state = state_of(target)
    assert state.status == "failed" and state.next_due is not None
    assert is_due(state, state.next_due + timedelta(seconds=1))


def test_running_and_queued_pairs_are_due_again_only_after_their_lease(target):
    now = timezone.now()
    state = LightcurveUpdateState.objects.create(target=target, source="GAIA", status=UpdateStatus.RUNNING,
                                                 last_attempt=now, running_until=now + timedelta(minutes=30))
    assert not is_due(state, now) and agrees_with_query(state, now)
    later = now + timedelta(minutes=31)  # the process died: its lease expired
    assert is_due(state, later) and agrees_with_query(state, later)

    state.status, state.queued_at, state.running_until = UpdateStatus.QUEUED, now, None
    state.save()
    assert not is_due(state, now) and agrees_with_query(state, now)
    lost = now + queued_lease() + timedelta(minutes=1)  # the task never ran
    assert is_due(state, lost) and agrees_with_query(state, lost)
    assert due_pairs([(target, "GAIA")]) == []  # queued just now: not again


def test_since_is_the_last_stored_point_minus_the_overlap(target, replay):
    update_lightcurve(RecordingBroker(), target)
    last = PhotometryReducedDatum.objects.filter(target=target).latest("timestamp").timestamp
    update_lightcurve(RecordingBroker(), target)
    update_lightcurve(RecordingBroker(), target, force=True)
    assert RecordingBroker.seen[0] is None  # nothing stored yet: everything
    assert RecordingBroker.seen[1] == last - timedelta(days=1)  # one day of overlap
    assert RecordingBroker.seen[2] is None  # --force: everything again
    # Rows deleted by hand are fetched again: since follows the stored rows, not the state.
    newest = PhotometryReducedDatum.objects.filter(target=target).order_by("-timestamp")[:5]
    PhotometryReducedDatum.objects.filter(pk__in=list(newest.values_list("pk", flat=True))).delete()
    remaining = PhotometryReducedDatum.objects.filter(target=target).latest("timestamp").timestamp
    update_lightcurve(RecordingBroker(), target)
    assert RecordingBroker.seen[3] == remaining - timedelta(days=1)
    assert PhotometryReducedDatum.objects.filter(target=target).count() == 28


class VersionedBroker(RecordingBroker):
    version = "v1"

    @property
    def data_version(self) -> str:
        return VersionedBroker.version


def test_an_incremental_broker_fetches_everything_weekly_and_when_its_data_version_changes(target, replay, settings):
    seen = RecordingBroker.seen
    start = len(seen)
    update_lightcurve(VersionedBroker(), target)
    state = state_of(target)
    assert state.last_full_fetch is not None and state.data_version == "v1"
    update_lightcurve(VersionedBroker(), target)
    assert seen[start + 1] is not None  # incremental
    state.refresh_from_db()
    state.last_full_fetch -= timedelta(days=7, seconds=1)  # a week since the last full fetch
    state.save()
    update_lightcurve(VersionedBroker(), target)
    assert seen[start + 2] is None
    settings.BHTOM_FULL_REFETCH_DAYS = {"GAIA": 0.5}  # per source
    state.refresh_from_db()
    state.last_full_fetch -= timedelta(days=0.5, seconds=1)
    state.save()
    update_lightcurve(VersionedBroker(), target)
    assert seen[start + 3] is None
    update_lightcurve(VersionedBroker(), target)
    assert seen[start + 4] is not None
    VersionedBroker.version = "v2"  # what the source fetches from changed (a new release)
    update_lightcurve(VersionedBroker(), target)
    assert seen[start + 5] is None
    state.refresh_from_db()
    assert state.data_version == "v2"
    assert set(PhotometryReducedDatum.objects.filter(target=target).values_list("reduction_version", flat=True)) == {
        "v2"}
    assert PhotometryReducedDatum.objects.filter(target=target).count() == state.total_points == 28


def test_due_runs_only_what_is_due_and_shows_when_next(target, replay):
    other = Target.objects.create(name="Gaia18dqq", type="SIDEREAL", ra=176.4, dec=40.2)
    TargetExtra.objects.create(target=other, key="GAIA", value="Gaia18dqq")
    out = io.StringIO()
    call_command("update_reduced_data", "--due", "--source", "GAIA", stdout=out)
    assert "2 updates: 2 done" in out.getvalue()
    next_due = state_of(target).next_due.strftime("%Y-%m-%d %H:%M UTC")
    assert next_due in out.getvalue()
    replay.clear_requests()
    out = io.StringIO()
    call_command("update_reduced_data", "--due", "--source", "GAIA", stdout=out)
    assert replay.requests_to("/alerts/") == [] and "0 updates" in out.getvalue()
    # One pair's cadence passes: only that one runs.
    LightcurveUpdateState.objects.filter(target=other).update(next_due=timezone.now() - timedelta(seconds=1))
    out = io.StringIO()
    call_command("update_reduced_data", "--due", "--source", "GAIA", stdout=out)
    assert [r.path for r in replay.requests_to("/alerts/")] == ["/alerts/alert/Gaia18dqq/lightcurve.csv"]
    assert "1 updates: 1 done; 0 new points" in out.getvalue()


def test_enqueue_marks_pairs_queued_and_puts_one_task_per_pair(target, replay, settings,
                                                               django_capture_on_commit_callbacks):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    from django_tasks import default_task_backend

    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("update_reduced_data", "--enqueue", "--source", "GAIA", stdout=out)
    assert "Queued 1 updates" in out.getvalue()
    state = state_of(target)
    assert state.status == "queued" and state.queued_at is not None
    assert [(r.args, r.kwargs) for r in default_task_backend.results] == [([target.pk, "GAIA", False], {})]
    assert due_pairs([(target, "GAIA")]) == []  # queued: not queued twice by the next cron run
    with pytest.raises(CommandError):
        call_command("update_reduced_data", "--source", "NOPE", "--enqueue")


def test_the_admin_action_queues_the_selected_pairs(target, admin_client, settings,
                                                    django_capture_on_commit_callbacks):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    from django_tasks import default_task_backend

    state = LightcurveUpdateState.objects.create(target=target, source="GAIA", status=UpdateStatus.FAILED)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/admin/bhtom_base/lightcurveupdatestate/",
                                     {"action": "update_now", "_selected_action": [state.pk]})
    assert response.status_code == 302
    state.refresh_from_db()
    assert state.status == "queued"
    assert [r.args for r in default_task_backend.results] == [[target.pk, "GAIA", True]]


def test_claiming_is_conditional_on_the_row_a_concurrent_request_just_wrote(target, settings):
    """The second of two claims (a double click, a click and cron) gets nothing; a finished pair is claimable."""
    from bhtom_base.scheduling import claim_pairs

    other = Target.objects.create(name="other", type="SIDEREAL", ra=1, dec=2)
    pairs = [(target, "GAIA"), (other, "GAIA")]
    assert claim_pairs(pairs) == pairs
    assert claim_pairs(pairs) == []  # both are queued now: nobody queues them again
    assert claim_pairs(pairs, only_due=True) == []
    LightcurveUpdateState.objects.filter(target=other).update(
        status=UpdateStatus.DONE, next_due=timezone.now() + timedelta(hours=1))
    assert claim_pairs(pairs, only_due=True) == []  # finished in between and not due: cron leaves it
    assert claim_pairs(pairs) == [(other, "GAIA")]  # a press asks for fresh data: queued again
    # a queued pair whose task was lost (past the queue lease) can be claimed again
    LightcurveUpdateState.objects.filter(target=target).update(
        queued_at=timezone.now() - queued_lease() - timedelta(seconds=1))
    assert claim_pairs(pairs, only_due=True) == [(target, "GAIA")]


def test_two_presses_of_the_button_queue_each_source_once(target, client, django_user_model, settings,
                                                           django_capture_on_commit_callbacks):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    from django_tasks import default_task_backend

    client.force_login(django_user_model.objects.create_superuser("boss", "b@example.org", "pw"))
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(2):
            assert client.post(f"/bhtom/targets/{target.pk}/lightcurve/update/").status_code == 302
    queued = [tuple(r.args[:2]) for r in default_task_backend.results]
    assert len(queued) == len(set(queued)) == len(settings.TOM_ALERT_CLASSES)
