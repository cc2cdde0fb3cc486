"""Cron, two simultaneous button presses and three ``db_worker`` processes on one PostgreSQL queue.

Five rounds. In each, every (target, source) pair is due; at the same instant a
cron-style ``update_reduced_data --due --enqueue`` and two presses of the
update button of one target (the real view, through Django's test client, in
separate processes) queue work while three workers take it. Every pair must be
fetched exactly once per round, no photometry row is duplicated, and no task is
left running. The surveys are this process's replay server.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.test_workers_postgres import ALERTS, duplicate_points, expected_points, worker_database  # noqa: F401

pytestmark = [pytest.mark.postgres_only, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
TARGETS = 12
ROUNDS = 5
WORKERS = 3
CPCS_NAME = "ivo://Gaia19drz"

SITE = """
from settings import *  # noqa: F401,F403
TOM_ALERT_CLASSES = ["bhtom2.brokers.gaia_alerts.GaiaAlertsBroker", "bhtom2.brokers.cpcs.CPCSBroker"]
"""

CREATE = """
from django.contrib.auth.models import User
from tom_targets.models import Target, TargetExtra
User.objects.create_superuser("lead", "lead@example.org", "pw")
alerts = {alerts!r}
for i in range({count}):
    target = Target.objects.create(name=f"race{{i:03d}}", type="SIDEREAL", ra=10 + i, dec=-5, epoch=2000)
    TargetExtra.objects.create(target=target, key="GAIA", value=alerts[i % len(alerts)])
    TargetExtra.objects.create(target=target, key="CPCS", value={cpcs!r})
"""

# Each actor says it is ready, then waits for "go": all three act at the same instant.
WAIT_UNTIL = """
import pathlib, time
pathlib.Path({ready!r}).touch()
while not pathlib.Path({go!r}).exists():
    time.sleep(0.002)
"""

CRON = """
from django.core.management import call_command
from bhtom_base.management.commands import update_reduced_data  # imported before the instant
""" + WAIT_UNTIL + """
call_command("update_reduced_data", "--due", "--enqueue")
"""

PRESS = """
from django.contrib.auth.models import User
from django.test import Client
from tom_targets.models import Target
client = Client()
client.force_login(User.objects.get(username="lead"))
target = Target.objects.get(name="race000")
client.get(f"/bhtom/targets/{{target.pk}}/lightcurve/status/")  # views and templates loaded
""" + WAIT_UNTIL + """
response = client.post(f"/bhtom/targets/{{target.pk}}/lightcurve/update/")
assert response.status_code == 302, response.status_code
"""


def manage(env: dict, *args: str, timeout: float = 180) -> str:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def wait_for_empty_queue(connect, timeout: float = 120) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connect() as db:
            statuses = dict(db.execute("SELECT status, count(*) FROM django_tasks_database_dbtaskresult "
                                       "GROUP BY status").fetchall())
            busy = db.execute("SELECT count(*) FROM bhtom_base_lightcurveupdatestate "
                              "WHERE status IN ('queued', 'running')").fetchone()[0]
        if not statuses.get("NEW") and not statuses.get("RUNNING") and not busy:
            return statuses
        time.sleep(0.2)
    raise AssertionError(f"the queue did not drain: {statuses}, {busy} pairs queued or running")


def test_cron_and_two_presses_at_once_fetch_every_pair_exactly_once(worker_database, replay_server,  # noqa: F811
                                                                    tmp_path):
    url, connect = worker_database
    (tmp_path / "race_site.py").write_text(SITE)
    replay_server.clear_requests()
    replay_server.clear_faults()
    replay_server.latency = 0.2  # updates overlap the queueing
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]),
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "race_site",
        "TASKS_BACKEND": "database",
        "BHTOM_URL_GAIA": replay_server.url,
        "BHTOM_URL_CPCS": replay_server.url,
        "CPCS_DATA_ACCESS_HASHTAG": "race-token",
        "BHTOM_HTTP_RETRIES": "1",
        "LOG_LEVEL": "WARNING",
    }
    manage(env, "migrate", "--noinput")
    manage(env, "shell", "-c", CREATE.format(alerts=ALERTS, count=TARGETS, cpcs=CPCS_NAME))
    workers = [subprocess.Popen([sys.executable, "manage.py", "db_worker", "--no-startup-delay", "--interval", "0.1"],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
               for _ in range(WORKERS)]
    try:
        for round_number in range(ROUNDS):
            replay_server.clear_requests()
            go = tmp_path / f"go-{round_number}"
            ready = [tmp_path / f"ready-{round_number}-{i}" for i in range(3)]
            actors = [subprocess.Popen([sys.executable, "manage.py", "shell", "-c",
                                        script.format(ready=str(flag), go=str(go))],
                                       cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                      for script, flag in zip((CRON, PRESS, PRESS), ready, strict=True)]
            deadline = time.monotonic() + 120
            while not all(flag.exists() for flag in ready) and time.monotonic() < deadline:
                time.sleep(0.01)
            go.touch()
            for actor in actors:
                out, err = actor.communicate(timeout=120)
                assert actor.returncode == 0, out + err
            statuses = wait_for_empty_queue(connect)
            assert set(statuses) <= {"SUCCEEDED"}, statuses  # nothing running, nothing failed

            with connect() as db:
                tasks = Counter(tuple(args["args"][:2]) for (args,) in db.execute(
                    "SELECT args_kwargs FROM django_tasks_database_dbtaskresult").fetchall())
                assert set(tasks.values()) == {round_number + 1}, (round_number, tasks)  # none queued twice
            gaia = Counter(r.path for r in replay_server.requests_to("/alerts/alert/"))
            cpcs = replay_server.requests_to("/followup/get_alert_lc_data")
            assert sum(gaia.values()) == TARGETS, (round_number, gaia)  # each pair exactly once
            for alert in ALERTS:
                assert gaia[f"/alerts/alert/{alert}/lightcurve.csv"] == sum(
                    1 for i in range(TARGETS) if ALERTS[i % len(ALERTS)] == alert), (round_number, gaia)
            assert len(cpcs) == TARGETS, (round_number, len(cpcs))
            with connect() as db:  # make every pair due again for the next round
                db.execute("UPDATE bhtom_base_lightcurveupdatestate SET next_due = now() - interval '1 second'")
                db.commit()
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)
        replay_server.latency = 0.0

    with connect() as db:
        tasks = db.execute("SELECT status, args_kwargs FROM django_tasks_database_dbtaskresult").fetchall()
        assert {status for status, _ in tasks} == {"SUCCEEDED"}
        per_pair = Counter((args["args"][0], args["args"][1]) for _, args in tasks)
        assert len(per_pair) == 2 * TARGETS and set(per_pair.values()) == {ROUNDS}
        assert duplicate_points(db, by_source=True) == 0
        targets = dict(db.execute("SELECT t.id, e.value FROM tom_targets_basetarget t JOIN tom_targets_targetextra e "
                                  "ON e.target_id = t.id AND e.key = 'GAIA'").fetchall())
        rows = dict(db.execute("SELECT target_id, count(*) FROM tom_dataproducts_photometryreduceddatum "
                               "WHERE source_name = 'GAIA' GROUP BY target_id").fetchall())
        assert rows == {target_id: expected_points(alert) for target_id, alert in targets.items()}
