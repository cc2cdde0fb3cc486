"""Ingest benchmark: one N-point lightcurve, this project's reconcile against the database's raw floor.

SQLite (default; each method on its own fresh copy of one migrated database):

1. this project's path: ``prepare_rows`` + ``reconcile`` (a first ingest: nothing
   stored, so ``INSERT OR IGNORE`` ``executemany`` through Django's connection,
   one transaction, true counts);
2. raw ``sqlite3.executemany`` of the very same row tuples (prepared beforehand,
   not timed) on a plain ``sqlite3`` connection, in one transaction;
3. a re-run: the same lightcurve with 10 revised magnitudes reconciled against
   the N stored points (goal: under 2 s);
4. (unless ``--skip-tutorial``) the original tutorial's pattern: ``iterrows`` +
   one astropy ``Time`` per row + ``bulk_create(ignore_conflicts=True)``.

PostgreSQL (``DATABASE_URL=postgres://...``; the database is migrated, each
method writes a target of its own, best of ``--repeat`` runs):

1. this project's path (``COPY ... FROM STDIN`` straight into the table);
2. raw psycopg ``COPY ... FROM STDIN`` of the same tuples (prepared beforehand,
   not timed), in one transaction;
3. the re-run with 10 revised points.

    .venv/bin/python bench/bench_ingest.py [--points 100000] [--skip-tutorial]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench .venv/bin/python bench/bench_ingest.py
"""
from __future__ import annotations

import argparse
import sqlite3
import time
import uuid
from dataclasses import dataclass

import _django
import numpy as np
import pandas as pd

REVISED = 10


@dataclass
class Measured:
    project: float
    raw: float
    rerun: float
    inserted: int
    raw_count: int
    rerun_counts: tuple[int, int, int, int]  # added, revised, removed, total


def synthetic_lightcurve(n: int, seed: int = 1) -> tuple[pd.DataFrame, np.ndarray]:
    """A survey-like lightcurve (G band, 5 % non-detections), and its times as JD (UTC)."""
    from bhtom_base.lightcurve import make_lightcurve

    rng = np.random.default_rng(seed)
    jd = np.sort(2456870.5 + rng.uniform(0, 3650, n))
    mag = rng.normal(17.0, 1.0, n)
    limit = np.full(n, np.nan)
    undetected = rng.random(n) < 0.05
    limit[undetected] = 20.5
    mag[undetected] = np.nan
    times = pd.to_datetime((jd - 2440587.5) * 86400.0, unit="s", utc=True).round("us")
    frame = make_lightcurve(time=times, mag=mag, mag_err=np.where(undetected, np.nan, 0.01), band="G",
                            limit=limit)
    return frame, jd


def with_revisions(frame: pd.DataFrame, count: int = REVISED) -> pd.DataFrame:
    """The same lightcurve with ``count`` detections re-measured (0.05 mag brighter)."""
    revised = frame.copy()
    detections = np.flatnonzero(np.isfinite(revised["mag"].to_numpy()))
    chosen = detections[np.linspace(0, len(detections) - 1, count).astype(int)]
    revised.loc[chosen, "mag"] = revised.loc[chosen, "mag"] - 0.05
    return revised


def make_target(name: str = "bench"):
    from tom_targets.models import Target

    return Target.objects.create(name=name, type="SIDEREAL", ra=10.0, dec=20.0, epoch=2000).pk


def prepared(frame: pd.DataFrame):
    from bhtom_base.ingest import prepare_rows

    return prepare_rows(frame, source_location="https://example/lc.csv",
                        bandpass=frame["band"].map(lambda b: f"{b}(Gaia)"), default_facility="Gaia",
                        default_observer="Gaia")


def project_path(frame: pd.DataFrame, target_id: int):
    """What an update does after cleaning: build the rows and reconcile them, one transaction."""
    from bhtom_base.ingest import reconcile

    return reconcile(target_id, "GAIA", prepared(frame))


def row_tuples(frame: pd.DataFrame, target_id: int) -> list[tuple]:
    from bhtom_base.ingest import row_tuples as chunks

    return [row for chunk in chunks(target_id, "GAIA", prepared(frame)) for row in chunk]


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def tutorial_pattern(frame: pd.DataFrame, jd: np.ndarray, target_id: int) -> int:
    """The pattern of the original tutorial: a Python loop, one Time per row, model instances."""
    from datetime import UTC

    from astropy.time import Time
    from tom_dataproducts.models import PhotometryReducedDatum

    data = frame.assign(jd=jd)
    rows = []
    for _, row in data.iterrows():
        timestamp = Time(row["jd"], format="jd", scale="utc").to_datetime(timezone=UTC)
        detected = not np.isnan(row["mag"])
        rows.append(PhotometryReducedDatum(
            target_id=target_id, timestamp=timestamp,
            brightness=float(row["mag"]) if detected else None,
            brightness_error=float(row["mag_err"]) if detected else None,
            limit=None if detected else float(row["limit"]),
            unit="mag", bandpass=f"{row['band']}(Gaia)", telescope="Gaia", source_name="GAIA",
            source_location="https://example/lc.csv", value={"observer": "Gaia"},
        ))
    PhotometryReducedDatum.objects.bulk_create(rows, ignore_conflicts=True)
    return PhotometryReducedDatum.objects.filter(target_id=target_id).count()


