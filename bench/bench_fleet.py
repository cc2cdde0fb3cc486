"""Fleet benchmark: T targets x 4 sources against 4 replay servers with a latency per request.

Each source has its own replay server (a separate process) on its own port =
its own host for the politeness gates. The brokers (``bench/fleet_brokers.py``)
fetch the real recorded Gaia Alerts lightcurves and parse them for real (a
lean parser by default, ``--parser gaia`` for the site's own); every target is
one of the three recorded alerts. Measured in one run, each on a fresh copy
of the same SQLite database:

1. one after another: ``update_reduced_data --workers 1``;
2. this project: ``update_reduced_data --workers W --processes P`` under the
   politeness limits;
3. re-run with nothing new: ``update_reduced_data --due ...`` (cron's line);
4. for reference, a forced re-fetch of everything without ``--due`` (nothing
   new either: 0 rows written).

The bound the politeness limits allow, per host with N requests, at most C at
once and R per second, and latency L: max(N / R, ceil(N / C) * L); the hosts
work in parallel, so the fleet's bound is the largest of the four.

    /work/main/.venv/bin/python bench/bench_fleet.py [--targets 1000] [--latency 0.1]
        [--workers 8] [--processes 4] [--max-concurrent 8] [--rps 25] [--parser lean|gaia]
"""
from __future__ import annotations

import argparse
import io
import math
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import _django

ALERTS = ["Gaia14aaa", "Gaia16aaa", "Gaia18dqq"]
SOURCES = ["GAIA", "ZTF", "ASASSN", "CRTS"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_replay(latency: float) -> tuple[list[subprocess.Popen], list[str]]:
    processes, urls = [], []
    for _ in SOURCES:
        port = free_port()
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "bhtom_base.replay", "--fixtures", str(_django.ROOT / "tests" / "fixtures"),
             "--port", str(port), "--latency", str(latency)],
            cwd=_django.ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ))
        urls.append(f"http://127.0.0.1:{port}")
    for url in urls:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{url}/alerts/alert/Gaia14aaa/lightcurve.csv", timeout=2).read()
                break
            except OSError:
                time.sleep(0.05)
    return processes, urls


def make_targets(count: int) -> None:
    from tom_targets.models import Target, TargetExtra

    Target.objects.bulk_create(
        [Target(name=f"bench{i:05d}", type="SIDEREAL", ra=i * 0.3 % 360, dec=0.0, epoch=2000) for i in range(count)]
    )
    targets = list(Target.objects.order_by("pk"))
    TargetExtra.objects.bulk_create(
        [TargetExtra(target=t, key="GAIA", value=ALERTS[i % len(ALERTS)]) for i, t in enumerate(targets)]
    )


def run(*args: str) -> tuple[float, str]:
    from django.core.management import call_command
    from django.core.management.base import CommandError

    out = io.StringIO()
    start = time.perf_counter()
    try:
        call_command("update_reduced_data", *args, "--quiet", stdout=out)
    except CommandError as error:
        raise SystemExit(f"update failed: {error}\n{out.getvalue()[-2000:]}") from None
    return time.perf_counter() - start, out.getvalue()


def counts() -> tuple[int, dict[str, int]]:
    from django.db.models import Count
    from tom_dataproducts.models import PhotometryReducedDatum

    from bhtom_base.models import LightcurveUpdateState

    rows = PhotometryReducedDatum.objects.count()
    states = dict(LightcurveUpdateState.objects.values_list("status").annotate(n=Count("id")))
    return rows, states


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--targets", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--parser", choices=["lean", "gaia"], default="lean",
                        help="the bench brokers' parser: lean (default) or the site's GaiaAlertsBroker.parse")
    parser.add_argument("--processes", type=int, default=4, help="update_reduced_data --processes")
    parser.add_argument("--max-concurrent", type=int, default=8)
    parser.add_argument("--rps", type=float, default=25.0)
    parser.add_argument("--baseline-targets", type=int, default=None,
                        help="targets for the one-after-another run (default: all)")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    processes, urls = start_replay(args.latency)
    try:
        _django.setup()
        import fleet_brokers
        from django.conf import settings

        from bhtom_base import conf

        fleet_brokers.PARSER["name"] = args.parser
        settings.TOM_ALERT_CLASSES = fleet_brokers.CLASSES
        settings.BHTOM_URLS = {**conf.setting("BHTOM_URLS"), **dict(zip(SOURCES, urls, strict=True))}
        settings.BHTOM_POLITENESS = {
            source: {"max_concurrent": args.max_concurrent, "requests_per_second": args.rps} for source in SOURCES
        }
        make_targets(args.targets)
        n = args.targets
        per_host = max(n / args.rps, math.ceil(n / args.max_concurrent) * args.latency)
        print(f"fleet: {n} targets x {len(SOURCES)} sources = {n * len(SOURCES)} updates; latency {args.latency} s; "
              f"politeness per host: {args.max_concurrent} at once, {args.rps:g}/s; {args.processes} processes x "
              f"{args.workers} threads; parser: {args.parser}")
        print(f"bound allowed by the politeness limits: {per_host:.1f} s")
        _django.fresh_database("baseline")
        baseline_n = args.baseline_targets or n
        ids = [str(i) for i in range(1, baseline_n + 1)]
        baseline, _ = run(*ids, "--workers", "1")
        rows, states = counts()
        scale = n / baseline_n
        print(f"one after another ({baseline_n} targets): {baseline:8.1f} s; {rows} rows; states {states}")
        if scale != 1:
            baseline *= scale
            print(f"  scaled to {n} targets: {baseline:.1f} s")

        _django.fresh_database("fleet")
        first, _ = run("--workers", str(args.workers), "--processes", str(args.processes))
        rows_first, states = counts()
        print(f"this project, first run:        {first:8.1f} s; {rows_first} rows; states {states}")
        rerun, output = run("--due", "--workers", str(args.workers), "--processes", str(args.processes))
        rows_rerun, states = counts()
        print(f"re-run with --due (cron):       {rerun:8.2f} s; {rows_rerun - rows_first} rows written; "
              f"{output.strip() or 'nothing due'}")
        forced, _ = run("--workers", str(args.workers), "--processes", str(args.processes))
        rows_forced, states = counts()
        print(f"re-fetch everything (no --due): {forced:8.1f} s; {rows_forced - rows_rerun} rows written")
        print(f"speed-up over one after another: {baseline / first:.1f}x (goal >= 10)")
        print(f"first run / politeness bound: {first / per_host:.2f} (goal <= 1.5)")
        print(f"first run / re-run with --due: {first / rerun:.0f}x (goal >= 5)")
        assert rows_rerun == rows_first == rows_forced
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait()
        _django.cleanup()


if __name__ == "__main__":
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    main()
