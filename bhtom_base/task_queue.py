"""Queueing many django-tasks calls at once.

``Task.enqueue`` saves one row per call on the database backend: 160,000
pairs took 108 s on SQLite. On that backend :func:`enqueue_many` writes the
same rows (the backend's own row for the first call as the template, then a
new id and the call's arguments per row) with
:func:`bhtom_base.fast_insert.insert_like`, in one transaction; on any other
backend it calls ``enqueue`` once per call.

django-tasks' ``task_enqueued`` signal is sent per task only when someone
besides django-tasks' own debug log listens, or that log is on.
"""
from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence

from django.db import router, transaction
from django_tasks.backends.database.backend import DatabaseBackend
from django_tasks.signals import task_enqueued
from django_tasks.task import Task
from django_tasks.utils import json_normalize

from .fast_insert import insert_like

CHUNK = 5000
log = logging.getLogger(__name__)


def enqueue_many(task: Task, calls: Sequence[Sequence]) -> int:
    """Queue ``task(*args)`` for every ``args`` in ``calls``; the number queued."""
    backend = task.get_backend()
    if not isinstance(backend, DatabaseBackend):
        for args in calls:
            task.enqueue(*args)
        return len(calls)
    if not calls:
        return 0
    from django_tasks.backends.database.models import DBTaskResult

    backend.validate_task(task)
    # the backend's own row for one call (django-tasks 0.6, pinned in requirements.txt)
    template = backend._task_to_db_task(task, json_normalize(list(calls[0])), {})
    # The arguments as the JSON text the column stores, one json.dumps per call: what
    # json_normalize (a dumps and a loads) and then the JSONField (another dumps) would make,
    # and the same TypeError for an argument JSON cannot hold.
    encoder = DBTaskResult._meta.get_field("args_kwargs").encoder
    rows = [(uuid.uuid4(), json.dumps({"args": list(args), "kwargs": {}}, cls=encoder)) for args in calls]
    database = router.db_for_write(DBTaskResult)

    def save() -> None:
        with transaction.atomic(using=database):
            for start in range(0, len(rows), CHUNK):
                insert_like(template, ("id", "args_kwargs"), rows[start:start + CHUNK], raw=("args_kwargs",))
        log.debug("%d tasks %s enqueued on backend %s", len(rows), task.module_path, backend.alias)
        if len(task_enqueued.receivers) > 1 or logging.getLogger("django_tasks").isEnabledFor(logging.DEBUG):
            for pk, _ in rows:
                task_enqueued.send(type(backend), task_result=DBTaskResult.objects.get(pk=pk).task_result)

    if backend._get_enqueue_on_commit_for_task(task):
        transaction.on_commit(save, using=database)  # at once when no transaction is open
    else:
        save()
    return len(rows)
