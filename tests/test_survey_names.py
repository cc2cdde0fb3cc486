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
