"""A target's name in each survey, stored as a ``TargetExtra`` keyed by the source name.

``TargetExtra`` is what TOM Toolkit's target form, admin and CSV import already
write, so a CSV column called ``GAIA`` lands here with no extra code.
"""
from __future__ import annotations

from tom_targets.models import Target, TargetExtra


def get_survey_name(target: Target, source_name: str) -> str | None:
    value = (
        TargetExtra.objects.filter(target=target, key=source_name).values_list("value", flat=True).first()
    )
    value = (value or "").strip()
    return value or None


def set_survey_name(target: Target, source_name: str, name: str) -> None:
    """Store (or replace) the target's name in a survey; validation runs on save."""
    extra, created = TargetExtra.objects.get_or_create(target=target, key=source_name, defaults={"value": name})
    if not created and extra.value != name:
        extra.value = name
        extra.save()