# -- SQLite ------------------------------------------------------------------------------------

def raw_executemany(path, rows: list[tuple]) -> int:
    from tom_dataproducts.models import PhotometryReducedDatum

    from bhtom_base.ingest import COLUMNS

    table = PhotometryReducedDatum._meta.db_table
    columns = ", ".join(f'"{c}"' for c in COLUMNS)
    sql = f"INSERT OR IGNORE INTO {table} ({columns}) VALUES ({', '.join('?' for _ in COLUMNS)})"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("BEGIN")
    db.executemany(sql, rows)
    db.execute("COMMIT")
    count = db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    db.close()
    return count


def measure_sqlite(frame: pd.DataFrame, target_id: int) -> Measured:
    from django.db import connection

    _django.fresh_database("project")
    project, result = timed(project_path, frame, target_id)
    rerun, again = timed(project_path, with_revisions(frame), target_id)
    rows = row_tuples(frame, target_id)
    path = _django.fresh_database("raw")
    connection.close()
    raw, count = timed(raw_executemany, path, rows)
    return Measured(project, raw, rerun, result.added, count,
                    (again.added, again.revised, again.removed, again.total))


# -- PostgreSQL --------------------------------------------------------------------------------

def raw_copy(rows: list[tuple]) -> int:
    """psycopg 3 ``COPY ... FROM STDIN`` of the tuples into the table, one transaction."""
    from django.db import connection, transaction
    from tom_dataproducts.models import PhotometryReducedDatum

    from bhtom_base.ingest import COLUMNS

    columns = ", ".join(f'"{c}"' for c in COLUMNS)
    with transaction.atomic(), connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {PhotometryReducedDatum._meta.db_table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    return len(rows)


def measure_postgres(frame: pd.DataFrame, repeat: int = 3) -> Measured:
    """Best of ``repeat`` for each method, raw and project alternating, each on a target of its own."""
    from tom_targets.models import Target

    best = None
    for _ in range(repeat):
        run = uuid.uuid4().hex[:8]
        raw_target, project_target = make_target(f"bench-raw-{run}"), make_target(f"bench-project-{run}")
        rows = row_tuples(frame, raw_target)
        raw, count = timed(raw_copy, rows)
        project, result = timed(project_path, frame, project_target)
        rerun, again = timed(project_path, with_revisions(frame), project_target)
        measured = Measured(project, raw, rerun, result.added, count,
                            (again.added, again.revised, again.removed, again.total))
        Target.objects.filter(pk__in=[raw_target, project_target]).delete()  # and their rows
        if best is None:
            best = measured
        else:
            best.project, best.raw = min(best.project, project), min(best.raw, raw)
            best.rerun = min(best.rerun, rerun)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="PostgreSQL: best of this many runs")
    parser.add_argument("--skip-tutorial", action="store_true", help="leave out the (slow) tutorial pattern")
    args = parser.parse_args()
    _django.setup()
    from django.db import connection

    frame, jd = synthetic_lightcurve(args.points)
    print(f"lightcurve: {len(frame):,} points ({int(frame['mag'].isna().sum()):,} non-detections); "
          f"database: {connection.vendor}")
    if connection.vendor == "postgresql":
        m = measure_postgres(frame, args.repeat)
        floor, goal = "raw psycopg COPY", 1.5
    else:
        target_id = make_target()  # in the template: every fresh copy has it
        m = measure_sqlite(frame, target_id)
        floor, goal = "raw sqlite3.executemany", 2.0
    assert m.inserted == m.raw_count == len(frame), m
    assert m.rerun_counts == (0, REVISED, 0, len(frame)), m.rerun_counts
    print(f"project path (prepare_rows + reconcile): {m.project:7.2f} s  ({m.inserted:,} rows inserted)")
    print(f"{floor + ':':<40} {m.raw:7.2f} s  ({m.raw_count:,} rows)")
    added, revised, removed, total = m.rerun_counts
    print(f"re-run with {REVISED} revised points:         {m.rerun:7.2f} s  "
          f"({added} added, {revised} revised, {removed} removed, {total:,} in all)")
    print(f"project / raw = {m.project / m.raw:.2f} (goal <= {goal:g})")
    print(f"re-run: {m.rerun:.2f} s (goal < 2 s on SQLite)")

    if connection.vendor == "sqlite" and not args.skip_tutorial:
        _django.fresh_database("tutorial")
        tutorial, count = timed(tutorial_pattern, frame, jd, target_id)
        assert count == len(frame)
        print(f"tutorial pattern (iterrows + Time/row):  {tutorial:7.2f} s  ({count:,} rows)")
        print(f"tutorial / project = {tutorial / m.project:.1f}x faster (goal >= 20)")
    _django.cleanup()


if __name__ == "__main__":
    main()
