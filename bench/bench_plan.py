"""Planning and queueing at scale: 10,000 targets x 16 of the site's sources = 160,000 pairs.

With ``TASKS_BACKEND=database`` (the multi-machine set-up), on a fresh copy of
the migrated database:

1. ``update_reduced_data --due --enqueue`` on 10,000 never-updated targets: the
   planning (targets, pairs, which are due) and the queueing (update states
   marked queued, one django-tasks row per pair) timed separately by the
   command's own ``-v 2`` output, and the whole command;
2. the pairs finished less than their cadence ago (as a worker leaves them),
   then the same command again: nothing due, no task queued, and no query on
   the photometry table (every SQL statement of the run is captured);
3. one ``manage.py db_worker --batch`` process runs ``--worker-tasks`` of the
   queued updates (the first targets x 16 sources) against the replay server
   with every survey pointed at it; its peak RSS is read from the kernel
   (``VmHWM`` of the worker process itself, printed at its exit).

    .venv/bin/python bench/bench_plan.py [--targets 10000] [--sources 16] [--worker-tasks 1600]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_plan .venv/bin/python bench/bench_plan.py
"""
from __future__ import annotations

import argparse
import io
import os
import re
import subprocess
import sys
import time

import _django

ALERTS = ["Gaia14aaa", "Gaia16aaa", "Gaia18dqq"]

# manage.py in a process that prints its own peak RSS (VmHWM) at exit. Not ru_maxrss of the
# child: Linux keeps the largest RSS across fork and exec, i.e. this (large) bench process's.
WORKER = """
import atexit, re, runpy, sys
def peak():
    print("PEAK_KB", re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1))
atexit.register(peak)
sys.argv = ["manage.py", *sys.argv[1:]]
runpy.run_path("manage.py", run_name="__main__")
"""


def make_targets(count: int) -> None:
    from tom_targets.models import Target, TargetExtra

    Target.objects.bulk_create(
        [Target(name=f"plan{i:05d}", type="SIDEREAL", ra=i * 0.0359 % 360, dec=(i % 170) - 85.0, epoch=2000)
         for i in range(count)], batch_size=2000,
    )
    targets = list(Target.objects.filter(name__startswith="plan").order_by("pk"))
    TargetExtra.objects.bulk_create(
        [TargetExtra(target=t, key="GAIA", value=ALERTS[i % len(ALERTS)]) for i, t in enumerate(targets)],
        batch_size=2000,
    )


def run_command(*args: str) -> tuple[float, str]:
    from django.core.management import call_command

    out = io.StringIO()
    start = time.perf_counter()
    call_command("update_reduced_data", *args, "--verbosity", "2", stdout=out)
    return time.perf_counter() - start, out.getvalue()


def seconds(label: str, output: str) -> float:
    match = re.search(rf"{label}[^\n]* in ([0-9.]+) s", output)
    if not match:
        raise SystemExit(f"no '{label}' timing in the command's output:\n{output}")
    return float(match.group(1))


def finish_all() -> None:
    """Every pair done a moment ago, due again in a day: what the workers leave behind."""
    from datetime import timedelta

    from django.utils import timezone

    from bhtom_base.models import LightcurveUpdateState, UpdateStatus

    now = timezone.now()
    LightcurveUpdateState.objects.update(status=UpdateStatus.DONE, last_success=now, last_attempt=now,
                                         next_due=now + timedelta(days=1), queued_at=None)


