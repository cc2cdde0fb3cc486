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

A killed worker leaves its pair "running" until the lease ends and its
django-tasks row RUNNING for ever: :func:`release_dead_work` (run by
``update_reduced_data --due``) marks both failed, and a person can do so at
once with the admin's "mark as failed" (:func:`mark_failed`).
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db import connection
from django.db.models import F, Q
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


def in_flight_filter(now: datetime | None = None) -> Q:
    """The same rule as :func:`in_flight`, as a query on ``LightcurveUpdateState``."""
    now = now or timezone.now()
    return (
        Q(status=UpdateStatus.QUEUED, queued_at__isnull=False, queued_at__gte=now - queued_lease())
        | Q(status=UpdateStatus.RUNNING, running_until__isnull=False, running_until__gte=now)
    )


CLAIM_CHUNK = 5000  # target ids per UPDATE (SQLite >= 3.32 takes 32,766 variables)


def claim_pairs(pairs: list[tuple[Target, str]], only_due: bool = False) -> list[tuple[Target, str]]:
    """Mark the pairs queued, atomically: the pairs (in their order) this call won.

    One conditional ``UPDATE ... WHERE <not in flight> RETURNING`` per chunk: of
    two requests racing for a pair (two clicks, a click and cron, two crons) the
    database lets exactly one change the row; the other sees it queued and
    skips it. ``only_due`` (cron's ``--due``) also skips a pair that another
    request queued and a worker finished in between (it is no longer due).
    """
    now = timezone.now()
    by_source: dict[str, list[int]] = {}
    for target, source in pairs:
        by_source.setdefault(source, []).append(target.pk)
    condition = due_filter(now) if only_due else ~in_flight_filter(now)
    won: set[tuple[int, str]] = set()
    for source, target_ids in by_source.items():
        claimable = LightcurveUpdateState.objects.filter(condition, source=source)
        for start in range(0, len(target_ids), CLAIM_CHUNK):
            chunk = target_ids[start:start + CLAIM_CHUNK]
            insert_like(LightcurveUpdateState(source=source), ("target_id",), [(pk,) for pk in chunk],
                        ignore_conflicts=True)
            won.update((target_id, source) for target_id in _mark_queued(claimable, chunk, now))
    return [(target, source) for target, source in pairs if (target.pk, source) in won]


def _mark_queued(claimable, target_ids: list[int], now: datetime) -> list[int]:
    """``UPDATE`` the rows of ``claimable`` among ``target_ids`` to queued; the target ids of the rows changed.

    Django's ``update()`` returns only a count, so this is Django's own WHERE
    clause on the table itself (not in a subquery: PostgreSQL re-checks only the
    updated table's own conditions against a row a concurrent request just
    changed) with ``SET ... RETURNING`` around it (PostgreSQL, SQLite >= 3.35).
    The ``target_id IN (...)`` is added here rather than by ``filter()``: Django's
    ``__in`` lookup prepares each of the 5,000 ids twice, which took longer than
    the ``UPDATE`` itself.
    """
    table = connection.ops.quote_name(LightcurveUpdateState._meta.db_table)
    column = connection.ops.quote_name
    query = claimable.query
    where_sql, where_params = query.get_compiler(connection=connection).compile(query.where)
    queued_at = connection.ops.adapt_datetimefield_value(now)
    ids = [int(pk) for pk in target_ids]
    if connection.vendor == "postgresql":  # one array: psycopg parses a query of 5,000 %s slowly
        in_ids, ids = "= ANY(%s)", [ids]
    else:
        in_ids = f"IN ({', '.join(['%s'] * len(ids))})"
    sql = (f"UPDATE {table} SET {column('status')} = %s, {column('queued_at')} = %s "
           f"WHERE ({where_sql}) AND {column('target_id')} {in_ids} RETURNING {column('target_id')}")
    with connection.cursor() as cursor:
        cursor.execute(sql, [UpdateStatus.QUEUED.value, queued_at, *where_params, *ids])
        return [row[0] for row in cursor.fetchall()]


