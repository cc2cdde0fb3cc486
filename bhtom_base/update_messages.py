"""What the update button says after it was pressed: true for the task backend in use.

The immediate backend (the default) has already run every update inside the
request, so the message gives their outcome; a queueing backend (database +
``manage.py db_worker``) has only queued them, so it says that and that the
status lines below the plot follow them.
"""
from __future__ import annotations

from django_tasks.backends.immediate import ImmediateBackend
from tom_targets.models import Target

from .models import LightcurveUpdateState, UpdateStatus


def runs_in_request() -> bool:
    from .tasks import update_target_source

    return isinstance(update_target_source.get_backend(), ImmediateBackend)


def update_message(count: int, target: Target, sources: list[str] | None = None) -> str:
    if count == 0:
        return f"Every source of {target.name} is already queued or running."
    plural = "s" if count != 1 else ""
    if not runs_in_request():
        return (f"Queued {count} lightcurve update{plural} for {target.name}; background workers run them "
                f"and the status below the plot follows them.")
    states = LightcurveUpdateState.objects.filter(target=target)
    if sources is not None:
        states = states.filter(source__in=sources)
    done = failed = new = 0
    for status, new_points in states.values_list("status", "new_points"):
        done += status == UpdateStatus.DONE
        failed += status == UpdateStatus.FAILED
        new += new_points if status == UpdateStatus.DONE else 0
    text = f"Updated {target.name} from {count} source{plural}: {new} new point{'s' if new != 1 else ''}"
    if failed:
        text += f"; {failed} failed (in red below the plot)"
    return text + "."
