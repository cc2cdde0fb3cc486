"""Reconcile a (target, source) pair's stored points with the survey's answer, in one transaction.

The survey's answer is the truth for its points. Within the fetched window
(everything for a full fetch; ``[since, now)`` for an incremental one) the
stored ``PhotometryReducedDatum`` rows of the pair are made equal to the
cleaned frame: new points are inserted, changed points are updated in place
(brightness, error, limit, time, band, facility, ``value``, release), points
the survey no longer reports are removed. Stored points before the window are
never touched.

Natural key of a point within its pair: (band, the survey's own point id
``value->point_id``) where the frame has one — band too, as one Gaia transit
id names its G, BP and RP points — else (band, time, detection or limit).
A stored row written before the survey's point ids were kept (no
``point_id`` in its value) still matches a frame point by (band, time, kind),
and is revised to carry the id. Several points under one key (two AAVSO
observers at the same JD) are paired in the order of their values.

Safety valve: an answer that would remove more than
:data:`MAX_REMOVED_SHARE` (10 %) *and* more than :data:`MAX_REMOVED_POINTS`
(5) of the pair's stored points changes nothing; the result says how many it
would have removed (``held_removals``), and the update marks the pair *held*
until a person accepts (``accept_removals=True``).

Writing. The rows are built column-wise from the frame (no model instances),
in the very form Django writes them (timestamps as Django's SQLite text /
PostgreSQL ``timestamptz``, ``value`` as JSON), so rows written here and rows
written by the ORM match each other. New rows go in with

* SQLite: ``INSERT OR IGNORE`` ``executemany`` through Django's connection;
* PostgreSQL: ``COPY ... FROM STDIN`` (psycopg 3 ``cursor.copy``) straight
  into the table when the pair has nothing stored yet (inside a savepoint: a
  unique-constraint clash with another source's identical row falls back to
  the next path), else ``COPY`` into a temporary staging table and one
  ``INSERT ... SELECT ... ON CONFLICT DO NOTHING``.

TOM's unique constraints (target, bandpass, timestamp, brightness|limit,
instrument, reduction_version) are never violated: the cleaned frame has no
two rows equal on them, removals go first, and revisions that would clash
midway (two points swapping values) are applied as delete + insert inside a
savepoint. The counts are true counts: rows really inserted (the driver's row
count), revised, removed; the total and last point are read in the same
transaction, while the pair's update-state row is locked (PostgreSQL) or the
SQLite write lock is held, so concurrent updates of one pair are serialised
and never duplicate a point.
"""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from json.encoder import encode_basestring_ascii as _encode_string

import numpy as np
import pandas as pd
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Max
from tom_dataproducts.models import PhotometryReducedDatum

from .models import LightcurveUpdateState

BATCH_SIZE = 20_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_REMOVED_SHARE = 0.10
MAX_REMOVED_POINTS = 5
STAGE_TABLE = "bhtom_photometry_stage"

# SQLite allows one writer at a time, and a transaction that reads before it
# writes fails at once with "database is locked" when another connection of the
# same process got the write lock first. Threads of one process take turns here.
SQLITE_WRITE_LOCK = threading.Lock()

COLUMNS = (
    "target_id", "timestamp", "value", "telescope", "instrument", "source_name", "source_location",
    "reduction_version", "brightness", "brightness_error", "limit", "unit", "bandpass",
)
# What makes a stored point differ from the survey's (source_location is where it was fetched, not the point).
COMPARED = ("ts_us", "bandpass", "brightness", "brightness_error", "limit", "telescope", "reduction_version")


@dataclass(frozen=True)
class ReconcileResult:
    added: int
    revised: int
    removed: int
    total: int
    last_point: datetime | None
    held_removals: int = 0

    @property
    def held(self) -> bool:
        return self.held_removals > 0


def removal_limit(stored: int) -> int:
    """The most points one answer may remove from a pair with ``stored`` points without a person's consent."""
    return max(MAX_REMOVED_POINTS, int(np.floor(MAX_REMOVED_SHARE * stored)))


