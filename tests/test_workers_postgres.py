"""Distributed updates: several ``manage.py db_worker`` processes share one PostgreSQL queue.

The workers are separate processes, so they cannot see pytest's test
transaction: the test creates a database of its own (``bhtom_workers_<random>``),
migrates it, fills it and queues the updates with the real management commands,
starts three workers on it, and drops it at the end. The surveys are the replay
server of this process (``BHTOM_URL_GAIA`` in the workers' environment).
"""
from __future__ import annotations

import csv
import os
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

import pytest

pytestmark = [pytest.mark.postgres_only, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "gaia_alerts"
ALERTS = ["Gaia14aaa", "Gaia16aaa", "Gaia18dqq"]
TARGETS = 30
WORKERS = 3


def expected_points(alert: str) -> int:
    """Distinct (time, magnitude) rows with a numeric magnitude, read with csv alone."""
    with open(FIXTURES / f"{alert}.csv", newline="") as handle:
        rows = [row for row in csv.reader(handle) if len(row) >= 3 and not row[0].startswith("#")]
    points = set()
    for row in rows:
        try:
            mag = float(row[2])
        except ValueError:
            continue
        if mag == mag:
            points.add((row[0].strip() or row[1].strip(), mag))
    return len(points)


@pytest.fixture
def worker_database():
    import psycopg
    from dj_database_url import parse

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        pytest.skip("needs DATABASE_URL pointing at PostgreSQL")
    config = parse(url)
    name = f"bhtom_workers_{uuid.uuid4().hex[:10]}"
    server = dict(host=config["HOST"] or "127.0.0.1", port=config["PORT"] or 5432, user=config["USER"],
                  password=config["PASSWORD"] or None)
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    prefix = url.rsplit("/", 1)[0]
    try:
        yield f"{prefix}/{name}", lambda: psycopg.connect(dbname=name, **server)
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(env: dict, *args: str, timeout: float = 180) -> str:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def duplicate_points(db, *, by_source: bool = False) -> int:
    """Photometry rows stored more than once (same target, band, time, magnitude; and source if asked)."""
    columns = "target_id, source_name, bandpass, timestamp, brightness" if by_source else \
        "target_id, bandpass, timestamp, brightness"
    return db.execute(f"SELECT count(*) FROM (SELECT {columns}, count(*) FROM tom_dataproducts_photometryreduceddatum "
                      f"GROUP BY {columns} HAVING count(*) > 1) d").fetchone()[0]


CREATE_TARGETS = """
from tom_targets.models import Target, TargetExtra
alerts = {alerts!r}
for i in range({count}):
    target = Target.objects.create(name=f"worker{{i:03d}}", type="SIDEREAL", ra=10 + i, dec=-5, epoch=2000)
    TargetExtra.objects.create(target=target, key="GAIA", value=alerts[i % len(alerts)])
"""


def test_several_db_workers_process_every_pair_exactly_once(worker_database, replay_server):
    url, connect = worker_database
    replay_server.clear_requests()
    replay_server.clear_faults()
    replay_server.latency = 0.2  # each update takes a while: the workers overlap
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "settings",
        "TASKS_BACKEND": "database",
        "BHTOM_URL_GAIA": replay_server.url,
        "BHTOM_HTTP_RETRIES": "1",
        "LOG_LEVEL": "WARNING",
    }
    try:
        manage(env, "migrate", "--noinput")
        manage(env, "shell", "-c", CREATE_TARGETS.format(alerts=ALERTS, count=TARGETS))
        output = manage(env, "update_reduced_data", "--enqueue", "--source", "GAIA")
        assert f"Queued {TARGETS} updates" in output
        with connect() as db:
            queued = db.execute("SELECT count(*) FROM django_tasks_database_dbtaskresult WHERE status = 'NEW'")
            assert queued.fetchone()[0] == TARGETS
            states = db.execute("SELECT status, count(*) FROM bhtom_base_lightcurveupdatestate GROUP BY status")
            assert dict(states.fetchall()) == {"queued": TARGETS}

        workers = [
            subprocess.Popen([sys.executable, "manage.py", "db_worker", "--batch", "--no-startup-delay",
                              "--interval", "0.1"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
            for _ in range(WORKERS)
        ]
        for worker in workers:
            out, _ = worker.communicate(timeout=300)
            assert worker.returncode == 0, out
    finally:
        replay_server.latency = 0.0

    lightcurve_requests = Counter(r.path for r in replay_server.requests_to("/alerts/alert/"))
    assert sum(lightcurve_requests.values()) == TARGETS  # every pair fetched exactly once
    for alert in ALERTS:
        path = f"/alerts/alert/{alert}/lightcurve.csv"
        assert lightcurve_requests[path] == sum(1 for i in range(TARGETS) if ALERTS[i % len(ALERTS)] == alert)

    with connect() as db:
        tasks = db.execute("SELECT status, args_kwargs, return_value FROM django_tasks_database_dbtaskresult")
        tasks = tasks.fetchall()
        assert len(tasks) == TARGETS
        assert {status for status, _, _ in tasks} == {"SUCCEEDED"}  # nothing left queued or running
        ran = Counter(result["target_id"] for _, _, result in tasks)
        assert len(ran) == TARGETS and set(ran.values()) == {1}
        assert {result["status"] for _, _, result in tasks} == {"done"}
        workers_used = {result["worker"] for _, _, result in tasks}
        assert len(workers_used) >= 2, workers_used  # the queue really was shared

        targets = dict(db.execute("SELECT t.id, e.value FROM tom_targets_basetarget t JOIN tom_targets_targetextra e "
                                  "ON e.target_id = t.id AND e.key = 'GAIA'").fetchall())
        rows = dict(db.execute("SELECT target_id, count(*) FROM tom_dataproducts_photometryreduceddatum "
                               "WHERE source_name = 'GAIA' GROUP BY target_id").fetchall())
        expected = {alert: expected_points(alert) for alert in ALERTS}
        assert rows == {target_id: expected[alert] for target_id, alert in targets.items()}
        assert duplicate_points(db) == 0
        states = db.execute("SELECT status, new_points, total_points, target_id, next_due IS NOT NULL "
                            "FROM bhtom_base_lightcurveupdatestate WHERE source = 'GAIA'").fetchall()
        assert len(states) == TARGETS
        for status, new, total, target_id, has_next_due in states:
            assert (status, new, total, has_next_due) == ("done", rows[target_id], rows[target_id], True)


def _overlapping(intervals: list[tuple]) -> int:
    """The most intervals (start, end) that were open at one instant."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    open_now = most = 0
    for _, change in events:
        open_now += change
        most = max(most, open_now)
    return most


def test_update_worker_threads_run_updates_at_once_each_exactly_once(worker_database, replay_server):
    """Two ``update_worker --threads 4`` processes: every pair once, tasks of one process overlap in time."""
    url, connect = worker_database
    replay_server.clear_requests()
    replay_server.clear_faults()
    replay_server.latency = 0.3  # an update waits for its survey: threads overlap those waits
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "settings", "TASKS_BACKEND": "database",
           "BHTOM_URL_GAIA": replay_server.url, "BHTOM_HTTP_RETRIES": "1", "LOG_LEVEL": "WARNING"}
    try:
        manage(env, "migrate", "--noinput")
        manage(env, "shell", "-c", CREATE_TARGETS.format(alerts=ALERTS, count=TARGETS))
        assert f"Queued {TARGETS} updates" in manage(env, "update_reduced_data", "--enqueue", "--source", "GAIA")
        workers = [subprocess.Popen([sys.executable, "manage.py", "update_worker", "--threads", "4", "--batch",
                                     "--interval", "0.1"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True) for _ in range(2)]
        for worker in workers:
            out, _ = worker.communicate(timeout=300)
            assert worker.returncode == 0, out
    finally:
        replay_server.latency = 0.0

    assert len(replay_server.requests_to("/alerts/alert/")) == TARGETS  # every pair fetched exactly once
    with connect() as db:
        tasks = db.execute("SELECT status, return_value, started_at, finished_at "
                           "FROM django_tasks_database_dbtaskresult").fetchall()
        assert len(tasks) == TARGETS
        assert {status for status, *_ in tasks} == {"SUCCEEDED"}
        assert Counter(result["target_id"] for _, result, *_ in tasks) == Counter(
            {target_id: 1 for target_id in {result["target_id"] for _, result, *_ in tasks}})
        assert {result["status"] for _, result, *_ in tasks} == {"done"}
        by_process: dict[str, list] = {}
        for _, result, started, finished in tasks:
            by_process.setdefault(result["worker"], []).append((started, finished))
        assert max(_overlapping(intervals) for intervals in by_process.values()) >= 2  # threads ran at once
        assert duplicate_points(db) == 0
        states = dict(db.execute("SELECT status, count(*) FROM bhtom_base_lightcurveupdatestate "
                                 "GROUP BY status").fetchall())
        assert states == {"done": TARGETS}


def test_update_worker_stops_cleanly_on_sigterm_and_releases_dead_work(worker_database):
    """At start it fails the pair a killed worker left running; SIGTERM ends it with status 0."""
    import signal
    import time

    url, connect = worker_database
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "settings", "TASKS_BACKEND": "database",
           "LOG_LEVEL": "WARNING"}
    manage(env, "migrate", "--noinput")
    manage(env, "shell", "-c", CREATE_TARGETS.format(alerts=ALERTS, count=1) + (
        "\nfrom datetime import timedelta\nfrom django.utils import timezone\n"
        "from bhtom_base.models import LightcurveUpdateState\n"
        "LightcurveUpdateState.objects.create(target=target, source='GAIA', status='running',"
        " running_until=timezone.now() - timedelta(minutes=5))\n"))
    worker = subprocess.Popen([sys.executable, "manage.py", "update_worker", "--threads", "3", "--interval", "0.1"],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with connect() as db:
                status = db.execute("SELECT status FROM bhtom_base_lightcurveupdatestate").fetchone()[0]
            if status == "failed":
                break
            time.sleep(0.2)
        assert status == "failed"  # released at start, not left running until a cron --due
        worker.send_signal(signal.SIGTERM)
        out, _ = worker.communicate(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, out
    assert "released the work of dead workers: 1 pairs" in out
    assert "finishing the running updates" in out
