"""``manage.py refresh_lightcurve_summaries``: recompute the target list's photometry columns.

Every successful update refreshes its target's summary by itself; run this once
after installing (targets updated before the summary existed) or after deleting
points by hand.

    manage.py refresh_lightcurve_summaries            # every target with photometry
    manage.py refresh_lightcurve_summaries 12 Gaia16aye
"""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from tom_dataproducts.models import PhotometryReducedDatum
from tom_targets.models import Target

from bhtom_base.summary import refresh_summary


class Command(BaseCommand):
    help = "Recompute each target's last magnitude, last point and brightened flag (the target list columns)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("targets", nargs="*", help="target ids or names (default: every target with photometry)")

    def handle(self, *args, **options) -> None:
        ids = self._target_ids(options["targets"])
        brightened = 0
        for target_id in ids:
            brightened += refresh_summary(target_id).brightened
        self.stdout.write(f"Refreshed {len(ids)} target summar{'y' if len(ids) == 1 else 'ies'}; "
                          f"{brightened} brightened.")

    def _target_ids(self, identifiers: list[str]) -> list[int]:
        if not identifiers:
            return sorted(set(PhotometryReducedDatum.objects.order_by().values_list("target_id", flat=True)
                              .distinct()))
        ids = []
        for identifier in identifiers:
            target = Target.objects.filter(pk=int(identifier)).first() if identifier.isdigit() else None
            target = target or Target.objects.filter(name=identifier).first()
            if target is None:
                raise CommandError(f"No target with id or name {identifier!r}.")
            ids.append(target.pk)
        return ids
