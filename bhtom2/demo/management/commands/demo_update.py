"""``manage.py demo_update [--offline]``: fetch the demo targets' lightcurves.

Online every source is asked for every target (``update_reduced_data``);
offline only the (target, source) pairs that the replay server has
recordings for (``bhtom2/demo/offline_sources.json``).
"""
from __future__ import annotations

import json
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

PAIRS = Path(__file__).resolve().parents[2] / "offline_sources.json"


class Command(BaseCommand):
    help = "Fetch the demo targets' lightcurves (offline: only the recorded pairs)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--offline", action="store_true")

    def handle(self, *args, offline: bool, **options) -> None:
        if not offline:
            call_command("update_reduced_data", stdout=self.stdout)
            return
        pairs = {name: sources for name, sources in json.loads(PAIRS.read_text()).items()
                 if not name.startswith("_")}
        failed = 0
        for target, sources in pairs.items():
            args = [target] + [item for source in sources for item in ("--source", source)]
            try:
                call_command("update_reduced_data", *args, stdout=self.stdout)
            except CommandError as error:
                failed += 1
                self.stderr.write(f"{target}: {error}")
        total = sum(len(sources) for sources in pairs.values())
        self.stdout.write(f"Demo: {total} (target, source) updates replayed, {failed} targets with failures.")
        if failed:
            raise CommandError(f"{failed} demo targets had failures", returncode=1)
