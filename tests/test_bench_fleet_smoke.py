"""CI smoke run of ``bench/bench_fleet.py`` on PostgreSQL: every installed broker, a few targets.

The benchmark asserts its own counts (each pair stores its recording's points,
in every phase: one after another, threads and processes, ``update_worker``
processes); here it runs small, with no timing judged.
"""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

pytestmark = [pytest.mark.postgres_only, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent


def test_fleet_benchmark_runs_every_broker_on_its_recording():
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        pytest.skip("needs DATABASE_URL pointing at PostgreSQL")
    env = {**os.environ, "DATABASE_URL": f"{url.rsplit('/', 1)[0]}/fleet_smoke_{uuid.uuid4().hex[:8]}"}
    result = subprocess.run(
        [sys.executable, "bench/bench_fleet.py", "--targets", "4", "--baseline-targets", "1", "--latency", "0.01",
         "--workers", "2", "--processes", "2", "--worker-processes", "2", "--worker-threads", "2"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    sources = next(line for line in result.stdout.splitlines() if line.startswith("sources: "))
    assert len(sources.removeprefix("sources: ").split(", ")) == 17
    per_target = int(result.stdout.split(" recorded points per target")[0].rsplit("(", 1)[1])
    assert f"{4 * per_target} rows; states {{'done': 68}}" in result.stdout
    assert "tasks {'SUCCEEDED': 68}" in result.stdout