# -- rows from a cleaned frame -------------------------------------------------------------------

def prepare_rows(
    frame: pd.DataFrame,
    *,
    source_location: str,
    bandpass: pd.Series,
    default_facility: str,
    default_observer: str,
    reduction_version: str = "",
    vendor: str | None = None,
) -> pd.DataFrame:
    """The cleaned frame as database-ready columns (one row per point), converted at once."""
    vendor = vendor or connection.vendor
    mag = frame["mag"].to_numpy(dtype=float)
    detected = np.isfinite(mag)
    error = frame["mag_err"].to_numpy(dtype=float)
    limit = frame["limit"].to_numpy(dtype=float)
    nanoseconds = frame["time"].dt.tz_convert("UTC").to_numpy(dtype="datetime64[ns]").view("i8")
    microseconds = (nanoseconds + 500) // 1000  # to the nearest microsecond, as the database keeps it
    point_ids = frame["point_id"].fillna("").astype(str) if "point_id" in frame.columns else ""
    rows = pd.DataFrame({
        "ts_us": microseconds,
        "timestamp": _timestamps(microseconds, vendor),
        "value": _value_json(frame, default_observer),
        "telescope": [(f or default_facility)[:255] for f in frame["facility"].tolist()],
        "brightness": np.where(detected, mag, np.nan),
        "brightness_error": np.where(detected & np.isfinite(error), error, np.nan),
        "limit": np.where(~detected & np.isfinite(limit), limit, np.nan),
        "bandpass": pd.Series(bandpass, dtype=object).to_numpy(),
        "point_id": point_ids,
        "reduction_version": reduction_version[:64],
    })
    rows.attrs["source_location"] = source_location[:200]
    return rows


def row_tuples(target_id: int, source_name: str, rows: pd.DataFrame,
               chunk_size: int = BATCH_SIZE) -> Iterator[list[tuple]]:
    """Chunks of row tuples in :data:`COLUMNS` order (NaN as SQL NULL)."""
    location = rows.attrs.get("source_location", "")
    for start in range(0, len(rows), chunk_size):
        part = rows.iloc[start:start + chunk_size]
        n = len(part)
        yield list(zip(
            [target_id] * n, part["timestamp"].tolist(), part["value"].tolist(), part["telescope"].tolist(),
            [""] * n, [source_name] * n, [location] * n, part["reduction_version"].tolist(),
            _nullable(part["brightness"]), _nullable(part["brightness_error"]), _nullable(part["limit"]),
            ["mag"] * n, part["bandpass"].tolist(), strict=True,
        ))


def _value_json(frame: pd.DataFrame, default_observer: str) -> list[str]:
    """Each row's ``value`` JSON: observer, and the survey's own point id, time and time system.

    The very text ``json.dumps`` gives (so rows match the ORM's), built from
    pieces encoded once per distinct value: a large lightcurve costs no
    ``json.dumps`` per row.
    """
    n = len(frame)
    observers = [observer or default_observer for observer in frame["observer"].tolist()]
    point_ids = frame["point_id"].tolist() if "point_id" in frame.columns else [""] * n
    survey_times = frame["survey_time"].tolist() if "survey_time" in frame.columns else [None] * n
    systems = frame["time_system"].tolist() if "time_system" in frame.columns else [""] * n
    encoded: dict[str, str] = {}

    def text(value: str) -> str:
        piece = encoded.get(value)
        if piece is None:
            piece = encoded[value] = _encode_string(value)
        return piece

    value = []
    for observer, point_id, survey_time, system in zip(observers, point_ids, survey_times, systems, strict=True):
        parts = []
        if observer:
            parts.append('"observer": ' + text(observer))
        if isinstance(point_id, str) and point_id:
            parts.append('"point_id": ' + _encode_string(point_id))
        elif point_id is not None and not isinstance(point_id, str) and point_id == point_id:
            parts.append('"point_id": ' + _encode_string(str(point_id)))
        when = _time_json(survey_time)
        if when is not None:
            parts.append('"survey_time": ' + when)
            if system:
                parts.append('"time_system": ' + text(system))
        value.append("{" + ", ".join(parts) + "}")
    return value