def worker_peak_rss(count: int, replay_url: str) -> tuple[float, str]:
    """Queue ``count`` pairs (first targets x every source), run one db_worker until the queue is empty."""
    from django.db import connection
    from django.db.models import Count
    from django_tasks.backends.database.models import DBTaskResult
    from tom_targets.models import Target

    from bhtom2.data_sources import SOURCE_NAMES
    from bhtom_base.models import LightcurveUpdateState
    from bhtom_base.registry import broker_classes

    DBTaskResult.objects.all().delete()
    LightcurveUpdateState.objects.all().delete()
    per_target = len(broker_classes())
    ids = [str(pk) for pk in Target.objects.order_by("pk").values_list("pk", flat=True)[:max(1, count // per_target)]]
    run_command(*ids, "--enqueue")
    queued = DBTaskResult.objects.count()
    env = {**os.environ, "TASKS_BACKEND": "database", "LOG_LEVEL": "WARNING"}
    env.update({f"BHTOM_URL_{name}": replay_url for name in SOURCE_NAMES})
    if connection.vendor == "sqlite":
        env["SQLITE_PATH"] = connection.settings_dict["NAME"]
    connection.close()
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", WORKER, "db_worker", "--batch", "--no-startup-delay", "--interval",
                           "0.1"], cwd=_django.ROOT, env=env, check=True, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    peak_mb = int(re.search(r"PEAK_KB (\d+)", done.stdout).group(1)) / 1024
    outcomes = dict(DBTaskResult.objects.values_list("status").annotate(n=Count("id")))
    states = dict(LightcurveUpdateState.objects.values_list("status").annotate(n=Count("id")))
    return peak_mb, (f"{queued} tasks in {elapsed:.0f} s; tasks {outcomes}; update states {states}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--targets", type=int, default=10_000)
    parser.add_argument("--worker-tasks", type=int, default=1600)
    parser.add_argument("--sources", type=int, default=16,
                        help="the first N installed sources (the issue's 16; 0: all installed)")
    args = parser.parse_args()
    os.environ["TASKS_BACKEND"] = "database"
    sys.path.insert(0, str(_django.ROOT))
    from bhtom_base.replay import ReplayServer

    _django.setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django_tasks.backends.database.models import DBTaskResult
    from tom_dataproducts.models import ReducedDatum

    from bhtom_base.models import LightcurveUpdateState, UpdateStatus

    if connection.vendor == "sqlite":
        _django.fresh_database("plan")
    elif LightcurveUpdateState.objects.exists() or DBTaskResult.objects.exists():
        raise SystemExit("bench_plan needs an empty PostgreSQL database (its own DATABASE_URL name)")
    make_targets(args.targets)
    photometry_table = ReducedDatum._meta.db_table

    from bhtom_base.registry import broker_classes

    installed = list(broker_classes())
    chosen = installed[:args.sources] if args.sources else installed
    only = [option for source in chosen for option in ("--source", source)]
    total, output = run_command("--due", "--enqueue", *only)
    pairs = int(re.search(r"Planned (\d+) pairs", output).group(1))
    queued_states = LightcurveUpdateState.objects.filter(status=UpdateStatus.QUEUED).count()
    task_rows = DBTaskResult.objects.count()
    print(f"database: {connection.vendor}; {args.targets} targets x {len(chosen)} of the {len(installed)} "
          f"installed sources; TASKS_BACKEND=database")
    print(f"plan {pairs} pairs (--due):   {seconds('Planned', output):6.2f} s (goal < 2)")
    print(f"enqueue {pairs} pairs:        {seconds('Queued', output):6.2f} s (goal < 10); "
          f"{queued_states} states queued, {task_rows} task rows")
    print(f"whole command:                {total:6.2f} s")

    finish_all()
    with CaptureQueriesContext(connection) as queries:
        rerun, output = run_command("--due", "--enqueue", *only)
    on_photometry = [q["sql"] for q in queries if photometry_table in q["sql"]]
    print(f"re-run, nothing due:          {rerun:6.2f} s; {output.strip().splitlines()[-1]}; "
          f"{len(queries)} queries, {len(on_photometry)} on {photometry_table}; "
          f"{DBTaskResult.objects.count() - task_rows} task rows added")

    if connection.vendor == "sqlite":
        print("db_worker: PostgreSQL only (django-tasks' database backend refuses SQLite, bhtom_base.E003)")
    else:
        with ReplayServer(_django.ROOT / "tests" / "fixtures") as replay:
            peak_mb, summary = worker_peak_rss(args.worker_tasks, replay.url)
        print(f"one db_worker: {summary}")
        print(f"peak RSS of the db_worker: {peak_mb:.0f} MB (goal < 500)")
    if connection.vendor != "sqlite":
        from tom_targets.models import Target

        DBTaskResult.objects.all().delete()
        Target.objects.filter(name__startswith="plan").delete()
    _django.cleanup()


if __name__ == "__main__":
    main()
