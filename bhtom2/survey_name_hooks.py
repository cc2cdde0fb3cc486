"""Survey names and the brightness choice are validated wherever TOM Toolkit lets a user write them.

They are ``TargetExtra`` rows (keyed by the DataSource name, or
``bhtom_brightness``), written by the target form (its named fields and its
free-form extras), the admin, the API and the CSV import. Each path refuses a
bad value with a clear message and creates nothing:

* the target form (create and update): the survey-name fields and the
  free-form extras rows (``targetextra_set-N-key`` = a survey) are checked in
  ``TargetForm.clean``, before TOM saves the target;
* any ``TargetExtra`` model form (the admin's extras inline, TOM's extras
  formset): ``TargetExtra.clean`` puts the error on the value field;
* ``POST/PUT /api/targets/``: ``TargetExtraSerializer.validate`` answers 400
  before the target is created;
* the CSV import: each row is imported in its own transaction, a row with a
  bad survey name is refused whole with its line number (:mod:`.csv_import`).

A ``pre_save`` check on ``TargetExtra`` is the last line: code that bypasses
all of these still cannot store a bad name.
"""
from __future__ import annotations

from functools import cache

from django import forms
from django.core.exceptions import ValidationError
from django.db.models.signals import pre_save
from rest_framework import serializers
from tom_targets.forms import TargetForm
from tom_targets.models import TargetExtra
from tom_targets.serializers import TargetExtraSerializer

from bhtom_base import brightness

from . import csv_import
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


def survey_name_error(key: object, value: object) -> str | None:
    """Why ``value`` cannot be stored under ``key`` (None: it can, or ``key`` is neither a survey
    name nor the brightness choice)."""
    key = str(key or "").strip()
    if key == brightness.BRIGHTNESS_KEY:
        try:
            brightness.validate_brightness(value)
        except ValidationError as error:
            return f"{key}: {' '.join(error.messages)}"
        return None
    if key not in SOURCE_NAMES:
        return None
    text = "" if value is None else str(value).strip()
    if text in ("", "None"):
        return None
    try:
        get_data_source(key).validate_name(text)
    except ValidationError as error:
        return f"{key}: {' '.join(error.messages)}"
    return None


def _free_form_extras(form: forms.Form) -> list[tuple[str, str, str]]:
    """(prefix, key, value) of each row of TOM's extras formset posted with the target form."""
    data = form.data
    prefix = "targetextra_set"
    try:
        total = int(data.get(f"{prefix}-TOTAL_FORMS") or 0)
    except (TypeError, ValueError):
        return []
    rows = []
    for index in range(min(total, 1000)):
        row = f"{prefix}-{index}"
        if data.get(f"{row}-DELETE"):
            continue
        rows.append((row, str(data.get(f"{row}-key") or ""), str(data.get(f"{row}-value") or "")))
    return rows


def _clean_free_form_extras(form: forms.Form) -> None:
    for _row, key, value in _free_form_extras(form):
        problem = survey_name_error(key, value)
        if problem:
            form.add_error(None, problem)


def _target_extra_clean(self: TargetExtra) -> None:
    problem = survey_name_error(self.key, self.value)
    if problem:
        raise ValidationError({"value": problem})


def _serializer_validate(self, attrs: dict) -> dict:
    problem = survey_name_error(attrs.get("key"), attrs.get("value"))
    if problem:
        raise serializers.ValidationError({"value": problem})
    return attrs


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


@cache  # once per process: the hooks wrap TOM Toolkit's own functions
def install() -> None:
    pre_save.connect(validate_target_extra, sender=TargetExtra, dispatch_uid="bhtom2_survey_names")

    original_init = TargetForm.__init__
    original_clean = TargetForm.clean

    def __init__(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        _decorate_form_fields(self)

    def clean(self):
        cleaned = original_clean(self)
        _clean_survey_names(self)
        _clean_free_form_extras(self)
        return cleaned

    TargetForm.__init__ = __init__
    TargetForm.clean = clean
    TargetExtra.clean = _target_extra_clean
    TargetExtraSerializer.validate = _serializer_validate
    csv_import.install()
