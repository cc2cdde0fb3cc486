"""Survey names can be set in the target form, the admin and the CSV import, and are validated everywhere."""
from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from tom_targets.models import Target, TargetExtra

from bhtom_base.survey_names import get_survey_name, set_survey_name

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("boss", "b@example.org", "pw")
    client.force_login(user)
    return client


def create_form_data(**extra):
    data = {"name": "Gaia16aye", "type": "SIDEREAL", "ra": "292.1", "dec": "31.2", "epoch": "2000",
            "permissions": "PRIVATE",
            # the management forms of TOM's inline formsets (extras, aliases)
            "targetextra_set-TOTAL_FORMS": "0", "targetextra_set-INITIAL_FORMS": "0",
            "aliases-TOTAL_FORMS": "0", "aliases-INITIAL_FORMS": "0"}
    data.update(extra)
    return data


def test_create_form_has_labelled_survey_name_fields(admin_client):
    page = admin_client.get("/targets/create/").content.decode()
    assert "Gaia Alerts name" in page and "Gaia DR3 source_id" in page
    assert 'placeholder="Gaia16aye"' in page


def test_create_form_stores_a_valid_name_normalised(admin_client):
    response = admin_client.post("/targets/create/", create_form_data(GAIA="gaia16AYE", GAIA_DR3=""))
    assert response.status_code == 302, response.content.decode()[:2000]
    target = Target.objects.get(name="Gaia16aye")
    assert get_survey_name(target, "GAIA") == "Gaia16aye"
    assert get_survey_name(target, "GAIA_DR3") is None


def test_create_form_refuses_an_invalid_name_with_a_field_error(admin_client):
    response = admin_client.post("/targets/create/", create_form_data(GAIA_DR3="1 OR 1=1"))
    assert response.status_code == 200
    assert "is not a valid Gaia DR3 source_id" in response.content.decode()
    assert not Target.objects.filter(name="Gaia16aye").exists()


def test_admin_inline_and_model_level_validation():
    target = Target.objects.create(name="t", type="SIDEREAL", ra=1, dec=2)
    set_survey_name(target, "GAIA_DR3", "4583627001381815936")
    assert get_survey_name(target, "GAIA_DR3") == "4583627001381815936"
    with pytest.raises(ValidationError):
        set_survey_name(target, "GAIA_DR3", "../../etc")
    assert get_survey_name(target, "GAIA_DR3") == "4583627001381815936"
    # keys that are not survey names are untouched by the validation
    TargetExtra.objects.create(target=target, key="redshift", value="../anything")


# -- every path that stores a survey name refuses a bad one and creates nothing -------------------

def free_form_extra(key: str, value: str) -> dict:
    """TOM's own free-form extras rows of the target form."""
    return {"targetextra_set-TOTAL_FORMS": "1", "targetextra_set-0-key": key, "targetextra_set-0-value": value}


def test_free_form_extras_on_the_create_form_refuse_a_bad_survey_name(admin_client):
    response = admin_client.post("/targets/create/", create_form_data(**free_form_extra("GAIA", "abc")))
    assert response.status_code == 200
    assert "GAIA: &#x27;abc&#x27; is not a valid Gaia Alerts name" in response.content.decode()
    assert not Target.objects.exists() and not TargetExtra.objects.exists()


def test_free_form_extras_on_the_create_form_store_a_good_survey_name(admin_client):
    response = admin_client.post("/targets/create/", create_form_data(**free_form_extra("GAIA", "gaia16aye")))
    assert response.status_code == 302
    assert get_survey_name(Target.objects.get(name="Gaia16aye"), "GAIA") == "Gaia16aye"


def test_free_form_extras_on_the_update_form_refuse_a_bad_survey_name(admin_client):
    target = Target.objects.create(name="Gaia16aye", type="SIDEREAL", ra=292.1, dec=31.2)
    data = create_form_data(**free_form_extra("GAIA_DR3", "1 OR 1=1"), name="Renamed")
    response = admin_client.post(f"/targets/{target.pk}/update/", data)
    assert response.status_code == 200
    assert "is not a valid Gaia DR3 source_id" in response.content.decode()
    target.refresh_from_db()
    assert target.name == "Gaia16aye" and not TargetExtra.objects.filter(target=target).exists()


