"""``update_reduced_data --workers 8`` on a SQLite file: threads write at once, nothing lost or doubled.

Runs the real command in a subprocess (pytest's own test database lives in one
transaction, which other threads cannot see) on a fresh SQLite file, against
the replay server of this process.
"""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.test_workers_postgres import ALERTS, CREATE_TARGETS, expected_points

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
TARGETS = 24


def manage(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)


def test_threads_update_a_sqlite_database_without_locking_errors(tmp_path, replay_server):
    replay_server.clear_requests()
    replay_server.clear_faults()
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env.update(SQLITE_PATH=str(tmp_path / "site.sqlite3"), DJANGO_SETTINGS_MODULE="settings",
               BHTOM_URL_GAIA=replay_server.url, LOG_LEVEL="WARNING", TASKS_BACKEND="immediate")
    assert manage(env, "migrate", "--noinput").returncode == 0
    created = manage(env, "shell", "-c", CREATE_TARGETS.format(alerts=ALERTS, count=TARGETS))
    assert created.returncode == 0, created.stderr
    result = manage(env, "update_reduced_data", "--source", "GAIA", "--workers", "8")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "locked" not in result.stdout + result.stderr
    assert f"{TARGETS} updates: {TARGETS} done" in result.stdout

    assert len(replay_server.requests_to("/alerts/alert/")) == TARGETS
    db = sqlite3.connect(tmp_path / "site.sqlite3")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    targets = dict(db.execute("SELECT target_id, value FROM tom_targets_targetextra WHERE key = 'GAIA'").fetchall())
    rows = Counter(dict(db.execute("SELECT target_id, count(*) FROM tom_dataproducts_photometryreduceddatum "
                                   "GROUP BY target_id").fetchall()))
    expected = {alert: expected_points(alert) for alert in ALERTS}
    assert rows == Counter({target_id: expected[alert] for target_id, alert in targets.items()})
    states = db.execute("SELECT status, new_points, total_points, target_id FROM bhtom_base_lightcurveupdatestate")
    assert sorted(states.fetchall()) == sorted(("done", rows[t], rows[t], t) for t in targets)

    again = manage(env, "update_reduced_data", "--source", "GAIA", "--workers", "8", "--due")
    assert again.returncode == 0 and "0 updates" in again.stdout
    assert len(replay_server.requests_to("/alerts/alert/")) == TARGETS  # nothing was due
