"""Ingest benchmark: one N-point lightcurve into a fresh SQLite database, three ways.

1. this project's path: ``build_rows`` + ``ingest_rows`` (chunked, one transaction,
   ``INSERT OR IGNORE`` executemany through Django's connection);
2. the original tutorial's pattern: ``iterrows`` + one astropy ``Time`` per row +
   ``PhotometryReducedDatum`` instances + ``bulk_create(ignore_conflicts=True)``;
3. raw ``sqlite3.executemany`` of the very same row tuples (prepared beforehand,
   not timed), on a plain ``sqlite3`` connection, in one transaction.

Each method gets its own fresh copy of the same migrated database.

    /work/main/.venv/bin/python bench/bench_ingest.py [--points 100000] [--skip-tutorial]
"""
from __future__ import annotations

import argparse
import sqlite3
import time

import _django
import numpy as np
import pandas as pd


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


def make_target():
    from tom_targets.models import Target

    return Target.objects.create(name="bench", type="SIDEREAL", ra=10.0, dec=20.0, epoch=2000).pk


def project_path(frame: pd.DataFrame, target_id: int):
    from bhtom_base.ingest import build_rows, ingest_rows

    bandpass = frame["band"].map(lambda b: f"{b}(Gaia)")
    chunks = build_rows(target_id, frame, source_name="GAIA", source_location="https://example/lc.csv",
                        bandpass=bandpass, default_facility="Gaia", default_observer="Gaia")
    return ingest_rows(target_id, "GAIA", chunks)


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--skip-tutorial", action="store_true", help="leave out the (slow) tutorial pattern")
    args = parser.parse_args()
    _django.setup()
    from django.db import connection

    from bhtom_base.ingest import build_rows

    target_id = make_target()
    frame, jd = synthetic_lightcurve(args.points)
    print(f"lightcurve: {len(frame):,} points ({int(frame['mag'].isna().sum()):,} non-detections)")

    path = _django.fresh_database("project")
    start = time.perf_counter()
    result = project_path(frame, target_id)
    project = time.perf_counter() - start
    assert result.inserted == len(frame), result
    again = project_path(frame, target_id)
    assert again.inserted == 0 and again.total == len(frame), again
    print(f"project path (build_rows + ingest_rows): {project:7.2f} s  ({result.inserted:,} rows inserted; "
          f"a second ingest inserted {again.inserted})")

    bandpass = frame["band"].map(lambda b: f"{b}(Gaia)")
    rows = [row for chunk in build_rows(target_id, frame, source_name="GAIA",
                                        source_location="https://example/lc.csv", bandpass=bandpass,
                                        default_facility="Gaia", default_observer="Gaia", vendor="sqlite")
            for row in chunk]
    path = _django.fresh_database("raw")
    connection.close()
    start = time.perf_counter()
    count = raw_executemany(path, rows)
    raw = time.perf_counter() - start
    assert count == len(frame)
    print(f"raw sqlite3.executemany:                 {raw:7.2f} s  ({count:,} rows)")

    tutorial = None
    if not args.skip_tutorial:
        _django.fresh_database("tutorial")
        start = time.perf_counter()
        count = tutorial_pattern(frame, jd, target_id)
        tutorial = time.perf_counter() - start
        assert count == len(frame)
        print(f"tutorial pattern (iterrows + Time/row):  {tutorial:7.2f} s  ({count:,} rows)")

    print(f"project / raw = {project / raw:.2f} (goal <= 2)")
    if tutorial:
        print(f"tutorial / project = {tutorial / project:.1f}x faster (goal >= 20)")
    _django.cleanup()


if __name__ == "__main__":
    main()
