"""One update of one (target, source) pair, start to finish, never raising.

fetch and parse (outside any transaction) -> clean -> one atomic reconcile
(:mod:`bhtom_base.ingest`: insert new, revise changed, remove retracted points
within the fetched window) -> update state -> :class:`LightcurveUpdateReport`.
Any failure is recorded in the update state with a clear message and nothing
is written.

Window. A broker that asks its survey only for points from a time on
(``incremental = True``: AAVSO, ZTF DR, ATLAS, NEOWISE) gets ``since`` = the
last stored point minus its overlap, and only stored points from ``since`` on
are reconciled. It fetches everything instead (and reconciles everything) when

* it never fetched in full, or its last full fetch is older than its
  ``full_refetch_cadence`` (weekly by default; ``BHTOM_FULL_REFETCH_DAYS =
  {"AAVSO": 3}`` per source) — so observations reported late, older than the
  incremental window, still arrive;
* what it fetches from changed (``broker.data_version``, e.g. the configured
  ZTF public release, differs from the one recorded in the update state);
* ``--force``.

Every other broker fetches and reconciles the whole lightcurve each time.

Held. An answer that would remove more than 10 % and more than 5 of the
pair's points is not applied: the pair becomes ``held`` with the count in its
message, until ``update_reduced_data --accept-removals`` or the admin action
(``removals_accepted`` on the state, cleared by the next successful update).
"""
from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import astropy.units as u
from django.db import IntegrityError, connection
from django.db.models import Max
from django.utils import timezone
from tom_dataproducts.models import PhotometryReducedDatum
from tom_targets.models import Target

from . import conf
from .credentials import scrub_secrets
from .errors import BrokerError, NoSurveyName, NotConfigured
from .ingest import MAX_REMOVED_POINTS, MAX_REMOVED_SHARE, prepare_rows, reconcile, write_lock
from .lightcurve import TRUNCATED, clean_lightcurve
from .models import LightcurveUpdateState, UpdateStatus
from .report import LightcurveUpdateReport
from .summary import record_summary

if TYPE_CHECKING:
    from .broker import BHTOMBroker

logger = logging.getLogger("bhtom.update")

RETRY_BASE = timedelta(minutes=30)
RETRY_MAX = timedelta(days=2)
UP_TO_DATE = "up_to_date"


def running_lease() -> timedelta:
    return timedelta(seconds=float(conf.setting("BHTOM_RUNNING_LEASE_SECONDS")))


def cadence_delta(broker: BHTOMBroker) -> timedelta | None:
    cadence = broker.update_cadence
    if cadence is None:
        return None
    return timedelta(seconds=float(cadence.to_value(u.s)))


def full_refetch_delta(broker: BHTOMBroker) -> timedelta | None:
    """How often an incremental broker fetches everything: ``BHTOM_FULL_REFETCH_DAYS[<SOURCE>]`` or its default."""
    configured = conf.setting("BHTOM_FULL_REFETCH_DAYS").get(broker.name)
    if configured is not None:
        return timedelta(days=float(configured))
    cadence = broker.full_refetch_cadence
    return None if cadence is None else timedelta(seconds=float(cadence.to_value(u.s)))


def full_fetch_due(broker: BHTOMBroker, state: LightcurveUpdateState, now: datetime) -> bool:
    """Whether this update fetches (and reconciles) the whole lightcurve."""
    if not broker.incremental or state.last_full_fetch is None:
        return True
    if (broker.data_version or "") != state.data_version:
        return True  # what the source fetches from changed (a new ZTF release)
    every = full_refetch_delta(broker)
    return every is not None and state.last_full_fetch + every <= now


def held_message(removals: int, total: int) -> str:
    return (f"the survey's answer would remove {removals} of {total} stored points "
            f"(more than {MAX_REMOVED_SHARE:.0%} and more than {MAX_REMOVED_POINTS}); nothing was changed. "
            "Check the survey, then accept with `update_reduced_data --accept-removals` or the admin action.")


def failure_backoff(consecutive_failures: int, broker: BHTOMBroker) -> timedelta:
    """30 min, 1 h, 2 h ... doubled per failure in a row, at most two days (or the cadence)."""
    delay = RETRY_BASE * (2 ** max(0, consecutive_failures - 1))
    cadence = cadence_delta(broker)
    cap = min(RETRY_MAX, cadence) if cadence else RETRY_MAX
    return min(delay, max(cap, RETRY_BASE))


def get_state(target: Target, source: str, now: datetime | None = None) -> LightcurveUpdateState:
    """The pair's state; a new one is created already running (one write instead of two)."""
    state = LightcurveUpdateState.objects.filter(target=target, source=source).first()
    if state is not None:
        return state
    defaults = {}
    if now is not None:
        defaults = {"status": UpdateStatus.RUNNING, "last_attempt": now, "running_until": now + running_lease()}
    with write_lock():
        if connection.in_atomic_block:  # a failed INSERT would break the caller's transaction: a savepoint
            return LightcurveUpdateState.objects.get_or_create(target=target, source=source, defaults=defaults)[0]
        try:
            return LightcurveUpdateState.objects.create(target=target, source=source, **defaults)
        except IntegrityError:  # created a moment ago by another worker
            return LightcurveUpdateState.objects.get(target=target, source=source)


