"""``manage.py check_surveys [--source NAME ...]``: is every configured survey still as recorded?

For each survey of ``TOM_ALERT_CLASSES`` it asks for one well-known object and
prints one line: reachable, answered in the expected format, points parsed and
time taken, or exactly what went wrong. Nothing is stored. The exit status is
1 when a survey is unreachable or differs ("not configured" is not a failure).
"""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from bhtom_base.registry import broker_classes
from bhtom_base.survey_check import check_survey


class Command(BaseCommand):
    help = "Ask every configured survey for one well-known object; say what answers as recorded and what differs."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--source", action="append", default=[], metavar="NAME",
                            help="only this source (repeatable), e.g. --source GAIA --source ZTF_DR8")

    def handle(self, *args, source: list[str], **options) -> None:
        classes = broker_classes()
        wanted = [name.strip().upper() for name in source] or list(classes)
        unknown = [name for name in wanted if name not in classes]
        if unknown:
            raise CommandError(f"no broker for {', '.join(unknown)} on this site; installed: {', '.join(classes)}")
        failed = []
        for name in wanted:
            check = check_survey(classes[name]())
            style = self.style.ERROR if check.failed else self.style.SUCCESS if check.status == "ok" else str
            self.stdout.write(style(check.line()))
            self.stdout.flush()
            if check.failed:
                failed.append(f"{name} ({check.status})")
        if failed:
            raise CommandError(f"{len(failed)} of {len(wanted)} surveys failed the check: {', '.join(failed)}")
        self.stdout.write(f"{len(wanted)} surveys checked; none unreachable or different from the recording.")