def enqueue_pairs(pairs: list[tuple[Target, str]], force: bool = False, only_due: bool = False) -> int:
    """One task per pair this call could claim (see :func:`claim_pairs`); the number queued.

    A pair already queued or running (within its lease) is left alone, so two
    clicks, a click and cron, or two crons never queue the same work twice.
    """
    from .tasks import update_target_source

    claimed = claim_pairs(pairs, only_due=only_due)
    return enqueue_many(update_target_source, [(target.pk, source, force) for target, source in claimed])


def busy_since(state: LightcurveUpdateState) -> datetime | None:
    """Since when the pair has been queued or running (None when it is neither)."""
    if state.status == UpdateStatus.RUNNING:
        return state.last_attempt
    if state.status == UpdateStatus.QUEUED:
        return state.queued_at
    return None


def duration_text(delta: timedelta) -> str:
    """'40 s', '12 min', '3 h 05 min', '2 d 4 h'."""
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if hours < 1:
        return f"{minutes} min"
    if days < 1:
        return f"{hours} h {minutes % 60:02d} min"
    return f"{days} d {hours % 24} h"


def busy_text(state: LightcurveUpdateState, now: datetime | None = None) -> str:
    """'running for 12 min' / 'queued for 40 s', or '' for a finished pair."""
    since = busy_since(state)
    if since is None:
        return ""
    return f"{state.get_status_display()} for {duration_text((now or timezone.now()) - since)}"


def mark_failed(states, reason: str, now: datetime | None = None) -> int:
    """The queued or running pairs among ``states`` become failed with ``reason``, due again at once.

    A worker that is in fact still alive records its own result when it ends.
    """
    now = now or timezone.now()
    return states.filter(status__in=(UpdateStatus.QUEUED, UpdateStatus.RUNNING)).update(
        status=UpdateStatus.FAILED, running_until=None, last_error=reason, new_points=0, next_due=now,
        consecutive_failures=F("consecutive_failures") + 1,
    )


WORKER_GONE = "stopped without a result: its worker is gone (killed or its machine lost)"
TASK_GRACE = timedelta(seconds=60)  # a task records its pair's result a moment before its own


def release_dead_work(now: datetime | None = None) -> tuple[int, int]:
    """Fail what dead workers left behind; returns (pairs, django-tasks rows) released.

    * a pair ``running`` past its lease;
    * a django-tasks row of ours RUNNING for over a minute whose pair is no
      longer running within its lease (its worker died before or after taking
      the pair), and that pair if it is still queued.
    """
    now = now or timezone.now()
    expired = LightcurveUpdateState.objects.filter(
        Q(running_until__isnull=True) | Q(running_until__lt=now), status=UpdateStatus.RUNNING)
    pairs = mark_failed(expired, WORKER_GONE, now)
    tasks = 0
    for row in _running_task_rows(now):
        target_id, source = row.args_kwargs["args"][:2]
        state = LightcurveUpdateState.objects.filter(target_id=target_id, source=source).first()
        if state is not None and state.status == UpdateStatus.RUNNING and not is_due(state, now):
            continue  # its pair is running within the lease: the worker may well be alive
        if state is not None:
            pairs += mark_failed(LightcurveUpdateState.objects.filter(pk=state.pk), WORKER_GONE, now)
        tasks += type(row).objects.filter(pk=row.pk, status="RUNNING").update(
            status="FAILED", finished_at=now, exception_class_path="bhtom_base.errors.WorkerGone",
            traceback=WORKER_GONE)
    return pairs, tasks


def _running_task_rows(now: datetime) -> list:
    """Our RUNNING rows of the django-tasks database backend, when it is installed."""
    from django.apps import apps

    if not apps.is_installed("django_tasks.backends.database"):
        return []
    from django_tasks.backends.database.models import DBTaskResult

    from .tasks import update_target_source

    return list(DBTaskResult.objects.filter(status="RUNNING", task_path=update_target_source.module_path,
                                            started_at__lt=now - TASK_GRACE))
