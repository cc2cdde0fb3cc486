"""Standard lightcurve frame -> ``PhotometryReducedDatum`` rows, in one transaction.

The rows are built column-wise from the frame (no model instances) and written
with one ``INSERT ... ON CONFLICT DO NOTHING`` (SQLite: ``INSERT OR IGNORE``)
``executemany`` per chunk through Django's own connection, so duplicates are
skipped by the table's unique constraints exactly as ``bulk_create(
ignore_conflicts=True)`` would skip them, at the speed of the database driver.
Values are stored in the very form Django itself writes them (timestamps as
Django's SQLite text / PostgreSQL ``timestamptz``, ``value`` as JSON), so rows
written here and rows written by the ORM dedupe against each other.

All chunks go in one transaction: an update is stored whole or not at all.
Chunks are built lazily (:func:`build_rows` is a generator), so a
million-point lightcurve never exists as a million Python tuples at once.

The number of rows really inserted is the driver's row count of the inserts
(conflicting rows count 0 on both SQLite and PostgreSQL); the total and last
point are read in the same transaction, while this (target, source) pair's
update-state row is locked (PostgreSQL) or the SQLite write lock is held, so
concurrent updates of the same pair are serialised and counted correctly.
"""
from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from itertools import chain, repeat

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.db.models import Count, Max
from tom_dataproducts.models import PhotometryReducedDatum

from .models import LightcurveUpdateState

BATCH_SIZE = 20_000

# SQLite allows one writer at a time, and a transaction that reads before it
# writes fails at once with "database is locked" when another connection of the
# same process got the write lock first. Threads of one process take turns here.
SQLITE_WRITE_LOCK = threading.Lock()

COLUMNS = (
    "target_id", "timestamp", "value", "telescope", "instrument", "source_name", "source_location",
    "reduction_version", "brightness", "brightness_error", "limit", "unit", "bandpass",
)


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
    chunk_size: int = BATCH_SIZE,
    vendor: str | None = None,
) -> Iterator[list[tuple]]:
    """Chunks of row tuples (in :data:`COLUMNS` order) for a cleaned frame, columns converted at once."""
    vendor = vendor or connection.vendor
    location = source_location[:200]
    for start in range(0, len(frame), chunk_size):
        part = frame.iloc[start:start + chunk_size]
        bands = bandpass.iloc[start:start + chunk_size]
        yield _chunk_rows(target_id, part, bands, source_name, location, default_facility, default_observer, vendor)


def _chunk_rows(target_id, frame, bandpass, source_name, location, default_facility, default_observer, vendor):
    n = len(frame)
    mag = frame["mag"].to_numpy(dtype=float)
    detected = np.isfinite(mag)
    brightness = _nullable(mag, detected)
    error = _nullable(frame["mag_err"].to_numpy(dtype=float), detected & np.isfinite(frame["mag_err"].to_numpy()))
    limit_values = frame["limit"].to_numpy(dtype=float)
    limit = _nullable(limit_values, ~detected & np.isfinite(limit_values))
    facility = [(f or default_facility)[:255] for f in frame["facility"].tolist()]
    value = _value_json(frame, default_observer)
    return list(zip(
        repeat(target_id, n), _timestamps(frame["time"], vendor), value, facility, repeat("", n),
        repeat(source_name, n), repeat(location, n), repeat("", n), brightness, error, limit,
        repeat("mag", n), bandpass.tolist(), strict=True,
    ))


def _value_json(frame: pd.DataFrame, default_observer: str) -> list[str]:
    """Each row's ``value`` JSON: observer, and the survey's own point id, time and time system.

    Identical JSON texts are built once (most rows of a survey without point ids
    share one), so a large lightcurve costs one ``json.dumps`` per distinct value.
    """
    observers = [observer or default_observer for observer in frame["observer"].tolist()]
    point_ids = frame["point_id"].tolist() if "point_id" in frame.columns else repeat("")
    survey_times = frame["survey_time"].tolist() if "survey_time" in frame.columns else repeat(None)
    systems = frame["time_system"].tolist() if "time_system" in frame.columns else repeat("")
    cache: dict[tuple, str] = {}
    value = []
    for key in zip(observers, point_ids, survey_times, systems, strict=False):
        text = cache.get(key)
        if text is None:
            text = json.dumps(_trace_dict(*key))
            if len(cache) < 4096:
                cache[key] = text
        value.append(text)
    return value


