"""One update of one (target, source) pair, start to finish, never raising.

fetch and parse (outside any transaction) -> clean -> one atomic insert ->
update state -> :class:`LightcurveUpdateReport`. Any failure is recorded in
the update state with a clear message and nothing is written.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import astropy.units as u
from django.db import connection
from django.db.models import Max
from django.utils import timezone
from tom_dataproducts.models import PhotometryReducedDatum
from tom_targets.models import Target

from . import conf
from .credentials import scrub_secrets
from .errors import BrokerError, NoSurveyName, NotConfigured
from .ingest import build_rows, ingest_rows, write_lock
from .lightcurve import clean_lightcurve
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
        state, _ = LightcurveUpdateState.objects.get_or_create(target=target, source=source, defaults=defaults)
    return state


def update_lightcurve(broker: BHTOMBroker, target: Target, *, force: bool = False) -> LightcurveUpdateReport:
    """Update one (target, source) pair; every outcome ends in the report and the state."""
    started = time.monotonic()
    now = timezone.now()
    report = LightcurveUpdateReport(target_name=target.name, source=broker.name, status=UpdateStatus.DONE)
    state = get_state(target, broker.name, now)
    try:
        problem = broker.configuration_problem()
        if problem:
            raise NotConfigured(problem)
        if not force and broker.update_cadence is None and state.last_success is not None:
            report.status = UP_TO_DATE
            report.total_points = state.total_points
            report.last_point = state.last_point
            return report
        _mark_running(state, now)
        since = None if force else _incremental_start(broker, target, state)
        frame, location = broker.load_lightcurve(target, since)
        cleaned = clean_lightcurve(frame)
        report.skipped = dict(cleaned.attrs.get("skipped", {}))
        if report.skipped:
            logger.info("%s %s: left out %s", target.name, broker.name, report.skipped)
        bandpass = cleaned["band"].map(broker.filter_name) if len(cleaned) else cleaned["band"]
        rows = build_rows(
            target.pk,
            cleaned,
            source_name=broker.name,
            source_location=location,
            bandpass=bandpass,
            default_facility=broker.facility,
            default_observer=broker.observer,
        )
        result = ingest_rows(target.pk, broker.name, rows)
        report.new_points = result.inserted
        report.total_points = result.total
        report.last_point = result.last_point
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
    if broker.update_cadence is None or (state.last_success is None and state.last_point is None):
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
