"""``manage.py update_reduced_data``: fetch new survey photometry for targets.

    manage.py update_reduced_data                      # every target, every source
    manage.py update_reduced_data 12 "Gaia16aye"       # by id or by name
    manage.py update_reduced_data --source GAIA --source GAIA_DR3
    manage.py update_reduced_data --due --workers 8    # cron: what is due, 8 at once
    manage.py update_reduced_data --enqueue            # hand the work to db_worker processes

Exit status 0 when every update succeeded (or was not configured / not
applicable), 1 when any failed; one failure never stops the others.
"""
from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor, as_completed

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections, connection
from tom_targets.models import Target, TargetName

from bhtom_base.models import UpdateStatus
from bhtom_base.registry import broker_classes
from bhtom_base.report import LightcurveUpdateReport
from bhtom_base.scheduling import due_pairs, enqueue_pairs
from bhtom_base.update import update_lightcurve


class Command(BaseCommand):
    help = "Fetch new photometry from the survey brokers for some or all targets."

    def add_arguments(self, parser) -> None:
        parser.add_argument("targets", nargs="*", help="target ids or names (default: all targets)")
        parser.add_argument("--source", action="append", default=[], metavar="NAME",
                            help="only this source (repeatable), e.g. GAIA, GAIA_DR3")
        parser.add_argument("--force", action="store_true",
                            help="fetch everything again, data releases included")
        parser.add_argument("--due", action="store_true",
                            help="only the pairs whose cadence has passed since their last success")
        parser.add_argument("--workers", type=int, default=1, help="updates to run at once (default 1)")
        parser.add_argument("--enqueue", action="store_true",
                            help="queue one task per (target, source) instead of running them here")
        parser.add_argument("--quiet", action="store_true", help="no progress bar; summary of problems only")

    def handle(self, *args, **options) -> None:
        classes = broker_classes()
        sources = self._sources(classes, options["source"])
        targets = self._targets(options["targets"])
        pairs = [(target, source) for target in targets for source in sources]
        if options["due"]:
            pairs = due_pairs(pairs, classes)
        if options["enqueue"]:
            queued = enqueue_pairs(pairs, force=options["force"])
            self.stdout.write(f"Queued {queued} updates ({len(targets)} targets x {len(sources)} sources).")
            return
        reports = self._run(pairs, classes, options)
        self._summary(reports, quiet=options["quiet"])
        failed = [report for report in reports if report.failed]
        if failed:
            raise CommandError(f"{len(failed)} of {len(reports)} updates failed.", returncode=1)

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
        workers = max(1, options["workers"])
        if connection.vendor == "sqlite" and connection.settings_dict["NAME"] in ("", ":memory:"):
            workers = 1  # an in-memory database is private to one connection
        progress = self._progress(len(pairs), options["quiet"])

        def run(pair) -> LightcurveUpdateReport:
            target, source = pair
            try:
                return update_lightcurve(classes[source](), target, force=options["force"])
            finally:
                if workers > 1:
                    close_old_connections()

        reports: list[LightcurveUpdateReport] = []
        if workers == 1:
            for pair in pairs:
                reports.append(run(pair))
                progress.update(1)
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                futures = [pool.submit(run, pair) for pair in pairs]
                for future in as_completed(futures):
                    reports.append(future.result())
                    progress.update(1)
        progress.close()
        order = {(t.name, s): i for i, (t, s) in enumerate(pairs)}
        reports.sort(key=lambda r: order.get((r.target_name, r.source), 0))
        return reports

    def _progress(self, total: int, quiet: bool):
        if quiet or not sys.stderr.isatty():
            return _NoProgress()
        from tqdm import tqdm

        return tqdm(total=total, unit="update", file=sys.stderr)

    def _summary(self, reports: list[LightcurveUpdateReport], quiet: bool) -> None:
        shown = [r for r in reports if r.failed] if quiet else reports
        if shown:
            width = max(len(r.target_name) for r in shown)
            self.stdout.write(f"{'target':<{width}}  {'source':<9} {'status':<15} {'new':>7} {'total':>7}  error")
            for r in shown:
                self.stdout.write(
                    f"{r.target_name:<{width}}  {r.source:<9} {r.status:<15} {r.new_points:>7} "
                    f"{r.total_points:>7}  {r.error}"
                )
        counts: dict[str, int] = {}
        for r in reports:
            counts[r.status] = counts.get(r.status, 0) + 1
        new = sum(r.new_points for r in reports)
        parts = ", ".join(f"{n} {UpdateStatus(s).label if s in UpdateStatus.values else s.replace('_', ' ')}"
                          for s, n in sorted(counts.items()))
        if not quiet or any(r.failed for r in reports):
            self.stdout.write(f"{len(reports)} updates: {parts or 'nothing to do'}; {new} new points.")


class _NoProgress:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass
