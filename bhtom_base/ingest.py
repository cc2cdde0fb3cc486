"""Standard lightcurve frame -> ``PhotometryReducedDatum`` rows, in one transaction.

Duplicates are skipped by the database's own unique constraints
(``bulk_create(ignore_conflicts=True)``); the number of rows really inserted is
the row count after minus before, taken while this (target, source) pair's
update-state row is locked, so concurrent updates of the same pair are
serialised and counted correctly.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from django.db import transaction
from tom_dataproducts.models import PhotometryReducedDatum

from .models import LightcurveUpdateState

BATCH_SIZE = 5000


@dataclass(frozen=True)
class IngestResult:
    inserted: int
    total: int
    last_point: datetime | None


def build_rows(
    target_id: int,
    frame: pd.DataFrame,
    *,
    source_name: str,
    source_location: str,
    bandpass: pd.Series,
    default_facility: str,
    default_observer: str,
) -> list[PhotometryReducedDatum]:
    """Model instances for every row of a cleaned frame, columns converted at once."""
    n = len(frame)
    if n == 0:
        return []
    timestamps = frame["time"].dt.round("us").dt.to_pydatetime()
    mag = frame["mag"].to_numpy(dtype=float)
    detected = np.isfinite(mag)
    brightness = np.where(detected, mag, np.nan)
    error = frame["mag_err"].to_numpy(dtype=float)
    limit = frame["limit"].to_numpy(dtype=float)
    brightness_list = [v if v == v else None for v in brightness.tolist()]
    error_list = [v if v == v else None for v in np.where(detected, error, np.nan).tolist()]
    limit_list = [v if v == v else None for v in np.where(detected, np.nan, limit).tolist()]
    facility = frame["facility"].replace("", default_facility).tolist()
    observer = frame["observer"].replace("", default_observer).tolist()
    bands = bandpass.tolist()
    location = source_location[:200]
    return [
        PhotometryReducedDatum(
            target_id=target_id,
            timestamp=timestamps[i],
            brightness=brightness_list[i],
            brightness_error=error_list[i],
            limit=limit_list[i],
            unit="mag",
            bandpass=bands[i],
            telescope=facility[i][:255],
            source_name=source_name,
            source_location=location,
            value={"observer": observer[i]} if observer[i] else {},
        )
        for i in range(n)
    ]


def ingest_rows(target_id: int, source_name: str, rows: list[PhotometryReducedDatum]) -> IngestResult:
    """Insert the rows all or nothing; count what was really new."""
    queryset = PhotometryReducedDatum.objects.filter(target_id=target_id, source_name=source_name)
    with transaction.atomic():
        LightcurveUpdateState.objects.select_for_update().filter(target_id=target_id, source=source_name).first()
        before = queryset.count()
        for start in range(0, len(rows), BATCH_SIZE):
            PhotometryReducedDatum.objects.bulk_create(rows[start:start + BATCH_SIZE], ignore_conflicts=True)
        after = queryset.count()
        last = queryset.order_by("-timestamp").values_list("timestamp", flat=True).first()
    return IngestResult(inserted=after - before, total=after, last_point=last)
