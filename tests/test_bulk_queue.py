"""Queueing many pairs at once (issue #16, part 3): the rows are the ones django-tasks itself writes.

``update_reduced_data --enqueue`` writes update states and django-tasks rows
with :func:`bhtom_base.fast_insert.insert_like` instead of one ``save()`` per
row; bench/bench_plan.py measures the speed, these tests what is written.
"""
from __future__ import annotations

import pytest
from django.core.management import call_command
from django.utils import timezone
from tom_targets.models import Target

from bhtom_base.fast_insert import insert_like
from bhtom_base.models import LightcurveUpdateState, UpdateStatus
from bhtom_base.task_queue import enqueue_many
from bhtom_base.tasks import update_target_source

pytestmark = pytest.mark.django_db

COMPARED = ("status", "task_path", "queue_name", "priority", "backend_name", "run_after", "args_kwargs",
            "return_value", "exception_class_path", "traceback", "started_at", "finished_at")


@pytest.fixture
def database_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.database.DatabaseBackend"}}
    from django_tasks.backends.database.models import DBTaskResult

    return DBTaskResult


def make_targets(count: int) -> list[Target]:
    return [Target.objects.create(name=f"queue{i}", type="SIDEREAL", ra=float(i), dec=0.0) for i in range(count)]


def test_rows_match_what_task_enqueue_writes(database_tasks, django_capture_on_commit_callbacks):
    targets = make_targets(3)
    with django_capture_on_commit_callbacks(execute=True):  # django-tasks writes its rows on commit
        one = update_target_source.enqueue(targets[0].pk, "GAIA", False)
        assert enqueue_many(update_target_source, [(t.pk, "GAIA", False) for t in targets]) == 3
    reference = database_tasks.objects.get(pk=one.id)

    written = database_tasks.objects.exclude(pk=one.id).order_by("args_kwargs__args__0")
    assert [row.args_kwargs for row in written] == [{"args": [t.pk, "GAIA", False], "kwargs": {}} for t in targets]
    for row in written:
        assert row.pk != reference.pk
        assert abs(row.enqueued_at - reference.enqueued_at).total_seconds() < 60
        for name in COMPARED:
            if name != "args_kwargs":
                assert getattr(row, name) == getattr(reference, name), name
        result = row.task_result  # what a db_worker reads back
        assert result.task.func is update_target_source.func
        assert result.args == [row.args_kwargs["args"][0], "GAIA", False]
    assert len({row.pk for row in written}) == 3


def test_enqueue_command_queues_each_pair_once(database_tasks, django_capture_on_commit_callbacks):
    targets = make_targets(4)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("update_reduced_data", "--enqueue", "--source", "GAIA", "--source", "ZTF", "--quiet")
    rows = database_tasks.objects.all()
    assert sorted(tuple(r.args_kwargs["args"][:2]) for r in rows) == sorted(
        (t.pk, source) for t in targets for source in ("GAIA", "ZTF"))
    assert set(LightcurveUpdateState.objects.values_list("status", flat=True)) == {UpdateStatus.QUEUED}
    assert LightcurveUpdateState.objects.count() == 8


def test_insert_like_keeps_existing_rows_with_ignore_conflicts():
    targets = make_targets(3)
    finished = timezone.now()
    LightcurveUpdateState.objects.create(target=targets[1], source="GAIA", status=UpdateStatus.DONE,
                                         last_success=finished, new_points=7)

    insert_like(LightcurveUpdateState(source="GAIA"), ("target_id",), [(t.pk,) for t in targets],
                ignore_conflicts=True)

    states = {s.target_id: s for s in LightcurveUpdateState.objects.filter(source="GAIA")}
    assert len(states) == 3
    assert states[targets[1].pk].status == UpdateStatus.DONE and states[targets[1].pk].new_points == 7
    assert states[targets[1].pk].last_success == finished
    for target in (targets[0], targets[2]):
        assert states[target.pk].status == UpdateStatus.NEVER_RUN
        assert states[target.pk].last_success is None


def test_insert_like_names_an_unknown_column():
    with pytest.raises(ValueError, match="no column nonsense"):
        insert_like(LightcurveUpdateState(source="GAIA"), ("nonsense",), [(1,)])
