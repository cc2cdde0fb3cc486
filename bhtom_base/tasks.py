"""django-tasks task: one (target, source) update, run by whichever worker takes it.

With ``TASKS_BACKEND=database`` the tasks wait in the database; ``manage.py
update_worker`` processes (several threads each) or django-tasks' ``db_worker``
on any number of machines take them (``SELECT ... FOR UPDATE SKIP LOCKED``:
each task is claimed by exactly one worker thread). The return value names the worker (host and process id) that ran it.
"""
from __future__ import annotations

import os
import socket

from django_tasks import task
from tom_targets.models import Target

from .registry import get_broker
from .update import update_lightcurve


@task()
def update_target_source(target_id: int, source: str, force: bool = False) -> dict:
    worker = f"{socket.gethostname()}:{os.getpid()}"
    target = Target.objects.filter(pk=target_id).first()
    if target is None:
        from .models import LightcurveUpdateState

        LightcurveUpdateState.objects.filter(target_id=target_id, source=source).delete()
        return {"target_id": target_id, "source": source, "status": "failed", "error": "target deleted",
                "worker": worker}
    report = update_lightcurve(get_broker(source), target, force=force)
    return {
        "target_id": target_id,
        "target": report.target_name,
        "source": report.source,
        "status": report.status,
        "new_points": report.new_points,
        "total_points": report.total_points,
        "error": report.error,
        "worker": worker,
    }
