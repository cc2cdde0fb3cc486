"""Start-up benchmark: ``update_reduced_data`` for one target vs ``django.setup()`` alone.

One target (Gaia14aaa, its Gaia Alerts name stored) whose lightcurve is the
first 10 points of the real recorded Gaia14aaa file, served by the replay
server on 127.0.0.1. Each round, in fresh processes with the same environment:

1. ``python -c "import django; django.setup()"``;
2. ``python manage.py update_reduced_data Gaia14aaa --source GAIA --quiet``
   (its 10 points and update state deleted beforehand, so every round fetches,
   parses and stores 10 new points).

Other processes share the machine, so each is repeated ``--repeat`` times and
the minimum of each is reported (the least disturbed run).

    .venv/bin/python bench/bench_startup.py [--repeat 7]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_startup .venv/bin/python bench/bench_startup.py
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _django

POINTS = 10
ALERT = "Gaia14aaa"


def ten_point_fixtures(folder: Path) -> None:
    """A fixtures folder whose Gaia14aaa lightcurve is the recorded file's first 10 measured points."""
    recorded = (_django.ROOT / "tests" / "fixtures" / "gaia_alerts" / f"{ALERT}.csv").read_text().splitlines()
    header = next(i for i, line in enumerate(recorded) if line.startswith("#"))
    measured = [line for line in recorded[header + 1:] if line and not line.endswith(",null")][:POINTS]
    survey = folder / "gaia_alerts"
    survey.mkdir(parents=True)
    (survey / f"{ALERT}.csv").write_text("\n".join(recorded[:header + 1] + measured) + "\n")
    (survey / "routes.json").write_text(json.dumps(
        [{"path": f"/alerts/alert/{ALERT}/lightcurve.csv", "file": f"{ALERT}.csv", "content_type": "text/csv"}]
    ))


def timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=_django.ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    sys.path.insert(0, str(_django.ROOT))
    from bhtom_base.replay import ReplayServer

    fixtures = Path(tempfile.mkdtemp(prefix="bhtom-startup-", dir=_django.TMP))
    ten_point_fixtures(fixtures)
    with ReplayServer(fixtures) as replay:
        _django.setup()
        from django.db import connection
        from tom_dataproducts.models import PhotometryReducedDatum
        from tom_targets.models import Target, TargetExtra

        from bhtom_base.models import LightcurveUpdateState

        if connection.vendor == "sqlite":
            database = _django.fresh_database("startup")
            os.environ["SQLITE_PATH"] = str(database)
        target, _ = Target.objects.get_or_create(name=ALERT, defaults={"type": "SIDEREAL", "ra": 0.0, "dec": 0.0})
        TargetExtra.objects.update_or_create(target=target, key="GAIA", defaults={"value": ALERT})
        connection.close()
        env = {**os.environ, "BHTOM_URL_GAIA": replay.url, "DJANGO_SETTINGS_MODULE": "settings",
               "LOG_LEVEL": "WARNING"}
        setup_only = [sys.executable, "-c", "import django; django.setup()"]
        update = [sys.executable, "manage.py", "update_reduced_data", ALERT, "--source", "GAIA", "--quiet"]
        setups, updates = [], []
        for _ in range(args.repeat):
            PhotometryReducedDatum.objects.filter(target=target).delete()
            LightcurveUpdateState.objects.filter(target=target).delete()
            connection.close()
            setups.append(timed(setup_only, env))
            updates.append(timed(update, env))
            stored = PhotometryReducedDatum.objects.filter(target=target).count()
            if stored != POINTS:
                raise SystemExit(f"update stored {stored} points, expected {POINTS}")
        print(f"database: {connection.vendor}; {args.repeat} rounds, minimum of each")
        print(f"python -c 'import django; django.setup()':              {min(setups):.2f} s "
              f"(all: {', '.join(f'{s:.2f}' for s in setups)})")
        print(f"manage.py update_reduced_data (1 target, {POINTS} points):   {min(updates):.2f} s "
              f"(all: {', '.join(f'{s:.2f}' for s in updates)})")
        print(f"update - setup: {min(updates) - min(setups):.2f} s (goal <= 0.50)")
        if connection.vendor != "sqlite":
            Target.objects.filter(pk=target.pk).delete()
    _django.cleanup()


if __name__ == "__main__":
    main()
