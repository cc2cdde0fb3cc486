"""django-tasks task: one (target, source) update, run by whichever worker takes it."""
from __future__ import annotations

from django_tasks import task
from tom_targets.models import Target

from .registry import get_broker
from .update import update_lightcurve


@task()
def update_target_source(target_id: int, source: str, force: bool = False) -> dict:
    target = Target.objects.filter(pk=target_id).first()
    if target is None:
        return {"target_id": target_id, "source": source, "status": "failed", "error": "target deleted"}
    report = update_lightcurve(get_broker(source), target, force=force)
    return {
        "target": report.target_name,
        "source": report.source,
        "status": report.status,
        "new_points": report.new_points,
        "total_points": report.total_points,
        "error": report.error,
    }
