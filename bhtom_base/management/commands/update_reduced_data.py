"""``manage.py update_reduced_data``: fetch new survey photometry for targets.

    manage.py update_reduced_data                      # every target, every source
    manage.py update_reduced_data 12 "Gaia16aye"       # by id or by name
    manage.py update_reduced_data --source GAIA --source GAIA_DR3
    manage.py update_reduced_data --due --workers 8    # cron: what is due, 8 at once (and first
                                                       # fail what dead workers left running)
    manage.py update_reduced_data --due --workers 8 --processes 4   # hosts split over 4 processes
    manage.py update_reduced_data --enqueue            # hand the work to db_worker processes

See docs/workers.md (cadence, politeness, workers on several machines).

    manage.py update_reduced_data 12 --source GAIA --accept-removals   # apply a held answer

Exit status 0 when every update succeeded (or was not configured / not
applicable), 1 when any failed or was held (an answer that would remove more
than 10 % and more than 5 of a pair's points waits for ``--accept-removals``);
one failure never stops the others.
"""
from __future__ import annotations

import logging
import multiprocessing
import queue
import sys
import threading
import time
from contextlib import contextmanager
from itertools import zip_longest
from urllib.parse import urlsplit

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, connections
from tom_targets.models import Target, TargetName

from bhtom_base import conf
from bhtom_base.models import LightcurveUpdateState, UpdateStatus
from bhtom_base.registry import broker_classes
from bhtom_base.report import LightcurveUpdateReport
from bhtom_base.scheduling import due_pairs, enqueue_pairs, next_due_text, release_dead_work
from bhtom_base.update import update_lightcurve