def update_lightcurve(broker: BHTOMBroker, target: Target, *, force: bool = False,
                      accept_removals: bool = False) -> LightcurveUpdateReport:
    """Update one (target, source) pair; every outcome ends in the report and the state.

    ``accept_removals``: apply the answer however many points it removes (a person checked it).
    """
    started = time.monotonic()
    now = timezone.now()
    report = LightcurveUpdateReport(target_name=target.name, source=broker.name, status=UpdateStatus.DONE)
    state = get_state(target, broker.name, now)
    try:
        problem = broker.configuration_problem()
        if problem:
            raise NotConfigured(problem)
        held = state.status == UpdateStatus.HELD or accept_removals or state.removals_accepted
        if not force and broker.update_cadence is None and state.last_success is not None and not held:
            report.status = UP_TO_DATE
            report.total_points = state.total_points
            report.last_point = state.last_point
            return report
        _mark_running(state, now)
        report.full_fetch = force or full_fetch_due(broker, state, now)
        since = None if report.full_fetch else _incremental_start(broker, target, state)
        frame, location = broker.load_lightcurve(target, since)
        cleaned = clean_lightcurve(frame)
        report.skipped = dict(cleaned.attrs.get("skipped", {}))
        if report.skipped:
            logger.info("%s %s: left out %s", target.name, broker.name, report.skipped)
        bandpass = cleaned["band"].map(broker.filter_name) if len(cleaned) else cleaned["band"]
        rows = prepare_rows(
            cleaned,
            source_location=location,
            bandpass=bandpass,
            default_facility=broker.facility,
            default_observer=broker.observer,
            reduction_version=broker.data_version,
        )
        result = reconcile(target.pk, broker.name, rows, window_start=since,
                           accept_removals=accept_removals or state.removals_accepted,
                           remove_unreported=not cleaned.attrs.get(TRUNCATED))
        report.new_points = result.added
        report.revised_points = result.revised
        report.removed_points = result.removed
        report.total_points = result.total
        report.last_point = result.last_point
        if result.held:
            report.status = UpdateStatus.HELD
            report.held_removals = result.held_removals
            report.error = held_message(result.held_removals, result.total)
    except NotConfigured as error:
        report.status = UpdateStatus.NOT_CONFIGURED
        report.error = str(error)
    except NoSurveyName as error:
        report.status = UpdateStatus.NO_SURVEY_NAME
        report.error = str(error)
    except BrokerError as error:
        report.status = UpdateStatus.FAILED
        report.error = str(error) or type(error).__name__
    except Exception as error:  # a bug or an unforeseen response: recorded, never raised
        logger.exception("%s %s: unexpected error", target.name, broker.name)
        report.status = UpdateStatus.FAILED
        report.error = f"unexpected {type(error).__name__}: {error}"[:1000]
    report.error = scrub_secrets(report.error)  # a survey may echo the request, token included
    report.duration = time.monotonic() - started
    _record(state, broker, report, now)
    record_summary(target, report)
    logger.info(report.summary())
    return report


def _mark_running(state: LightcurveUpdateState, now: datetime) -> None:
    """Running until the lease ends; a state just created as running is not written twice."""
    if state.status == UpdateStatus.RUNNING and state.last_attempt == now:
        return
    state.status = UpdateStatus.RUNNING
    state.last_attempt = now
    state.running_until = now + running_lease()
    with write_lock():
        state.save(update_fields=["status", "last_attempt", "running_until"])


def _incremental_start(broker: BHTOMBroker, target: Target, state: LightcurveUpdateState) -> datetime | None:
    """The ``since`` passed to ``fetch``: the last point stored minus the broker's overlap.

    Read from the stored rows themselves (not the update state), so rows deleted
    by hand are fetched again. None (everything) for a data release or when
    nothing is stored yet.
    """
    if not broker.incremental or (state.last_success is None and state.last_point is None):
        return None  # a data release, or nothing ever stored by this source: everything
    last = (
        PhotometryReducedDatum.objects.filter(target=target, source_name=broker.name)
        .aggregate(last=Max("timestamp"))["last"]
    )
    if last is None:
        return None
    overlap = timedelta(seconds=float(broker.incremental_overlap.to_value(u.s)))
    return last - overlap


def _drop_broken_connection() -> None:
    """After a long fetch the server may have dropped the connection: reconnect then."""
    if connection.connection is not None and not connection.is_usable():
        connection.close()


def _record(state: LightcurveUpdateState, broker: BHTOMBroker, report: LightcurveUpdateReport, now) -> None:
    if report.status == UP_TO_DATE:
        return
    _drop_broken_connection()
    finished = timezone.now()
    state.status = report.status
    state.last_attempt = now
    state.running_until = None
    state.duration = report.duration
    state.skipped_rows = report.skipped_rows
    state.revised_points = report.revised_points
    state.removed_points = report.removed_points
    state.held_removals = report.held_removals
    if report.status == UpdateStatus.FAILED:
        state.consecutive_failures += 1
        state.last_error = report.error
        state.new_points = 0
        state.next_due = finished + failure_backoff(state.consecutive_failures, broker)
    elif report.status == UpdateStatus.DONE:
        state.consecutive_failures = 0
        state.last_error = ""
        state.last_success = finished
        state.new_points = report.new_points
        state.total_points = report.total_points
        state.last_point = report.last_point
        state.removals_accepted = False
        if report.full_fetch:
            state.last_full_fetch = finished
            state.data_version = broker.data_version or ""
        cadence = cadence_delta(broker)
        state.next_due = finished + cadence if cadence else None
    elif report.status == UpdateStatus.HELD:  # nothing changed; asked again at the cadence, held until accepted
        state.consecutive_failures = 0
        state.last_error = report.error
        state.new_points = 0
        state.total_points = report.total_points
        cadence = cadence_delta(broker)
        state.next_due = finished + cadence if cadence else None
    else:  # not configured / not in this survey: retried at the normal cadence
        state.consecutive_failures = 0
        state.last_error = report.error
        state.new_points = 0
        cadence = cadence_delta(broker) or timedelta(days=30)
        state.next_due = finished + cadence
    with write_lock():
        state.save()
