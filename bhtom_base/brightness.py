"""A person's per-target choice of what "brightness" means in difference-imaging surveys.

Stored as the ``TargetExtra`` ``bhtom_brightness`` (``auto``, ``total`` or
``difference``; see :class:`~bhtom_base.lightcurve.Brightness`), written by the
target form, the admin, the API or a CSV import, and read by every broker
through ``ParseContext.brightness``.
"""
from __future__ import annotations

from django.core.exceptions import ValidationError
from tom_targets.models import Target

from .lightcurve import Brightness
from .survey_names import get_survey_name

# The TargetExtra where a person says what a target's brightness is in difference-imaging
# surveys ("total": it is in the reference image; "difference": a transient absent from it).
BRIGHTNESS_KEY = "bhtom_brightness"

LABEL = "Brightness in difference-imaging surveys"
CHOICES: tuple[tuple[str, str], ...] = (
    (Brightness.AUTO.value, "auto: each survey decides from its own information"),
    (Brightness.TOTAL.value, "total: in the reference image (star, microlensing source): reference + difference"),
    (Brightness.DIFFERENCE.value, "difference: a transient absent from the reference (supernova)"),
)
HELP = ("Whether this target is in the surveys' reference images (its brightness is reference + difference "
        "and a difference-image limit means no change) or a transient absent from them.")

__all__ = ["BRIGHTNESS_KEY", "CHOICES", "HELP", "LABEL", "brightness_choice", "describe", "validate_brightness"]


def brightness_choice(target: Target) -> Brightness:
    """A person's choice for the target (``bhtom_brightness`` extra), else ``auto``."""
    value = (get_survey_name(target, BRIGHTNESS_KEY) or "").lower()
    try:
        return Brightness(value)
    except ValueError:
        return Brightness.AUTO


def validate_brightness(value: object) -> str:
    """The stored form of a choice (``""`` for none); a clear ``ValidationError`` for anything else."""
    text = "" if value is None else str(value).strip().lower()
    if text in ("", "none"):
        return ""
    try:
        return Brightness(text).value
    except ValueError:
        allowed = ", ".join(choice for choice, _ in CHOICES)
        raise ValidationError(f"{str(value)[:40]!r} is not a brightness choice (one of {allowed}).") from None


def describe(value: str | None) -> str:
    """The label of a stored choice; an empty or unknown value reads as ``auto``."""
    try:
        choice = Brightness(validate_brightness(value) or Brightness.AUTO.value)
    except ValidationError:
        choice = Brightness.AUTO
    return dict(CHOICES)[choice.value]
