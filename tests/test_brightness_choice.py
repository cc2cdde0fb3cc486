"""The per-target brightness choice (``bhtom_brightness``): target form, model-level validation, target page."""
from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from tom_targets.models import Target, TargetExtra

from bhtom2.settings_helpers import survey_name_extra_fields
from bhtom_base.brightness import BRIGHTNESS_KEY, brightness_choice
from bhtom_base.lightcurve import Brightness
from bhtom_base.survey_names import get_survey_name
from tests.test_survey_names import create_form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("boss", "b@example.org", "pw"))
    return client


@pytest.fixture
def target():
    return Target.objects.create(name="ZTF18abbuksn-star", type="SIDEREAL", ra=313.7733, dec=39.0980)


def test_the_choice_is_an_extra_field_under_the_key_the_brokers_read():
    fields = {field["name"]: field for field in survey_name_extra_fields()}
    assert fields[BRIGHTNESS_KEY] == {"name": "bhtom_brightness", "type": "string", "hidden": True}


def test_create_form_offers_the_three_choices_with_auto_first(admin_client):
    form = admin_client.get("/targets/create/").context["form"]
    field = form.fields[BRIGHTNESS_KEY]
    assert field.label == "Brightness in difference-imaging surveys"
    assert [value for value, _ in field.choices] == ["auto", "total", "difference"]
    assert field.initial == "auto"


@pytest.mark.parametrize("posted, stored", [("total", "total"), ("difference", "difference"), ("auto", "auto")])
def test_create_form_stores_the_choice_and_brokers_read_it(admin_client, posted, stored):
    response = admin_client.post("/targets/create/", create_form_data(bhtom_brightness=posted))
    assert response.status_code == 302, response.content.decode()[:2000]
    created = Target.objects.get(name="Gaia16aye")
    assert get_survey_name(created, BRIGHTNESS_KEY) == stored
    assert brightness_choice(created) == Brightness(stored)


def test_create_form_refuses_anything_else(admin_client):
    response = admin_client.post("/targets/create/", create_form_data(bhtom_brightness="1 OR 1=1"))
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Target.objects.filter(name="Gaia16aye").exists()


def test_update_form_shows_the_stored_choice(admin_client, target):
    TargetExtra.objects.create(target=target, key=BRIGHTNESS_KEY, value="difference")
    form = admin_client.get(f"/targets/{target.pk}/update/").context["form"]
    assert form.fields[BRIGHTNESS_KEY].initial == "difference"


def test_every_other_writer_is_validated_before_the_row_is_stored(target):
    """The API, the CSV import and the admin all save TargetExtra rows: the model-level check covers them."""
    extra = TargetExtra.objects.create(target=target, key=BRIGHTNESS_KEY, value=" Total ")
    assert TargetExtra.objects.get(pk=extra.pk).value == "total"
    with pytest.raises(ValidationError, match="not a brightness choice"):
        TargetExtra.objects.create(target=target, key=BRIGHTNESS_KEY, value="star")
    assert list(TargetExtra.objects.filter(target=target, key=BRIGHTNESS_KEY).values_list("value", flat=True)) == [
        "total"]


def test_admin_extra_form_refuses_an_invalid_choice(target):
    from bhtom_base.admin import OtherExtraForm

    form = OtherExtraForm(data={"key": BRIGHTNESS_KEY, "value": "supernova"})
    assert not form.is_valid() and "not a brightness choice" in str(form.errors["value"])
    form = OtherExtraForm(data={"key": BRIGHTNESS_KEY, "value": "DIFFERENCE"})
    assert form.is_valid() and form.cleaned_data["value"] == "difference"
    form = OtherExtraForm(data={"key": "redshift", "value": "supernova"})  # other extras: TOM's as they were
    assert form.is_valid()


def test_target_page_shows_the_choice(admin_client, target):
    def shown() -> str:
        html = admin_client.get(f"/targets/{target.pk}/").content.decode()
        block = html[html.index('id="bhtom-brightness"'):]
        return " ".join(block[:block.index("</dl>")].split())

    assert "Brightness in difference-imaging surveys" in shown()
    assert 'data-set="auto"' in shown() and "auto: each survey decides" in shown()
    TargetExtra.objects.create(target=target, key=BRIGHTNESS_KEY, value="total")
    assert 'data-set="person"' in shown() and "total: in the reference image" in shown()