def test_the_api_answers_400_for_a_bad_survey_name_and_creates_nothing(admin_client):
    payload = {"name": "Gaia16aye", "type": "SIDEREAL", "ra": 292.1, "dec": 31.2, "epoch": 2000,
               "targetextra_set": [{"key": "AAVSO", "value": "V404 Cyg"}, {"key": "GAIA", "value": "abc"}]}
    response = admin_client.post("/api/targets/", payload, content_type="application/json")
    assert response.status_code == 400
    assert "is not a valid Gaia Alerts name" in response.content.decode()
    assert not Target.objects.exists() and not TargetExtra.objects.exists()
    payload["targetextra_set"][1]["value"] = "Gaia16aye"
    assert admin_client.post("/api/targets/", payload, content_type="application/json").status_code == 201
    target = Target.objects.get(name="Gaia16aye")
    assert (get_survey_name(target, "GAIA"), get_survey_name(target, "AAVSO")) == ("Gaia16aye", "V404 Cyg")


def test_a_model_form_of_target_extra_puts_the_error_on_the_value(db):
    """The admin's extras inline (and TOM's extras formset) are model forms of TargetExtra."""
    from django.forms import modelform_factory

    target = Target.objects.create(name="t", type="SIDEREAL", ra=1, dec=2)
    form_class = modelform_factory(TargetExtra, fields=("target", "key", "value"))
    form = form_class({"target": target.pk, "key": "GAIA", "value": "abc"})
    assert not form.is_valid()
    assert "GAIA: 'abc' is not a valid Gaia Alerts name" in form.errors["value"][0]
    assert form_class({"target": target.pk, "key": "redshift", "value": "abc"}).is_valid()


CSV_HEADER = "name,type,ra,dec,epoch,GAIA,AAVSO\n"


def import_csv(admin_client, text: str) -> list[str]:
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("targets.csv", text.encode(), content_type="text/csv")
    response = admin_client.post("/targets/import/", {"target_csv": upload}, follow=True)
    assert response.status_code == 200
    return [str(message) for message in response.context["messages"]]


def test_csv_import_refuses_a_row_with_a_bad_survey_name_whole_and_counts_truly(admin_client):
    rows = ("Gaia16aye,SIDEREAL,292.1,31.2,2000,Gaia16aye,\n"
            "V404Cyg,SIDEREAL,306.0,33.9,2000,abc,V404 Cyg\n"  # a bad Gaia name next to a valid AAVSO name
            "Gaia14aaa,SIDEREAL,200.2,45.5,2000,Gaia14aaa,\n")
    messages = import_csv(admin_client, CSV_HEADER + rows)
    assert "Targets created: 2" in messages
    assert any(m.startswith("Error on line 3: GAIA: 'abc' is not a valid Gaia Alerts name") and
               m.endswith("Nothing of this row was created.") for m in messages), messages
    assert sorted(Target.objects.values_list("name", flat=True)) == ["Gaia14aaa", "Gaia16aye"]
    # the fixed row imports cleanly: nothing of it was left behind
    messages = import_csv(admin_client, CSV_HEADER + "V404Cyg,SIDEREAL,306.0,33.9,2000,,V404 Cyg\n")
    assert "Targets created: 1" in messages and not [m for m in messages if m.startswith("Error")]
    assert get_survey_name(Target.objects.get(name="V404Cyg"), "AAVSO") == "V404 Cyg"


def test_csv_import_rolls_back_a_row_that_fails_for_another_reason(admin_client):
    Target.objects.create(name="Gaia16aye", type="SIDEREAL", ra=1, dec=2)
    messages = import_csv(admin_client, CSV_HEADER + "Gaia16aye,SIDEREAL,292.1,31.2,2000,Gaia16aye,\n"
                                                     "Gaia14aaa,SIDEREAL,200.2,45.5,2000,Gaia14aaa,\n")
    assert "Targets created: 1" in messages
    assert any(m.startswith("Error on line 2:") for m in messages), messages
    assert Target.objects.count() == 2 and TargetExtra.objects.filter(value="Gaia16aye").count() == 0


def test_a_bad_brightness_choice_through_the_api_is_a_400_and_creates_nothing(admin_client):
    payload = {"name": "V404 Cyg", "type": "SIDEREAL", "ra": 306.0, "dec": 33.9, "epoch": 2000,
               "targetextra_set": [{"key": "bhtom_brightness", "value": "brightest"}]}
    response = admin_client.post("/api/targets/", payload, content_type="application/json")
    assert response.status_code == 400
    assert "'brightest' is not a brightness choice" in response.content.decode()
    assert not Target.objects.exists() and not TargetExtra.objects.exists()
    payload["targetextra_set"][0]["value"] = "total"
    assert admin_client.post("/api/targets/", payload, content_type="application/json").status_code == 201
    assert TargetExtra.objects.get(key="bhtom_brightness").value == "total"
