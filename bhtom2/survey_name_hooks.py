"""Survey names and the brightness choice are validated wherever TOM Toolkit lets a user write them.

Both are ``TargetExtra`` rows (keyed by the DataSource name, or
``bhtom_brightness``), written by the target form, the admin, the API and the
CSV import. A ``pre_save`` check on ``TargetExtra`` covers all of them (a bad
value is refused before it is stored); the target form additionally gets labels
from ``TARGET_NAME_KEYS``, one-line inputs, a choice list for the brightness
and per-field errors instead of a failed save.
"""
from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.db.models.signals import pre_save
from tom_targets.forms import TargetForm
from tom_targets.models import TargetExtra

from bhtom_base import brightness

from .data_sources import SOURCE_NAMES, get_data_source


def validate_target_extra(sender, instance: TargetExtra, **kwargs) -> None:
    if instance.key == brightness.BRIGHTNESS_KEY:
        instance.value = brightness.validate_brightness(instance.value)
        return
    if instance.key not in SOURCE_NAMES:
        return
    value = "" if instance.value is None else str(instance.value).strip()
    if value in ("", "None"):
        instance.value = ""
        return
    instance.value = get_data_source(instance.key).validate_name(value)


def _decorate_form_fields(form: forms.Form) -> None:
    for name in SOURCE_NAMES:
        field = form.fields.get(name)
        if field is None:
            continue
        source = get_data_source(name)
        field.label = source.target_name_label
        field.widget = forms.TextInput(attrs={"placeholder": source.spec.name_example})
        field.required = False
    if brightness.BRIGHTNESS_KEY in form.fields:
        initial = brightness.validate_brightness(form.fields[brightness.BRIGHTNESS_KEY].initial) or "auto"
        form.fields[brightness.BRIGHTNESS_KEY] = forms.ChoiceField(
            label=brightness.LABEL, choices=brightness.CHOICES, initial=initial, required=False,
            help_text=brightness.HELP)


def _clean_survey_names(form: forms.Form) -> None:
    for name in SOURCE_NAMES:
        if name not in form.fields or name not in form.cleaned_data:
            continue
        value = (form.cleaned_data.get(name) or "").strip()
        if not value:
            form.cleaned_data[name] = None  # TOM's save() skips None: nothing stored
            continue
        try:
            form.cleaned_data[name] = get_data_source(name).validate_name(value)
        except ValidationError as error:
            form.add_error(name, error)
    if brightness.BRIGHTNESS_KEY in form.fields and brightness.BRIGHTNESS_KEY in form.cleaned_data:
        try:
            form.cleaned_data[brightness.BRIGHTNESS_KEY] = (
                brightness.validate_brightness(form.cleaned_data[brightness.BRIGHTNESS_KEY]) or None)
        except ValidationError as error:
            form.add_error(brightness.BRIGHTNESS_KEY, error)


_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    pre_save.connect(validate_target_extra, sender=TargetExtra, dispatch_uid="bhtom2_survey_names")

    original_init = TargetForm.__init__
    original_clean = TargetForm.clean

    def __init__(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        _decorate_form_fields(self)

    def clean(self):
        cleaned = original_clean(self)
        _clean_survey_names(self)
        return cleaned

    TargetForm.__init__ = __init__
    TargetForm.clean = clean
