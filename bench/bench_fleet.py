"""Fleet benchmark: T targets x every installed broker, each survey on a replay server of its own.

Every broker of ``bhtom2.brokers.ALL`` runs its own fetch and parse on its
source's real recorded answers (``bench/fleet_brokers.py``), one replay server
(a separate process, its own port = its own host for the politeness gates) per
source, ``--latency`` seconds per request. Every fleet target carries every
survey's recorded name and sits where the ATLAS recording was made; each answer
is read as for its recorded object, so each pair stores that recording's points.
Measured in one run, each phase on a fresh copy of one database of targets
(PostgreSQL with ``DATABASE_URL``, else SQLite), every phase a real
``manage.py`` process:

1. one after another: ``update_reduced_data --workers 1`` for the first
   ``--baseline-targets`` targets, scaled to all;
2. threads and processes: ``update_reduced_data --workers W --processes P``;
3. the cron re-run: ``update_reduced_data --due`` (nothing is due);
4. workers (PostgreSQL only): ``update_reduced_data --enqueue``, then
   ``--worker-processes`` x ``update_worker --threads T --batch``; the politeness
   limits hold per process, so each worker process gets 1/K of them and the
   hosts see the same limits as in 2.

Two bounds are printed for 2 and 4. The politeness bound, per host with N
requests (counted by its replay server), at most C at once and R per second,
latency L: max(N / R, N * L / C); the hosts work in parallel, so the fleet's
bound is the largest. The CPU bound: the CPU time the update processes used,
divided by the machine's cores (the database server's own CPU comes on top).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_fleet .venv/bin/python bench/bench_fleet.py
        [--targets 1000] [--latency 0.1] [--workers 8] [--processes 4] [--max-concurrent 8] [--rps 25]
        [--baseline-targets 50] [--worker-processes 4] [--worker-threads 8] [--source NAME ...]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(ROOT), str(BENCH)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Database:
    """A migrated template database and fresh copies of it, PostgreSQL (``DATABASE_URL``) or SQLite."""

    def __init__(self, tmp: Path) -> None:
        self.url = os.environ.get("DATABASE_URL", "")
        self.postgres = self.url.startswith(("postgres://", "postgresql://"))
        self.tmp = tmp
        self.copies: list[str] = []
        if self.postgres:
            from dj_database_url import parse

            config = parse(self.url)
            self.base = config["NAME"]
            self.server = dict(host=config["HOST"] or "127.0.0.1", port=config["PORT"] or 5432,
                               user=config["USER"], password=config["PASSWORD"] or None)
            self._admin(f'DROP DATABASE IF EXISTS "{self.base}_tpl" WITH (FORCE)', f'CREATE DATABASE "{self.base}_tpl"')

    def _admin(self, *statements: str) -> None:
        import psycopg

        with psycopg.connect(dbname="postgres", autocommit=True, **self.server) as admin:
            for statement in statements:
                admin.execute(statement)

    def env(self, name: str) -> dict[str, str]:
        if self.postgres:
            return {"DATABASE_URL": f"{self.url.rsplit('/', 1)[0]}/{self.base}_{name}"}
        return {"SQLITE_PATH": str(self.tmp / f"{name}.sqlite3")}

    def fresh(self, name: str) -> dict[str, str]:
        """A fresh copy of the template; the environment pointing at it."""
        if self.postgres:
            self._admin(f'DROP DATABASE IF EXISTS "{self.base}_{name}" WITH (FORCE)',
                        f'CREATE DATABASE "{self.base}_{name}" TEMPLATE "{self.base}_tpl"')
        else:
            shutil.copyfile(self.tmp / "tpl.sqlite3", self.tmp / f"{name}.sqlite3")
        self.copies.append(name)
        return self.env(name)

    def query(self, name: str, sql: str) -> list[tuple]:
        if self.postgres:
            import psycopg

            with psycopg.connect(dbname=f"{self.base}_{name}", **self.server) as db:
                return db.execute(sql).fetchall()
        import sqlite3

        with sqlite3.connect(self.tmp / f"{name}.sqlite3") as db:
            return db.execute(sql).fetchall()

    def drop(self) -> None:
        if self.postgres:
            self._admin(*[f'DROP DATABASE IF EXISTS "{self.base}_{name}" WITH (FORCE)'
                          for name in [*self.copies, "tpl"]])


class Replay:
    """One replay server process per source, each on its own port."""

    def __init__(self, sources: list[str], tmp: Path, latency: float) -> None:
        self.ports = {source: free_port() for source in sources}
        self.tmp, self.latency = tmp, latency
        self.processes: list[subprocess.Popen] = []

    def url(self, source: str) -> str:
        return f"http://127.0.0.1:{self.ports[source]}"

    def start(self, fixtures_for) -> None:
        for source, port in self.ports.items():
            folder = fixtures_for(source, self.tmp / "fixtures")
            self.processes.append(subprocess.Popen(
                [sys.executable, "-m", "bhtom_base.replay", "--fixtures", str(folder), "--port", str(port),
                 "--latency", str(self.latency)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for source in self.ports:
            for _ in range(400):
                try:
                    urllib.request.urlopen(f"{self.url(source)}/__replay__/requests", timeout=2).read()
                    break
                except OSError:
                    time.sleep(0.05)
            else:
                raise SystemExit(f"the replay server of {source} did not start")

    def take_requests(self) -> dict[str, int]:
        """Requests each server answered since the last call."""
        counts = {}
        for source in self.ports:
            url = f"{self.url(source)}/__replay__/requests"
            counts[source] = len(json.loads(urllib.request.urlopen(url, timeout=30).read()))
            urllib.request.urlopen(urllib.request.Request(url, method="DELETE"), timeout=30).read()
        return counts

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait()


def write_config(path: Path, replay: Replay, sources: list[str], limits: dict, settings: dict) -> None:
    urls = {source: replay.url(source) for source in sources}
    if "LSST" in urls:  # whichever service BHTOM_LSST_SERVICE chooses
        urls.update(LSST_ALERCE=urls["LSST"], LSST_LASAIR=urls["LSST"])
    politeness = {f"127.0.0.1:{replay.ports[source]}": limits for source in sources}
    path.write_text(json.dumps({"urls": urls, "politeness": politeness, "settings": settings}))


def machine_cpu() -> float:
    """CPU seconds the whole machine has spent busy since boot (``/proc/stat``), 0 where there is none."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(value) for value in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def manage(env: dict, *args: str, timeout: float = 7200, profile: str = "") -> tuple[float, float, str]:
    """Wall seconds, CPU seconds and output of one ``manage.py`` run (under cProfile into ``profile``)."""
    cpu, start = children_cpu(), time.perf_counter()
    python = [sys.executable, "-m", "cProfile", "-o", profile] if profile else [sys.executable]
    result = subprocess.run([*python, str(ROOT / "manage.py"), *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=timeout)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed ({result.returncode}):\n"
                         f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return wall, children_cpu() - cpu, result.stdout


def politeness_bound(requests: dict[str, int], latency: float, limits: dict) -> tuple[float, str]:
    per_host = {source: max(n / limits["requests_per_second"], n * latency / limits["max_concurrent"])
                for source, n in requests.items()}
    slowest = max(per_host, key=per_host.get)
    return per_host[slowest], slowest


def stored(database: Database, name: str) -> tuple[int, dict[str, int]]:
    rows = database.query(name, "SELECT count(*) FROM tom_dataproducts_photometryreduceddatum")[0][0]
    states = dict(database.query(name, "SELECT status, count(*) FROM bhtom_base_lightcurveupdatestate "
                                       "GROUP BY status"))
    return rows, states


def per_source_rows(database: Database, name: str) -> Counter:
    return Counter(dict(database.query(
        name, "SELECT source_name, count(*) FROM tom_dataproducts_photometryreduceddatum GROUP BY source_name")))


def make_targets(count: int, names: dict[str, str], position: tuple[float, float]) -> None:
    from tom_targets.models import Target, TargetExtra

    Target.objects.bulk_create([Target(name=f"fleet{i:05d}", type="SIDEREAL", ra=position[0], dec=position[1],
                                       epoch=2000) for i in range(count)])
    TargetExtra.objects.bulk_create([TargetExtra(target=target, key=key, value=value)
                                     for target in Target.objects.order_by("pk") for key, value in names.items()])


def report_run(label: str, wall: float, cpu: float, busy: float, requests: dict[str, int], args, cores: int
               ) -> float:
    limits = {"max_concurrent": args.max_concurrent, "requests_per_second": args.rps}
    bound, host = politeness_bound(requests, args.latency, limits)
    print(f"  {label}: {wall:.1f} s; {sum(requests.values())} requests; CPU: update processes {cpu:.0f} s, "
          f"the rest of the machine {max(busy - cpu, 0):.0f} s (database server, replay servers, other jobs), "
          f"{cores * wall:.0f} s available")
    print(f"    politeness bound {bound:.1f} s (busiest host: {host}, {requests[host]} requests); "
          f"CPU bound {cpu / cores:.1f} s ({cores} cores)")
    print(f"    / politeness bound: {wall / bound:.2f} (goal <= 1.5); "
          f"/ max(politeness, CPU) bound: {wall / max(bound, cpu / cores):.2f}")
    return bound


def main() -> None:  # noqa: PLR0915 - one benchmark, its phases in order
    parser = argparse.ArgumentParser()
    parser.add_argument("--targets", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--workers", type=int, default=8, help="update_reduced_data --workers")
    parser.add_argument("--processes", type=int, default=4, help="update_reduced_data --processes")
    parser.add_argument("--max-concurrent", type=int, default=8, help="politeness: requests at once per host")
    parser.add_argument("--rps", type=float, default=25.0, help="politeness: requests per second per host")
    parser.add_argument("--baseline-targets", type=int, default=50,
                        help="targets of the one-after-another run, scaled to --targets")
    parser.add_argument("--worker-processes", type=int, default=4, help="update_worker processes")
    parser.add_argument("--worker-threads", type=int, default=8, help="update_worker --threads")
    parser.add_argument("--source", action="append", default=[], help="only these sources (default: all)")
    parser.add_argument("--no-workers", action="store_true", help="skip phase 4 (enqueue + update_worker)")
    parser.add_argument("--profile", default="", help="write a cProfile of the one-after-another run here")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    tmp = Path(tempfile.mkdtemp(prefix="bhtom-fleet-"))
    database = Database(tmp)
    template = database.env("tpl")
    os.environ.update({**template, "DJANGO_SETTINGS_MODULE": "settings", "LOG_LEVEL": "ERROR"})
    import django

    django.setup()
    import fleet_scenarios
    from django.core.management import call_command
    from django.db import connection
    from django.utils.module_loading import import_string

    from bhtom2.brokers import ALL

    sources = [name.upper() for name in args.source] or [import_string(path).data_source.name for path in ALL]
    call_command("migrate", verbosity=0)
    make_targets(args.targets, fleet_scenarios.survey_names(sources), fleet_scenarios.POSITION)
    connection.close()
    replay = Replay(sources, tmp, args.latency)
    limits = {"max_concurrent": args.max_concurrent, "requests_per_second": args.rps}
    share = {"max_concurrent": max(1, args.max_concurrent // args.worker_processes),
             "requests_per_second": args.rps / args.worker_processes}
    settings = {**fleet_scenarios.scenario_settings(sources), "BHTOM_ATLAS_POLL_INTERVAL": args.latency,
                "BHTOM_ATLAS_MAX_WAIT": 120.0}
    write_config(tmp / "fleet.json", replay, sources, limits, settings)
    write_config(tmp / "worker.json", replay, sources, share, settings)
    # as a production site runs: DEBUG off (Django then neither wraps nor logs every SQL statement)
    base_env = {**os.environ, "DJANGO_SETTINGS_MODULE": "fleet_settings", "LOG_LEVEL": "ERROR", "DEBUG": "0",
                "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-fleet-only-not-a-secret"),
                "PYTHONPATH": os.pathsep.join([str(BENCH), str(ROOT), os.environ.get("PYTHONPATH", "")]),
                "BHTOM_FLEET_CONFIG": str(tmp / "fleet.json")}
    source_args = [f"--source={source}" for source in sources]
    try:
        replay.start(fleet_scenarios.fixtures_for)
        expected = fleet_scenarios.expected_points(sources)
        per_target = sum(expected.values())
        n = args.targets
        print(f"fleet: {n} targets x {len(sources)} sources = {n * len(sources)} updates "
              f"({per_target} recorded points per target: {n * per_target} rows); database: "
              f"{'postgresql' if database.postgres else 'sqlite'}; latency {args.latency} s; politeness per host: "
              f"{args.max_concurrent} at once, {args.rps:g}/s; {cores} cores")
        print(f"sources: {', '.join(sources)}")

        replay.take_requests()
        baseline_env = {**base_env, **database.fresh("baseline")}
        ids = [str(i) for i in range(1, args.baseline_targets + 1)]
        wall, cpu, _ = manage(baseline_env, "update_reduced_data", *ids, *source_args, "--workers", "1", "--quiet",
                              profile=args.profile)
        requests = replay.take_requests()
        rows, states = stored(database, "baseline")
        scale = n / args.baseline_targets
        baseline = wall * scale
        print(f"one after another, {args.baseline_targets} targets: {wall:.1f} s, CPU {cpu:.0f} s; "
              f"{sum(requests.values())} requests; {rows} rows; states {states}")
        print(f"  scaled to {n} targets: {baseline:.0f} s")
        assert rows == args.baseline_targets * per_target, (rows, per_source_rows(database, "baseline"), expected)

        fleet_env = {**base_env, **database.fresh("fleet")}
        busy = machine_cpu()
        wall, cpu, _ = manage(fleet_env, "update_reduced_data", *source_args, "--workers", str(args.workers),
                              "--processes", str(args.processes), "--quiet")
        requests = replay.take_requests()
        rows, states = stored(database, "fleet")
        print(f"update_reduced_data --workers {args.workers} --processes {args.processes}: {rows} rows; "
              f"states {states}")
        report_run("first run", wall, cpu, machine_cpu() - busy, requests, args, cores)
        print(f"    speed-up over one after another: {baseline / wall:.1f}x (goal >= 10)")
        assert rows == n * per_target, (rows, per_source_rows(database, "fleet"), expected)
        rerun, _, output = manage(fleet_env, "update_reduced_data", *source_args, "--due", "--quiet")
        again = stored(database, "fleet")[0]
        print(f"  cron re-run (--due): {rerun:.2f} s; {sum(replay.take_requests().values())} requests; "
              f"{again - rows} rows written; {output.strip() or 'nothing due'}")
        assert again == rows

        if args.no_workers:
            return
        if not database.postgres:
            print("update_worker: PostgreSQL only (django-tasks' database backend refuses SQLite, bhtom_base.E003)")
            return
        worker_env = {**base_env, **database.fresh("workers"), "TASKS_BACKEND": "database"}
        start, busy = time.perf_counter(), machine_cpu()
        _, cpu_enqueue, output = manage(worker_env, "update_reduced_data", *source_args, "--enqueue")
        queued = time.perf_counter() - start
        cpu_before = children_cpu()
        workers = [subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "update_worker", "--threads", str(args.worker_threads),
             "--batch", "--interval", "0.1"], cwd=ROOT,
            env={**worker_env, "BHTOM_FLEET_CONFIG": str(tmp / "worker.json")}, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True) for _ in range(args.worker_processes)]
        for worker in workers:
            out, _ = worker.communicate(timeout=7200)
            if worker.returncode != 0:
                raise SystemExit(f"update_worker failed:\n{out[-3000:]}")
        wall = time.perf_counter() - start
        cpu = children_cpu() - cpu_before + cpu_enqueue
        busy = machine_cpu() - busy
        requests = replay.take_requests()
        rows, states = stored(database, "workers")
        tasks = dict(database.query("workers", "SELECT status, count(*) FROM django_tasks_database_dbtaskresult "
                                               "GROUP BY status"))
        print(f"TASKS_BACKEND=database: enqueue ({queued:.1f} s) + {args.worker_processes} x update_worker "
              f"--threads {args.worker_threads} (each 1/{args.worker_processes} of the limits): {rows} rows; "
              f"states {states}; tasks {tasks}")
        report_run("enqueue to last task", wall, cpu, busy, requests, args, cores)
        print(f"    speed-up over one after another: {baseline / wall:.1f}x (goal >= 10)")
        assert rows == n * per_target, (rows, per_source_rows(database, "workers"), expected)
    finally:
        replay.stop()
        database.drop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