def _time_json(survey_time) -> str | None:
    """A survey's own time as JSON (a number or a string); None when unknown."""
    if survey_time is None:
        return None
    if isinstance(survey_time, (float, np.floating)):
        return float.__repr__(float(survey_time)) if np.isfinite(survey_time) else None
    if isinstance(survey_time, (int, np.integer)) and not isinstance(survey_time, bool):
        return int.__repr__(int(survey_time))
    text = str(survey_time)
    return _encode_string(text) if text else None


def _nullable(values: pd.Series) -> list:
    """Floats, None (SQL NULL) where NaN."""
    array = values.to_numpy(dtype=float)
    out = array.astype(object)
    out[~np.isfinite(array)] = None
    return out.tolist()


def _timestamps(microseconds: np.ndarray, vendor: str) -> list[str]:
    """UTC timestamps as text in the form Django writes them for this database.

    SQLite: ``str()`` of the naive UTC datetime (``YYYY-MM-DD HH:MM:SS[.ffffff]``,
    no fraction when it is zero) — the same text the ORM stores, so the unique
    constraints see equal values. PostgreSQL: ISO 8601 with ``+00:00``.
    """
    text = np.datetime_as_string(np.asarray(microseconds, dtype="i8").view("datetime64[us]"), unit="us").tolist()
    if vendor == "sqlite":
        return [f"{t[:10]} {t[11:19]}" if t.endswith(".000000") else f"{t[:10]} {t[11:]}" for t in text]
    return [f"{t}+00:00" for t in text]


# -- transactions ------------------------------------------------------------------------------

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


# -- reconcile ---------------------------------------------------------------------------------

@dataclass
class _Plan:
    insert: pd.DataFrame
    revise: pd.DataFrame  # frame rows with the stored row's ``id``
    remove: list[int]


def reconcile(
    target_id: int,
    source_name: str,
    rows: pd.DataFrame,
    *,
    window_start: datetime | None = None,
    accept_removals: bool = False,
    remove_unreported: bool = True,
) -> ReconcileResult:
    """Make the pair's stored points within the window equal to ``rows``; all or nothing.

    ``remove_unreported=False`` (an answer known to be cut short): insert and
    revise, remove nothing.
    """
    queryset = PhotometryReducedDatum.objects.filter(target_id=target_id, source_name=source_name)
    with write_transaction():
        if connection.vendor != "sqlite":  # SQLite: the write transaction itself is the lock
            LightcurveUpdateState.objects.select_for_update().filter(target_id=target_id, source=source_name).first()
        stored_count = queryset.count()
        revised = removed = 0
        if stored_count == 0:
            added = _insert(target_id, source_name, rows, direct=True)
            if added == len(rows):  # nothing was stored and every row went in: the pair is exactly these rows
                return ReconcileResult(added, 0, 0, added, _newest(rows))
        else:
            plan = _plan(rows, _read_stored(target_id, source_name, _read_start(rows, window_start)), window_start)
            if not remove_unreported:
                plan.remove = []
            if len(plan.remove) > removal_limit(stored_count) and not accept_removals:
                summary = queryset.aggregate(last=Max("timestamp"))
                return ReconcileResult(0, 0, 0, stored_count, summary["last"], held_removals=len(plan.remove))
            removed = _delete(plan.remove)
            revised = _revise(target_id, source_name, plan.revise)
            added = _insert(target_id, source_name, plan.insert, direct=False)
        summary = queryset.aggregate(total=Count("id"), last=Max("timestamp"))
    return ReconcileResult(added, revised, removed, summary["total"], summary["last"])


