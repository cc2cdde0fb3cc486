"""Which (target, source) pairs are due, and putting pairs on the task queue.

A pair is due when

* it never ran;
* its last update finished and ``next_due`` has passed: the source's
  ``update_cadence`` after a success, a growing back-off after failures
  (:func:`bhtom_base.update.failure_backoff`: 30 min, 1 h, 2 h ... at most the
  cadence or two days), the cadence (or 30 days) when not configured / not in
  the survey. A data release (``update_cadence`` None) that succeeded has no
  ``next_due``: it is never due again unless forced;
* it is ``running`` but its lease (``running_until``) expired: the process died;
* it is ``queued`` but its task has not started within the queue lease
  (``BHTOM_QUEUED_LEASE_SECONDS``, default 6 h): the task was lost.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db.models import Q
from django.utils import timezone
from tom_targets.models import Target

from . import conf
from .fast_insert import insert_like
from .models import FINISHED_STATUSES, LightcurveUpdateState, UpdateStatus
from .task_queue import enqueue_many


def queued_lease() -> timedelta:
    return timedelta(seconds=float(conf.setting("BHTOM_QUEUED_LEASE_SECONDS")))


def due_pairs(pairs: list[tuple[Target, str]], classes: dict | None = None) -> list[tuple[Target, str]]:
    """The pairs (in their order) that are due now.

    One query for the keys of the pairs that are *not* due (the rule of
    :func:`due_filter`, evaluated by the database); every other pair is due,
    a pair without a state included. No model instance is built, so 160,000
    pairs take well under a second.
    """
    now = timezone.now()
    sources = {source for _, source in pairs}
    target_ids = {target.pk for target, _ in pairs}
    not_due = LightcurveUpdateState.objects.filter(source__in=sources).exclude(due_filter(now))
    if len(target_ids) <= 2000:  # a few targets: ask for those; many: read the sources' states at once
        not_due = not_due.filter(target_id__in=target_ids)
    waiting = set(not_due.values_list("target_id", "source"))
    return [(target, source) for target, source in pairs if (target.pk, source) not in waiting]


def in_flight(state: LightcurveUpdateState, now: datetime | None = None) -> bool:
    """Queued or running, and its lease not yet expired: a worker has it or will take it."""
    return state.status in (UpdateStatus.QUEUED, UpdateStatus.RUNNING) and not is_due(state, now)


def is_due(state: LightcurveUpdateState, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    if state.status == UpdateStatus.NEVER_RUN:
        return True
    if state.status == UpdateStatus.RUNNING:
        return state.running_until is None or state.running_until < now
    if state.status == UpdateStatus.QUEUED:
        return state.queued_at is None or state.queued_at + queued_lease() < now
    return state.next_due is not None and state.next_due <= now


def due_filter(now: datetime | None = None) -> Q:
    """The same rule as :func:`is_due`, as a query on ``LightcurveUpdateState``."""
    now = now or timezone.now()
    return (
        Q(status=UpdateStatus.NEVER_RUN)
        | Q(status=UpdateStatus.RUNNING, running_until__isnull=True)
        | Q(status=UpdateStatus.RUNNING, running_until__lt=now)
        | Q(status=UpdateStatus.QUEUED, queued_at__isnull=True)
        | Q(status=UpdateStatus.QUEUED, queued_at__lt=now - queued_lease())
        | Q(status__in=FINISHED_STATUSES, next_due__lte=now)
    )


def next_due(state: LightcurveUpdateState | None) -> datetime | None:
    """When the pair is next due (None: never again unless forced)."""
    if state is None or state.status == UpdateStatus.NEVER_RUN:
        return timezone.now()
    if state.status == UpdateStatus.RUNNING:
        return state.running_until
    if state.status == UpdateStatus.QUEUED:
        return (state.queued_at + queued_lease()) if state.queued_at else timezone.now()
    return state.next_due


def next_due_text(state: LightcurveUpdateState | None, now: datetime | None = None) -> str:
    """'now', an ISO time (UTC, to the minute), or 'never (data release)'."""
    now = now or timezone.now()
    when = next_due(state)
    if when is None:
        return "never (data release)" if state and state.status == UpdateStatus.DONE else "never"
    if when <= now:
        return "now"
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def enqueue_pairs(pairs: list[tuple[Target, str]], force: bool = False) -> int:
    """One task per pair; the state shows 'queued' until a worker takes it."""
    from .tasks import update_target_source

    now = timezone.now()
    by_source: dict[str, list[int]] = {}
    for target, source in pairs:
        by_source.setdefault(source, []).append(target.pk)
    for source, target_ids in by_source.items():
        for start in range(0, len(target_ids), 5000):
            chunk = target_ids[start:start + 5000]
            insert_like(LightcurveUpdateState(source=source), ("target_id",), [(pk,) for pk in chunk],
                        ignore_conflicts=True)
            LightcurveUpdateState.objects.filter(source=source, target_id__in=chunk).update(
                status=UpdateStatus.QUEUED, queued_at=now
            )
    return enqueue_many(update_target_source, [(target.pk, source, force) for target, source in pairs])