class Command(BaseCommand):
    help = "Fetch new photometry from the survey brokers for some or all targets."
    # System checks resolve every URL pattern, which imports every view of the site (about 1 s paid by
    # every cron run and worker start); `manage.py check` runs them, and a broker that is not configured
    # still ends its updates as 'not configured'.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser) -> None:
        parser.add_argument("targets", nargs="*", help="target ids or names (default: all targets)")
        parser.add_argument("--source", action="append", default=[], metavar="NAME",
                            help="only this source (repeatable), e.g. GAIA, GAIA_DR3")
        parser.add_argument("--force", action="store_true",
                            help="fetch everything again, data releases included")
        parser.add_argument("--due", action="store_true",
                            help="only the pairs whose cadence has passed since their last success")
        parser.add_argument("--workers", type=int, default=1,
                            help="updates to run at once, as threads (default 1); each survey host still gets "
                                 "at most its own politeness limits (BHTOM_POLITENESS)")
        parser.add_argument("--processes", type=int, default=1,
                            help="split the survey hosts over this many processes (each with --workers "
                                 "threads) to use several CPU cores; one host is never split, so its "
                                 "politeness limits still hold (default 1)")
        parser.add_argument("--enqueue", action="store_true",
                            help="queue one task per (target, source) instead of running them here")
        parser.add_argument("--accept-removals", action="store_true",
                            help="apply the surveys' answers for the selected pairs even where they remove many "
                                 "stored points (pairs held for that)")
        parser.add_argument("--quiet", action="store_true",
                            help="for cron: no progress bar, no log lines below ERROR, and only the failed or held "
                                 "updates, one line each")

    def handle(self, *args, **options) -> None:
        with _log_level("bhtom", logging.ERROR if options["quiet"] else None):
            self._handle(options)

    def _handle(self, options) -> None:
        started = time.perf_counter()
        classes = broker_classes()
        sources = self._sources(classes, options["source"])
        targets = self._targets(options["targets"])
        pairs = [(target, source) for target in targets for source in sources]
        if options["due"]:
            released_pairs, released_tasks = release_dead_work()
            if released_pairs or released_tasks:
                self.stdout.write(f"Released work of dead workers: {released_pairs} pairs marked failed, "
                                  f"{released_tasks} task rows marked failed.")
            pairs = due_pairs(pairs, classes)
        planned = time.perf_counter()
        if options["verbosity"] >= 2:
            self.stdout.write(f"Planned {len(pairs)} pairs in {planned - started:.2f} s.")
        if options["enqueue"]:
            queued = enqueue_pairs(pairs, force=options["force"], only_due=options["due"])
            considered = len(targets) * len(sources)
            due = f", {considered - queued} not due" if options["due"] else ""
            if options["verbosity"] >= 2:
                self.stdout.write(f"Queued in {time.perf_counter() - planned:.2f} s.")
            self.stdout.write(f"Queued {queued} updates ({len(targets)} targets x {len(sources)} sources{due}).")
            return
        if options["processes"] > 1:
            reports = self._run_processes(pairs, classes, options)
        else:
            reports = self._run(pairs, classes, options)
        self._summary(reports, quiet=options["quiet"])
        failed = [report for report in reports if report.failed]
        held = [report for report in reports if report.held]
        if failed or held:
            message = f"{len(failed)} of {len(reports)} updates failed." if failed else ""
            if held:
                message += (f" {len(held)} of {len(reports)} updates held: their answers would remove many points; "
                            "check them, then run again with --accept-removals.")
            raise CommandError(message.strip(), returncode=1)

    def _sources(self, classes, requested: list[str]) -> list[str]:
        if not requested:
            return list(classes)
        names = []
        for name in requested:
            key = name.strip().upper()
            if key not in classes:
                raise CommandError(f"Unknown source {name!r}; installed: {', '.join(classes)}.")
            names.append(key)
        return names

    def _targets(self, identifiers: list[str]) -> list[Target]:
        if not identifiers:
            return list(Target.objects.order_by("pk"))
        found = []
        for identifier in identifiers:
            target = None
            if identifier.isdigit():
                target = Target.objects.filter(pk=int(identifier)).first()
            if target is None:
                target = Target.objects.filter(name=identifier).first()
            if target is None:
                alias = TargetName.objects.filter(name=identifier).select_related("target").first()
                target = alias.target if alias else None
            if target is None:
                raise CommandError(f"No target with id or name {identifier!r}.")
            found.append(target)
        return found

    def _run(self, pairs, classes, options) -> list[LightcurveUpdateReport]:
        """Run the pairs on ``--workers`` threads; the HTTP gates keep each host's limits.

        Each thread keeps one database connection for all its updates and closes
        it when the work is done (opening one per update costs more than most
        updates). Pairs are interleaved by source so every host is busy from the
        start instead of one survey at a time.
        """
        workers = max(1, options["workers"])
        if connection.vendor == "sqlite" and connection.settings_dict["NAME"] in ("", ":memory:") or (
            connection.vendor == "sqlite" and "mode=memory" in str(connection.settings_dict["NAME"])
        ):
            workers = 1  # an in-memory database is private to one connection
        if connection.in_atomic_block:
            workers = 1  # inside a transaction (tests): other connections would not see its rows
        progress = self._progress(len(pairs), options["quiet"])
        force = options["force"]
        accept_removals = options.get("accept_removals", False)
        todo: queue.SimpleQueue = queue.SimpleQueue()
        for pair in _interleave_by_source(pairs):
            todo.put(pair)
        reports: list[LightcurveUpdateReport] = []
        lock = threading.Lock()

        def work(own_connection: bool) -> None:
            try:
                while True:
                    try:
                        target, source = todo.get_nowait()
                    except queue.Empty:
                        return
                    report = update_lightcurve(classes[source](), target, force=force, accept_removals=accept_removals)
                    with lock:
                        reports.append(report)
                        progress.update(1)
            finally:
                if own_connection:
                    connections.close_all()

        if workers == 1:
            work(own_connection=False)
        else:
            threads = [threading.Thread(target=work, args=(True,), name=f"update-{i}") for i in range(workers)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        progress.close()
        order = {(t.name, s): i for i, (t, s) in enumerate(pairs)}
        reports.sort(key=lambda r: order.get((r.target_name, r.source), 0))
        return reports

    def _run_processes(self, pairs, classes, options) -> list[LightcurveUpdateReport]:
        """Fork one process per group of survey hosts; each runs its pairs on ``--workers`` threads."""
        groups = _split_by_host(pairs, options["processes"])
        if len(groups) <= 1 or connection.in_atomic_block:
            return self._run(pairs, classes, options)
        connections.close_all()  # a forked child must open its own connections
        child_options = {**options, "quiet": True}
        context = multiprocessing.get_context("fork")
        with context.Pool(len(groups)) as pool:
            results = pool.map(_run_group, [(group, classes, child_options) for group in groups])
        reports = [report for result in results for report in result]
        order = {(t.name, s): i for i, (t, s) in enumerate(pairs)}
        reports.sort(key=lambda r: order.get((r.target_name, r.source), 0))
        return reports

    def _progress(self, total: int, quiet: bool):
        if quiet or not sys.stderr.isatty():
            return _NoProgress()
        from tqdm import tqdm

        return tqdm(total=total, unit="update", file=sys.stderr)

    def _summary(self, reports: list[LightcurveUpdateReport], quiet: bool) -> None:
        if quiet:
            for r in reports:
                if r.failed:
                    self.stdout.write(f"{r.target_name} {r.source}: failed: {r.error}")
                elif r.held:
                    self.stdout.write(f"{r.target_name} {r.source}: held: {r.error}")
            return
        shown = reports
        if shown:
            states = {
                (state.target.name, state.source): state
                for state in LightcurveUpdateState.objects.filter(
                    source__in={r.source for r in shown}, target__name__in={r.target_name for r in shown}
                ).select_related("target")
            } if len(shown) <= 2000 else {}
            width = max(len(r.target_name) for r in shown)
            self.stdout.write(f"{'target':<{width}}  {'source':<9} {'status':<15} {'new':>7} {'revised':>7} "
                              f"{'removed':>7} {'total':>7}  {'next due':<20}  error")
            for r in shown:
                due = next_due_text(states.get((r.target_name, r.source))) if states else ""
                self.stdout.write(
                    f"{r.target_name:<{width}}  {r.source:<9} {r.status:<15} {r.new_points:>7} "
                    f"{r.revised_points:>7} {r.removed_points:>7} {r.total_points:>7}  {due:<20}  {r.error}"
                )
        counts: dict[str, int] = {}
        for r in reports:
            counts[r.status] = counts.get(r.status, 0) + 1
        new = sum(r.new_points for r in reports)
        revised = sum(r.revised_points for r in reports)
        removed = sum(r.removed_points for r in reports)
        parts = ", ".join(f"{n} {UpdateStatus(s).label if s in UpdateStatus.values else s.replace('_', ' ')}"
                          for s, n in sorted(counts.items()))
        self.stdout.write(f"{len(reports)} updates: {parts or 'nothing to do'}; {new} new points, "
                          f"{revised} revised, {removed} removed.")


@contextmanager
def _log_level(name: str, level: int | None):
    """The logger ``name`` at ``level`` while the block runs (None: unchanged)."""
    logger = logging.getLogger(name)
    previous = logger.level
    if level is not None:
        logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(previous)


class _NoProgress:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _interleave_by_source(pairs: list[tuple]) -> list[tuple]:
    """A, B, C, A, B, C... instead of all of A first: every host gets work at once."""
    by_source: dict[str, list[tuple]] = {}
    for pair in pairs:
        by_source.setdefault(pair[1], []).append(pair)
    return [pair for group in zip_longest(*by_source.values()) for pair in group if pair is not None]


def _split_by_host(pairs: list[tuple], processes: int) -> list[list[tuple]]:
    """Groups of pairs, one host never in two groups, balanced by number of pairs."""
    urls = conf.survey_urls()
    by_host: dict[str, list[tuple]] = {}
    for pair in pairs:
        by_host.setdefault(urlsplit(urls.get(pair[1], "")).netloc or pair[1], []).append(pair)
    groups: list[list[tuple]] = [[] for _ in range(min(processes, len(by_host)))]
    for host_pairs in sorted(by_host.values(), key=len, reverse=True):
        min(groups, key=len).extend(host_pairs)
    return [group for group in groups if group]


def _run_group(job) -> list[LightcurveUpdateReport]:
    """In a forked child: run one group of pairs on threads, then close the child's connections."""
    pairs, classes, options = job
    try:
        return Command()._run(pairs, classes, options)
    finally:
        connections.close_all()