def _trace_dict(observer: str, point_id: str, survey_time, time_system: str) -> dict:
    data: dict = {}
    if observer:
        data["observer"] = observer
    if point_id:
        data["point_id"] = str(point_id)
    if isinstance(survey_time, (float, np.floating)):
        if np.isfinite(survey_time):
            data["survey_time"] = float(survey_time)
    elif isinstance(survey_time, (int, np.integer)):
        data["survey_time"] = int(survey_time)
    elif survey_time is not None and str(survey_time) != "":
        data["survey_time"] = str(survey_time)
    if time_system and "survey_time" in data:
        data["time_system"] = time_system
    return data


def _nullable(values: np.ndarray, keep: np.ndarray) -> list:
    """Floats where ``keep``, None (SQL NULL) elsewhere."""
    out = values.astype(object)
    out[~keep] = None
    return out.tolist()


def _timestamps(times: pd.Series, vendor: str) -> list[str]:
    """UTC timestamps as text in the form Django writes them for this database.

    SQLite: ``str()`` of the naive UTC datetime (``YYYY-MM-DD HH:MM:SS[.ffffff]``,
    no fraction when it is zero) — the same text the ORM stores, so the unique
    constraints see equal values. PostgreSQL: ISO 8601 with ``+00:00``.
    """
    nanoseconds = times.dt.tz_convert("UTC").to_numpy(dtype="datetime64[ns]").view("i8")
    microseconds = (nanoseconds + 500) // 1000  # to the nearest microsecond, as the database keeps it
    text = np.datetime_as_string(microseconds.view("datetime64[us]"), unit="us").tolist()
    if vendor == "sqlite":
        return [f"{t[:10]} {t[11:19]}" if t.endswith(".000000") else f"{t[:10]} {t[11:]}" for t in text]
    return [f"{t}+00:00" for t in text]


def _insert_sql(vendor: str) -> str:
    table = connection.ops.quote_name(PhotometryReducedDatum._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(column) for column in COLUMNS)
    if vendor == "postgresql":
        casts = {"timestamp": "%s::timestamptz", "value": "%s::jsonb"}
        values = ", ".join(casts.get(column, "%s") for column in COLUMNS)
        return f"INSERT INTO {table} ({columns}) VALUES ({values}) ON CONFLICT DO NOTHING"
    values = ", ".join("%s" for _ in COLUMNS)
    return f"INSERT OR IGNORE INTO {table} ({columns}) VALUES ({values})"


def write_lock():
    """The per-process SQLite write lock; nothing on databases with row locks."""
    return SQLITE_WRITE_LOCK if connection.vendor == "sqlite" else nullcontext()


@contextmanager
def write_transaction():
    """``transaction.atomic()`` that holds the write lock from its first statement.

    SQLite: taken under :data:`SQLITE_WRITE_LOCK` and begun ``IMMEDIATE``, so a
    transaction that reads before it writes can never be refused its upgrade to
    a writer ("database is locked") by another connection; it waits (up to the
    connection's timeout) instead. Other databases: a plain ``atomic()``.
    """
    if connection.vendor != "sqlite":
        with transaction.atomic():
            yield
        return
    with SQLITE_WRITE_LOCK:
        previous = connection.transaction_mode
        connection.transaction_mode = "IMMEDIATE"
        try:
            with transaction.atomic():
                connection.transaction_mode = previous
                yield
        finally:
            connection.transaction_mode = previous


def ingest_rows(target_id: int, source_name: str, chunks: Iterable[list[tuple]]) -> IngestResult:
    """Insert every chunk all or nothing; count what was really new."""
    queryset = PhotometryReducedDatum.objects.filter(target_id=target_id, source_name=source_name)
    vendor = connection.vendor
    sql = _insert_sql(vendor)
    # The first chunk (all of a typical lightcurve) is built before the write lock
    # is taken, so other threads are not kept waiting while Python builds tuples.
    chunks = iter(chunks)
    first = next(chunks, [])
    with write_transaction():
        if vendor != "sqlite":  # SQLite: the write transaction itself is the lock
            LightcurveUpdateState.objects.select_for_update().filter(target_id=target_id, source=source_name).first()
        inserted = 0
        with connection.cursor() as cursor:
            for rows in chain([first], chunks):
                if rows:
                    cursor.executemany(sql, rows)
                    inserted += max(cursor.rowcount, 0)
        summary = queryset.aggregate(total=Count("id"), last=Max("timestamp"))
    return IngestResult(inserted=inserted, total=summary["total"], last_point=summary["last"])
