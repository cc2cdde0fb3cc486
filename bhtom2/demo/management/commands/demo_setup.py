"""``manage.py demo_setup``: a demo user and a few real targets with their survey names."""
from __future__ import annotations

import io
import secrets
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from guardian.shortcuts import assign_perm
from tom_targets.models import Target
from tom_targets.utils import import_targets

DEMO_TARGETS = Path(__file__).resolve().parents[2] / "targets.csv"


class Command(BaseCommand):
    help = "Create the demo user (printing its password) and import the demo targets."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--username", default="demo")
        parser.add_argument("--targets", default=str(DEMO_TARGETS), help="a TOM target CSV")

    def handle(self, *args, username: str, targets: str, **options) -> None:
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(username=username, defaults={"email": "demo@example.org"})
        password = secrets.token_urlsafe(9)
        user.set_password(password)
        user.is_staff = True
        user.is_superuser = True
        user.save()
        text = Path(targets).read_text()
        existing = set(Target.objects.values_list("name", flat=True))
        lines = text.splitlines()
        new_rows = [line for line in lines[1:] if line.split(",")[0] not in existing]
        result = import_targets(io.StringIO("\n".join([lines[0], *new_rows])))
        for error in result["errors"]:
            self.stderr.write(error)
        for target in Target.objects.all():
            for permission in ("view_target", "change_target", "delete_target"):
                assign_perm(f"tom_targets.{permission}", user, target)
        self.stdout.write(
            f"Demo user: {username} / password: {password}  ({'created' if created else 'password reset'})\n"
            f"Targets: {len(result['targets'])} imported, {Target.objects.count()} in the TOM."
        )
