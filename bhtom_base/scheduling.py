"""Which (target, source) pairs are due, and putting pairs on the task queue."""
from __future__ import annotations

from django.db.models import Q
from django.utils import timezone
from tom_targets.models import Target

from .models import LightcurveUpdateState, UpdateStatus


def due_pairs(pairs: list[tuple[Target, str]], classes: dict) -> list[tuple[Target, str]]:
    """Pairs never run, or whose ``next_due`` has passed, or whose running lease expired.

    A data release (``update_cadence`` None) that succeeded once has no
    ``next_due`` and is never due again; failures are due again after a
    growing back-off (see :func:`bhtom_base.update.failure_backoff`).
    """
    now = timezone.now()
    target_ids = {target.pk for target, _ in pairs}
    sources = {source for _, source in pairs}
    states = {
        (state.target_id, state.source): state
        for state in LightcurveUpdateState.objects.filter(target_id__in=target_ids, source__in=sources)
    }
    due = []
    for target, source in pairs:
        state = states.get((target.pk, source))
        if state is None or is_due(state, now):
            due.append((target, source))
    return due


def is_due(state: LightcurveUpdateState, now=None) -> bool:
    now = now or timezone.now()
    if state.status == UpdateStatus.RUNNING:
        return state.running_until is None or state.running_until < now
    if state.status == UpdateStatus.QUEUED:
        return False
    if state.status == UpdateStatus.NEVER_RUN or state.last_attempt is None:
        return True
    return state.next_due is not None and state.next_due <= now


def due_filter(now=None) -> Q:
    """The same rule as :func:`is_due`, as a query on ``LightcurveUpdateState``."""
    now = now or timezone.now()
    return (
        Q(status=UpdateStatus.NEVER_RUN)
        | Q(status=UpdateStatus.RUNNING, running_until__lt=now)
        | (~Q(status__in=[UpdateStatus.RUNNING, UpdateStatus.QUEUED]) & Q(next_due__lte=now))
    )


def enqueue_pairs(pairs: list[tuple[Target, str]], force: bool = False) -> int:
    """One task per pair; the state shows 'queued' until a worker takes it."""
    from .tasks import update_target_source

    now = timezone.now()
    count = 0
    for target, source in pairs:
        state, _ = LightcurveUpdateState.objects.get_or_create(target=target, source=source)
        state.status = UpdateStatus.QUEUED
        state.queued_at = now
        state.save(update_fields=["status", "queued_at"])
        update_target_source.enqueue(target.pk, source, force)
        count += 1
    return count
