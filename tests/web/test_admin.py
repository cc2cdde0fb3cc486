"""Admin: photometry filters, survey-name inline, update and delete actions."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from tom_dataproducts.models import PhotometryReducedDatum
from tom_targets.models import Target, TargetExtra

from bhtom_base.models import LightcurveUpdateState, UpdateStatus

pytestmark = pytest.mark.django_db

T0 = datetime(2020, 1, 1, tzinfo=UTC)
TARGET_ADMIN = f"admin:{Target._meta.app_label}_{Target._meta.model_name}"  # TOM swaps in BaseTarget


def add_points(target, source, band, n):
    PhotometryReducedDatum.objects.bulk_create([
        PhotometryReducedDatum(target=target, timestamp=T0 + timedelta(days=i), source_name=source,
                               bandpass=band, brightness=15.0 + i / 100, brightness_error=0.05)
        for i in range(n)])


@pytest.fixture
def admin_client_(client, users):
    client.force_login(users["staff"])
    return client


def changelist_count(response) -> int:
    return len(response.context["cl"].result_list)


def test_photometry_is_filterable_by_source_and_band_and_searchable_by_target(admin_client_, gaia_target):
    other = Target.objects.create(name="Other", type="SIDEREAL", ra=1, dec=2)
    add_points(gaia_target, "GAIA", "G(Gaia Alerts)", 5)
    add_points(gaia_target, "ZTF", "g(ZTF)", 3)
    add_points(other, "ZTF", "r(ZTF)", 2)
    url = reverse("admin:tom_dataproducts_photometryreduceddatum_changelist")
    assert changelist_count(admin_client_.get(url, {"source_name__exact": "ZTF"})) == 5
    assert changelist_count(admin_client_.get(url, {"bandpass__exact": "g(ZTF)"})) == 3
    assert changelist_count(admin_client_.get(url, {"q": "Other"})) == 2


def test_target_admin_shows_survey_names_and_update_state(admin_client_, gaia_target):
    LightcurveUpdateState.objects.create(target=gaia_target, source="GAIA", status=UpdateStatus.FAILED,
                                         last_error="HTTP 503")
    html = admin_client_.get(reverse(TARGET_ADMIN + "_change", args=[gaia_target.pk])).content.decode()
    assert "survey names" in html.lower() and 'value="Gaia14aaa"' in html and "HTTP 503" in html


def test_update_state_admin_lists_errors(admin_client_, gaia_target):
    LightcurveUpdateState.objects.create(target=gaia_target, source="GAIA", status=UpdateStatus.FAILED,
                                         last_error="HTTP 503 from gsaweb")
    html = admin_client_.get(reverse("admin:bhtom_base_lightcurveupdatestate_changelist")).content.decode()
    assert "HTTP 503 from gsaweb" in html


def test_update_action_queues_and_runs_the_updates(admin_client_, gaia_target, replay,
                                                    django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin_client_.post(reverse(TARGET_ADMIN + "_changelist"),
                                      {"action": "update_lightcurves", ACTION_CHECKBOX_NAME: [gaia_target.pk]})
    assert response.status_code == 302 and len(callbacks) == 1
    state = LightcurveUpdateState.objects.get(target=gaia_target, source="GAIA")
    assert state.status == UpdateStatus.DONE and state.new_points == 28


def test_delete_source_points_asks_first_then_deletes_only_that_source(admin_client_, gaia_target):
    add_points(gaia_target, "GAIA", "G(Gaia Alerts)", 5)
    add_points(gaia_target, "ZTF", "g(ZTF)", 3)
    LightcurveUpdateState.objects.create(target=gaia_target, source="GAIA", status=UpdateStatus.DONE,
                                         total_points=5, last_success=T0)
    url = reverse(TARGET_ADMIN + "_changelist")
    form = {"action": "delete_source_points", ACTION_CHECKBOX_NAME: [gaia_target.pk]}
    confirm = admin_client_.post(url, form)
    assert confirm.status_code == 200 and b"GAIA (5 points)" in confirm.content
    assert PhotometryReducedDatum.objects.count() == 8
    done = admin_client_.post(url, {**form, "confirm": "yes", "source": "GAIA"})
    assert done.status_code == 302
    assert list(PhotometryReducedDatum.objects.values_list("source_name", flat=True).distinct()) == ["ZTF"]
    state = LightcurveUpdateState.objects.get(target=gaia_target, source="GAIA")
    assert state.status == UpdateStatus.NEVER_RUN and state.last_success is None


def test_admin_refuses_an_invalid_survey_name(admin_client_, gaia_target):
    url = reverse(TARGET_ADMIN + "_change", args=[gaia_target.pk])
    page = admin_client_.get(url)
    data = {key: value for key, value in _form_data(page).items()}
    extra_id = TargetExtra.objects.get(target=gaia_target, key="GAIA").pk
    prefix = _survey_prefix(page)
    data[f"{prefix}-0-id"] = str(extra_id)
    data[f"{prefix}-0-key"] = "GAIA"
    data[f"{prefix}-0-value"] = "1 OR 1=1"
    response = admin_client_.post(url, data)
    assert response.status_code == 200  # the form again, with the error
    assert "not a valid" in response.content.decode()
    assert TargetExtra.objects.get(pk=extra_id).value == "Gaia14aaa"


def _survey_prefix(page) -> str:
    for formset in page.context["inline_admin_formsets"]:
        if formset.opts.verbose_name == "survey name":
            return formset.formset.prefix
    raise AssertionError("no survey-name inline")


def _form_data(page) -> dict:
    """Every field of the admin change form as the browser would post it."""
    data = {}
    adminform = page.context["adminform"].form
    for name, field in adminform.fields.items():
        value = adminform.initial.get(name, field.initial)
        if value is not None:
            data[name] = value
    for formset in page.context["inline_admin_formsets"]:
        management = formset.formset.management_form
        for name in management.fields:
            data[f"{management.prefix}-{name}"] = management.initial.get(name, 0)
        for form in formset.formset.forms:
            for name in form.fields:
                value = form.initial.get(name)
                if value is not None:
                    data[f"{form.prefix}-{name}"] = value.pk if hasattr(value, "pk") else value
    return data
