"""CI smoke run of the PostgreSQL ingest benchmark (``bench/bench_ingest.py``) with 10,000 points: counts only.

The benchmark's own code runs on the test database: this project's COPY path,
raw psycopg COPY of the same rows, and the re-run with 10 revised points. No
timing is asserted (CI machines vary); the counts must be exact.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
from django.db import connection
from tom_dataproducts.models import PhotometryReducedDatum

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import bench_ingest  # noqa: E402

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db]
POINTS = 10_000


def test_postgres_ingest_benchmark_smoke():
    if connection.vendor != "postgresql":
        pytest.skip("the PostgreSQL ingest benchmark needs DATABASE_URL pointing at PostgreSQL")
    frame, _ = bench_ingest.synthetic_lightcurve(POINTS)
    measured = bench_ingest.measure_postgres(frame, repeat=1)
    assert measured.inserted == measured.raw_count == POINTS
    assert measured.rerun_counts == (0, bench_ingest.REVISED, 0, POINTS)
    assert measured.project > 0 and measured.raw > 0 and measured.rerun > 0
    assert PhotometryReducedDatum.objects.count() == 0  # the benchmark cleans up after itself
