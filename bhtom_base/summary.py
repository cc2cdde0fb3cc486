"""Each target's latest magnitude, latest point and "brightened" flag, kept for the target list.

Brightened: the points of the latest detection's band (one survey's band, so one
photometric system) within ``LATEST_WINDOW`` of that detection are compared with
the same band's points in the ``BASELINE_WINDOW`` before them. The target has
brightened when their mean is brighter than the baseline median by more than
``BRIGHTENING_MIN_MAG`` and by more than ``BRIGHTENING_SIGMA`` times the combined
uncertainty (the baseline's robust scatter, 1.4826 x MAD, and the latest mean's
error), with at least ``BASELINE_MIN_POINTS`` baseline points.
"""
from __future__ import annotations

import logging
from datetime import timedelta

import numpy as np
from django.db.models import Count, Max, Subquery, Value
from django.db.models.functions import Greatest
from django.utils import timezone
from tom_dataproducts.models import PhotometryReducedDatum
from tom_targets.models import Target

from .ingest import write_lock
from .models import TargetLightcurveSummary, UpdateStatus
from .report import LightcurveUpdateReport

logger = logging.getLogger("bhtom.summary")

LATEST_WINDOW = timedelta(days=3)
BASELINE_WINDOW = timedelta(days=365)
BASELINE_MIN_POINTS = 5
BASELINE_MAX_POINTS = 5000
BRIGHTENING_SIGMA = 3.0
BRIGHTENING_MIN_MAG = 0.2


def brightening(latest: list[tuple[float, float | None]], baseline: list[float]) -> tuple[float | None, float | None,
                                                                                         bool]:
    """(baseline median, brightening in mag, significant?) from the latest (mag, error) and baseline mags."""
    if not latest or len(baseline) < BASELINE_MIN_POINTS:
        return None, None, False
    base = np.asarray(baseline, dtype=float)
    median = float(np.median(base))
    scatter = 1.4826 * float(np.median(np.abs(base - median)))
    mags = np.array([mag for mag, _ in latest], dtype=float)
    errors = np.array([err if err is not None and np.isfinite(err) else 0.0 for _, err in latest], dtype=float)
    latest_error = float(np.sqrt(np.sum(errors**2)) / len(mags))
    delta = median - float(mags.mean())
    sigma = float(np.hypot(scatter, latest_error))
    return median, delta, bool(delta > BRIGHTENING_MIN_MAG and delta > BRIGHTENING_SIGMA * sigma)


def refresh_summary(target_id: int) -> TargetLightcurveSummary:
    """Recompute one target's summary from its stored points (a few indexed queries)."""
    points = PhotometryReducedDatum.objects.filter(target_id=target_id)
    totals = points.aggregate(count=Count("id"), last=Max("timestamp"))
    last = (points.filter(brightness__isnull=False).order_by("-timestamp")
            .values("timestamp", "brightness", "brightness_error", "bandpass", "source_name").first())
    fields = {"points": totals["count"], "last_point": totals["last"], "last_mag": None, "last_mag_error": None,
              "last_band": "", "last_source": "", "last_mag_time": None, "baseline_mag": None,
              "brightening": None, "brightened": False}
    if last is not None:
        band_points = list(
            points.filter(brightness__isnull=False, bandpass=last["bandpass"], source_name=last["source_name"],
                          timestamp__gte=last["timestamp"] - LATEST_WINDOW - BASELINE_WINDOW)
            .order_by("-timestamp").values_list("timestamp", "brightness", "brightness_error")[:BASELINE_MAX_POINTS]
        )
        cut = last["timestamp"] - LATEST_WINDOW
        latest = [(mag, err) for when, mag, err in band_points if when >= cut]
        baseline = [mag for when, mag, _ in band_points if when < cut]
        median, delta, brightened = brightening(latest, baseline)
        fields.update(last_mag=last["brightness"], last_mag_error=last["brightness_error"],
                      last_band=last["bandpass"] or "", last_source=last["source_name"] or "",
                      last_mag_time=last["timestamp"], baseline_mag=median, brightening=delta,
                      brightened=brightened)
    fields["updated"] = timezone.now()
    with write_lock():  # usually an UPDATE alone; the first time an INSERT
        if TargetLightcurveSummary.objects.filter(target_id=target_id).update(**fields):
            return TargetLightcurveSummary(target_id=target_id, **fields)
        summary, _ = TargetLightcurveSummary.objects.update_or_create(target_id=target_id, defaults=fields)
    return summary


def add_older_points(target_id: int, report: LightcurveUpdateReport) -> bool:
    """The summary after an update that only added points older than the target's latest detection.

    When the update's survey is not the latest detection's and its newest point
    is older than that detection, the latest detection, its band's baseline and
    the brightened flag cannot change: only the number of points and the latest
    point of any kind move, in one UPDATE (the count read by the database in the
    statement itself). False, and nothing written, when that does not hold.
    """
    if report.revised_points or report.removed_points or report.last_point is None:
        return False
    count = (PhotometryReducedDatum.objects.filter(target_id=target_id).order_by().values("target_id")
             .annotate(n=Count("id")).values("n"))
    with write_lock():
        updated = (TargetLightcurveSummary.objects
                   .filter(target_id=target_id, last_mag_time__gt=report.last_point)
                   .exclude(last_source=report.source)
                   .update(points=Subquery(count), last_point=Greatest("last_point", Value(report.last_point)),
                           updated=timezone.now()))
    return updated == 1


def record_summary(target: Target, report: LightcurveUpdateReport) -> None:
    """After an update: refresh the summary when it succeeded with new points (or the target has none yet).

    An update that found nothing new changes nothing the list shows ("days ago" is computed when the
    page is drawn), so a cron run over thousands of up-to-date pairs costs one cheap query each; one
    that only added older points of another survey costs one UPDATE (:func:`add_older_points`).
    Never raises: the update itself is already recorded.
    """
    if report.status != UpdateStatus.DONE:
        return
    try:
        if report.new_points == 0 and TargetLightcurveSummary.objects.filter(target_id=target.pk).exists():
            return
        if report.new_points and add_older_points(target.pk, report):
            return
        refresh_summary(target.pk)
    except Exception:  # noqa: BLE001 - the list shows the previous summary; the points are stored
        logger.exception("%s: could not refresh the lightcurve summary", target.name)
