"""ATLAS end to end through the replay server: queue -> poll -> result -> rows, throttling and failures."""
from __future__ import annotations

import io
import math

import pytest
from astropy.time import Time
from django.core.management import call_command
from django.core.management.base import CommandError
from tom_dataproducts.models import PhotometryReducedDatum
from tom_targets.models import Target

from bhtom_base.brightness import BRIGHTNESS_KEY
from bhtom_base.models import LightcurveUpdateState
from bhtom_base.survey_names import set_survey_name
from tests.replay_handlers import atlas as server

pytestmark = pytest.mark.django_db

# Counted in tests/brokers/test_atlas_parse.py from the raw file (a 13.5 mag star on reduced images):
# 909 detections pass the ATLAS FAQ cuts; none of its S/N < 5 rows is a limit (each fails a cut).
DETECTIONS, LIMITS = 909, 0
SKIPPED = 1042 - 909


def run(*args) -> str:
    out = io.StringIO()
    call_command("update_reduced_data", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def atlas(replay, settings):
    settings.BHTOM_ATLAS_TOKEN = "test-token"
    server.reset()
    yield replay
    server.reset()


@pytest.fixture
def target():
    return Target.objects.create(name="ASASSN-21qj", type="SIDEREAL", ra=123.84754, dec=-38.98983)


def rows(target):
    return PhotometryReducedDatum.objects.filter(target=target, source_name="ATLAS")


def posts(replay) -> int:
    return sum(1 for r in replay.requests_to("/forcedphot/queue/") if r.method == "POST")


def test_queue_poll_result_and_second_run_inserts_nothing(atlas, target):
    output = run("ASASSN-21qj", "--source", "ATLAS")
    stored = rows(target)
    assert stored.count() == DETECTIONS + LIMITS
    assert stored.filter(limit__isnull=False).count() == LIMITS
    assert stored.filter(brightness__isnull=False).count() == DETECTIONS
    assert set(stored.values_list("bandpass", flat=True)) == {"c(ATLAS)", "o(ATLAS)"}
    first = stored.order_by("timestamp").first()
    assert (first.brightness, first.bandpass) == (13.616, "o(ATLAS)")
    assert first.brightness_error == pytest.approx(2.5 / math.log(10) * 44 / 12984)  # not dm = 0.003
    assert abs((Time(first.timestamp) - Time(58037.635279, format="mjd")).sec - 15) < 1e-3  # mid-exposure
    assert first.value["point_id"] == "02a58037o0713o" and first.value["survey_time"] == "58037.635279"
    assert "/forcedphot/static/results/job" in first.source_location
    # one task queued from the start of ATLAS, polled until done, read, then deleted
    assert server.QUEUED[0]["mjd_min"] == "57000.00000"
    assert server.QUEUED[0]["ra"] == "123.847540" and server.QUEUED[0]["dec"] == "-38.989830"
    assert server.QUEUED[0]["use_reduced"] == "True"  # a target not marked as a transient: its total flux
    polls = [r for r in atlas.requests_to("/forcedphot/queue/1000/") if r.method == "GET"]
    assert len(polls) == 2 and len(server.DELETED) == 1
    state = LightcurveUpdateState.objects.get(target=target, source="ATLAS")
    assert (state.status, state.new_points, state.total_points) == ("done", DETECTIONS + LIMITS, DETECTIONS + LIMITS)
    assert state.skipped_rows == SKIPPED
    assert "ASASSN-21qj" in output

    run("ASASSN-21qj", "--source", "ATLAS")
    assert rows(target).count() == DETECTIONS + LIMITS
    state.refresh_from_db()
    assert (state.status, state.new_points) == ("done", 0)
    # incremental: the second task starts one day before the last stored point
    last_mjd = Time(state.last_point).mjd
    assert float(server.QUEUED[1]["mjd_min"]) == pytest.approx(last_mjd - 1, abs=1e-4)


def test_a_transient_is_measured_on_difference_images(atlas):
    transient = Target.objects.create(name="SkyPortal example", type="SIDEREAL", ra=342.4596, dec=51.2634)
    set_survey_name(transient, BRIGHTNESS_KEY, "difference")
    run("SkyPortal example", "--source", "ATLAS")
    assert server.QUEUED[0]["use_reduced"] == "False"
    stored = rows(transient)
    assert stored.count() == 5 and stored.filter(limit__isnull=False).count() == 0
    assert sorted(stored.values_list("brightness", flat=True)) == [16.177, 16.258, 16.451, 16.582, 17.223]


def test_a_task_measured_on_other_images_than_asked_is_a_recorded_error(atlas, target):
    set_survey_name(target, BRIGHTNESS_KEY, "difference")  # the recording was made on reduced images
    with pytest.raises(CommandError, match="1 of 1 updates failed"):
        run("ASASSN-21qj", "--source", "ATLAS")
    state = LightcurveUpdateState.objects.get(target=target, source="ATLAS")
    assert state.status == "failed"
    assert "measured reduced images where difference images were asked" in state.last_error
    assert rows(target).count() == 0 and len(server.DELETED) == 1


def test_throttled_queue_and_poll_are_waited_out(atlas, target):
    server.THROTTLE.update(queue=1, poll=3)  # poll: more 429s than the HTTP client retries by itself
    run("ASASSN-21qj", "--source", "ATLAS")
    assert posts(atlas) == 2  # the throttled POST was sent again after the wait
    polls = [r for r in atlas.requests_to("/forcedphot/queue/1000/") if r.method == "GET"]
    # 3 throttled polls (the client's own 2 retries, then the broker waits), 1 pending, 1 done
    assert len(polls) == 5
    assert rows(target).count() == DETECTIONS + LIMITS
    assert LightcurveUpdateState.objects.get(target=target, source="ATLAS").status == "done"


def test_throttled_beyond_the_maximum_wait_is_a_recorded_error(atlas, target):
    server.THROTTLE.update(queue=1)
    server.THROTTLE_SECONDS = 3600
    with pytest.raises(CommandError, match="1 of 1 updates failed"):
        run("ASASSN-21qj", "--source", "ATLAS")
    state = LightcurveUpdateState.objects.get(target=target, source="ATLAS")
    assert state.status == "failed" and "available in 3600 s" in state.last_error
    assert rows(target).count() == 0


def test_task_not_finished_in_time_is_a_recorded_error_and_the_task_is_deleted(atlas, target, settings):
    settings.BHTOM_ATLAS_MAX_WAIT = 0.2
    server.PENDING_POLLS = 10**6
    with pytest.raises(CommandError):
        run("ASASSN-21qj", "--source", "ATLAS")
    state = LightcurveUpdateState.objects.get(target=target, source="ATLAS")
    assert state.status == "failed" and "not finished within 0.2 s" in state.last_error
    assert rows(target).count() == 0 and len(server.DELETED) == 1


def test_no_data_for_the_position_is_an_empty_success(atlas):
    empty = Target.objects.create(name="nowhere", type="SIDEREAL", ra=10.0, dec=-10.0)
    run("nowhere", "--source", "ATLAS")
    state = LightcurveUpdateState.objects.get(target=empty, source="ATLAS")
    assert (state.status, state.total_points) == ("done", 0)


def test_missing_token_is_not_configured_with_exit_status_zero(replay, target, settings):
    settings.BHTOM_ATLAS_TOKEN = ""
    output = run("ASASSN-21qj", "--source", "ATLAS")  # no CommandError: exit status 0
    assert "not configured" in output and "ATLAS_TOKEN is not set" in output
    state = LightcurveUpdateState.objects.get(target=target, source="ATLAS")
    assert state.status == "not_configured" and state.last_error == "ATLAS_TOKEN is not set"
    assert replay.requests_to("/forcedphot/") == []


def test_a_target_without_coordinates_is_not_in_this_survey(atlas):
    Target.objects.create(name="nonsidereal", type="NON_SIDEREAL")
    run("nonsidereal", "--source", "ATLAS")
    state = LightcurveUpdateState.objects.get(target__name="nonsidereal", source="ATLAS")
    assert state.status == "no_survey_name" and "no coordinates" in state.last_error


@pytest.mark.parametrize(
    "path, fault, message",
    [
        ("/forcedphot/queue/", {"status": 500}, "HTTP 500"),
        ("/forcedphot/static/results/", {"status": 500}, "HTTP 500 Internal Server Error (still, after 2 retries)"),
        ("/forcedphot/static/results/", {"html": True}, "HTML page"),
        ("/forcedphot/static/results/", {"truncate": 300}, "truncated body"),
        ("/forcedphot/static/results/", {"delay": 4.0}, "read timeout"),
        ("/forcedphot/queue/", {"html": True}, "HTML page"),
    ],
)
def test_failures_are_recorded_errors_with_no_rows(atlas, target, path, fault, message):
    atlas.inject(path=path, **fault)
    with pytest.raises(CommandError, match="1 of 1 updates failed"):
        run("ASASSN-21qj", "--source", "ATLAS")
    state = LightcurveUpdateState.objects.get(target=target, source="ATLAS")
    assert state.status == "failed" and message in state.last_error
    assert rows(target).count() == 0


def test_the_tom_broker_interface_only_queues_a_task(atlas, target, settings):
    from bhtom2.brokers.atlas import AtlasBroker

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    report = AtlasBroker().process_reduced_data(target)
    assert report.status == "queued"
    assert atlas.requests_to("/forcedphot/") == [] and rows(target).count() == 0