def _newest(rows: pd.DataFrame) -> datetime | None:
    """The newest time of prepared rows, as the database returns it (UTC, whole microseconds)."""
    if not len(rows):
        return None
    return EPOCH + timedelta(microseconds=int(rows["ts_us"].max()))


def _read_start(rows: pd.DataFrame, window_start: datetime | None) -> int | None:
    """Stored rows are read from the window's start, or earlier if the answer reaches further back."""
    if window_start is None:
        return None
    start = int(pd.Timestamp(window_start).tz_convert("UTC").value // 1000)
    return int(min(start, rows["ts_us"].min())) if len(rows) else start


def _read_stored(target_id: int, source_name: str, start_us: int | None) -> pd.DataFrame:
    """The pair's stored rows from ``start_us`` on, with their times as integer microseconds."""
    table = connection.ops.quote_name(PhotometryReducedDatum._meta.db_table)
    postgres = connection.vendor == "postgresql"
    when = ('(extract(epoch from "timestamp") * 1000000)::bigint' if postgres
            else 'CAST("timestamp" AS TEXT)')
    value = "value::text" if postgres else "value"
    sql = (f'SELECT id, {when}, bandpass, brightness, brightness_error, "limit", {value}, telescope, '
           f"reduction_version FROM {table} WHERE target_id = %s AND source_name = %s")
    params: list = [target_id, source_name]
    if start_us is not None:
        sql += ' AND "timestamp" >= %s'
        start = pd.Timestamp(start_us * 1000, tz="UTC").to_pydatetime()
        params.append(start if postgres else connection.ops.adapt_datetimefield_value(start))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        records = cursor.fetchall()
    stored = pd.DataFrame.from_records(records, columns=[
        "id", "when", "bandpass", "brightness", "brightness_error", "limit", "value", "telescope",
        "reduction_version"])
    if postgres:
        stored["ts_us"] = stored["when"].astype("int64")
    else:
        times = pd.to_datetime(stored["when"], format="ISO8601", utc=True)
        stored["ts_us"] = times.to_numpy(dtype="datetime64[ns]").view("i8") // 1000
    for column in ("brightness", "brightness_error", "limit"):
        stored[column] = pd.to_numeric(stored[column]).astype(float)
    stored["point_id"] = [_point_id(text) for text in stored["value"].tolist()]
    return stored.drop(columns="when")


def _point_id(value) -> str:
    if not value or "point_id" not in value:
        return ""
    data = json.loads(value) if isinstance(value, str) else value
    return str(data.get("point_id", "")) if isinstance(data, dict) else ""


def _keys(rows: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(natural key, band-time key) of each row, numbered where several rows share one."""
    kind = np.where(np.isfinite(rows["limit"].to_numpy(dtype=float)), "L", "D")
    band_time = "t" + rows["bandpass"].astype(str) + "\x1f" + rows["ts_us"].astype(str) + kind
    has_id = rows["point_id"].astype(str) != ""
    natural = band_time.where(~has_id, "i" + rows["bandpass"].astype(str) + "\x1f" + rows["point_id"].astype(str))
    return _numbered(natural, rows), _numbered(band_time, rows)


def _numbered(keys: pd.Series, rows: pd.DataFrame) -> pd.Series:
    """Keys made unique: the n-th row (ordered by its values) of a repeated key gets ``#n``."""
    if not keys.duplicated().any():
        return keys
    order = pd.DataFrame({"key": keys, "b": rows["brightness"], "l": rows["limit"], "v": rows["value"].astype(str)})
    order = order.sort_values(["key", "b", "l", "v"], kind="stable", na_position="last")
    number = order.groupby("key", sort=False).cumcount()
    numbered = order["key"] + np.where(number > 0, "#" + number.astype(str), "")
    return numbered.reindex(keys.index)


def _plan(rows: pd.DataFrame, stored: pd.DataFrame, window_start: datetime | None) -> _Plan:
    """What to insert, revise and remove so that the window holds exactly ``rows``."""
    frame_key, frame_band_time = _keys(rows)
    stored_key, stored_band_time = _keys(stored)
    frame_at = pd.Series(np.arange(len(rows)), index=frame_key.to_numpy())
    stored_at = pd.Series(np.arange(len(stored)), index=stored_key.to_numpy())
    common = frame_at.index.intersection(stored_at.index)
    frame_match = list(frame_at[common].to_numpy())
    stored_match = list(stored_at[common].to_numpy())
    # Rows stored before the survey's point ids were kept match by band and time.
    frame_left = np.ones(len(rows), dtype=bool)
    frame_left[frame_match] = False
    stored_left = np.ones(len(stored), dtype=bool)
    stored_left[stored_match] = False
    frame_ids = rows["point_id"].astype(str).to_numpy() != ""
    stored_ids = stored["point_id"].astype(str).to_numpy() != ""
    loose_frame = np.flatnonzero(frame_left & frame_ids)
    loose_stored = np.flatnonzero(stored_left & ~stored_ids)
    if len(loose_frame) and len(loose_stored):
        by_band_time = pd.Series(loose_stored, index=stored_band_time.to_numpy()[loose_stored])
        by_band_time = by_band_time[~by_band_time.index.duplicated()]
        wanted = pd.Series(loose_frame, index=frame_band_time.to_numpy()[loose_frame])
        wanted = wanted[~wanted.index.duplicated()]
        both = wanted.index.intersection(by_band_time.index)
        frame_match += list(wanted[both].to_numpy())
        stored_match += list(by_band_time[both].to_numpy())
        frame_left[wanted[both].to_numpy()] = False
        stored_left[by_band_time[both].to_numpy()] = False
    frame_match_arr = np.asarray(frame_match, dtype=int)
    stored_match_arr = np.asarray(stored_match, dtype=int)
    new = rows.iloc[frame_match_arr].reset_index(drop=True)
    old = stored.iloc[stored_match_arr].reset_index(drop=True)
    changed = _changed(new, old)
    revise = new.loc[changed].copy()
    revise["id"] = old.loc[changed, "id"].to_numpy()
    gone = stored_left.copy()
    if window_start is not None:
        start = int(pd.Timestamp(window_start).tz_convert("UTC").value // 1000)
        gone &= stored["ts_us"].to_numpy() >= start
    insert = rows.iloc[np.flatnonzero(frame_left)]
    insert.attrs = rows.attrs
    revise.attrs = rows.attrs
    return _Plan(insert=insert, revise=revise, remove=[int(pk) for pk in stored["id"].to_numpy()[gone]])


def _changed(new: pd.DataFrame, old: pd.DataFrame) -> np.ndarray:
    """Which matched points differ from their stored row (NaN equals NaN; JSON compared as data)."""
    changed = np.zeros(len(new), dtype=bool)
    for column in COMPARED:
        a, b = new[column].to_numpy(), old[column].to_numpy()
        if column in ("brightness", "brightness_error", "limit"):
            a, b = a.astype(float), b.astype(float)
            changed |= ~((a == b) | (np.isnan(a) & np.isnan(b)))
        else:
            changed |= a != b
    texts_differ = np.flatnonzero(~changed & (new["value"].to_numpy() != old["value"].to_numpy()))
    new_values, old_values = new["value"].to_numpy(), old["value"].to_numpy()
    for i in texts_differ:
        if json.loads(new_values[i]) != _as_dict(old_values[i]):
            changed[i] = True
    return changed


def _as_dict(value) -> dict:
    return json.loads(value) if isinstance(value, str) else (value or {})


# -- writes ------------------------------------------------------------------------------------

def _table() -> str:
    return connection.ops.quote_name(PhotometryReducedDatum._meta.db_table)


def _column_list() -> str:
    return ", ".join(connection.ops.quote_name(column) for column in COLUMNS)


def _delete(ids: list[int]) -> int:
    removed = 0
    with connection.cursor() as cursor:
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            cursor.execute(f"DELETE FROM {_table()} WHERE id IN ({', '.join(['%s'] * len(chunk))})", chunk)
            removed += max(cursor.rowcount, 0)
    return removed


def _revise(target_id: int, source_name: str, revise: pd.DataFrame) -> int:
    """Update the changed points in place; a clash midway (values swapped) becomes delete + insert."""
    if not len(revise):
        return 0
    postgres = connection.vendor == "postgresql"
    cast = {"timestamp": "::timestamptz", "value": "::jsonb"} if postgres else {}
    assigned = ("timestamp", "value", "telescope", "source_location", "reduction_version", "brightness",
                "brightness_error", "limit", "bandpass")
    sets = ", ".join(f"{connection.ops.quote_name(c)} = %s{cast.get(c, '')}" for c in assigned)
    sql = f"UPDATE {_table()} SET {sets} WHERE id = %s"
    ids = [int(pk) for pk in revise["id"].to_numpy()]
    params = []
    for rows in row_tuples(target_id, source_name, revise):
        for row in rows:
            values = dict(zip(COLUMNS, row, strict=True))
            params.append([values[c] for c in assigned])
    params = [p + [pk] for p, pk in zip(params, ids, strict=True)]
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(sql, params)
    except IntegrityError:
        _delete(ids)
        _insert(target_id, source_name, revise, direct=False)
    return len(ids)


def _insert(target_id: int, source_name: str, rows: pd.DataFrame, *, direct: bool) -> int:
    """Insert ``rows``; the number really inserted (rows equal to a stored one are skipped)."""
    if not len(rows):
        return 0
    if connection.vendor == "postgresql":
        if direct:
            try:
                with transaction.atomic():
                    return _copy(f"{_table()} ({_column_list()})", target_id, source_name, rows)
            except IntegrityError:
                pass  # an identical row of another source: go through the staging table
        return _insert_staged(target_id, source_name, rows)
    sql = f"INSERT OR IGNORE INTO {_table()} ({_column_list()}) VALUES ({', '.join(['%s'] * len(COLUMNS))})"
    if connection.vendor != "sqlite":
        sql = (f"INSERT INTO {_table()} ({_column_list()}) VALUES ({', '.join(['%s'] * len(COLUMNS))}) "
               "ON CONFLICT DO NOTHING")
    inserted = 0
    with connection.cursor() as cursor:
        for chunk in row_tuples(target_id, source_name, rows):
            cursor.executemany(sql, chunk)
            inserted += max(cursor.rowcount, 0)
    return inserted


def _copy(destination: str, target_id: int, source_name: str, rows: pd.DataFrame) -> int:
    """``COPY destination FROM STDIN`` of the rows (PostgreSQL, psycopg 3)."""
    count = 0
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {destination} FROM STDIN") as copy:
            for chunk in row_tuples(target_id, source_name, rows):
                for row in chunk:
                    copy.write_row(row)
                count += len(chunk)
    return count


def _insert_staged(target_id: int, source_name: str, rows: pd.DataFrame) -> int:
    """COPY into a temporary staging table, then one ``INSERT ... SELECT ... ON CONFLICT DO NOTHING``."""
    columns = _column_list()
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {STAGE_TABLE} ("
            "target_id integer, timestamp timestamptz, value jsonb, telescope varchar, instrument varchar, "
            "source_name varchar, source_location varchar, reduction_version varchar, "
            'brightness double precision, brightness_error double precision, "limit" double precision, '
            "unit varchar, bandpass varchar) ON COMMIT DELETE ROWS"
        )
        cursor.execute(f"TRUNCATE {STAGE_TABLE}")
    _copy(f"{STAGE_TABLE} ({columns})", target_id, source_name, rows)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {_table()} ({columns}) SELECT {columns} FROM {STAGE_TABLE} "
                       "ON CONFLICT DO NOTHING")
        return max(cursor.rowcount, 0)
