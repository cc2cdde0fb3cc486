"""Credentials (CPCS, ATLAS, TNS, Lasair) never appear in logs, the update state or the command output."""
from __future__ import annotations

import io
import logging
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from bhtom_base.models import LightcurveUpdateState
from tests.test_fault_matrix import SCENARIOS, make_target

SECRET_WORDS = ("TOKEN", "KEY", "HASHTAG")
SECRET_SCENARIOS = {folder: spec for folder, spec in SCENARIOS.items()
                    if any(word in key for key in spec.get("settings", {}) for word in SECRET_WORDS)}


def secret_settings(spec: dict) -> dict:
    """The scenario's settings with every credential replaced by a recognisable sentinel."""
    return {key: (f"SENTINEL-{key.lower()}-5f3a9" if any(word in key for word in SECRET_WORDS) else value)
            for key, value in spec["settings"].items()}


def test_the_credentialed_sources_are_covered():
    assert {spec["source"] for spec in SECRET_SCENARIOS.values()} >= {"CPCS", "ATLAS", "TNS", "LSST"}


@pytest.mark.django_db
@pytest.mark.parametrize("folder", list(SECRET_SCENARIOS))
@pytest.mark.parametrize("fault", [None, {"status": 500}, {"html": True}])
def test_secrets_stay_out_of_logs_state_and_output(folder, fault, replay, settings, caplog):
    spec = SECRET_SCENARIOS[folder]
    values = secret_settings(spec)
    for key, value in values.items():
        setattr(settings, key, value)
    settings.BHTOM_HTTP = {**settings.BHTOM_HTTP, "retries": 0}
    sentinels = [value for value in values.values() if isinstance(value, str) and value.startswith("SENTINEL")]
    assert sentinels
    target = make_target(spec)
    if fault:
        for path in spec["fault_paths"]:
            replay.inject(path=path, **fault)
    out = io.StringIO()
    caplog.set_level(logging.DEBUG)
    try:
        call_command("update_reduced_data", target.name, "--source", spec["source"], stdout=out)
    except CommandError:
        assert fault is not None
    state = LightcurveUpdateState.objects.get(target=target, source=spec["source"])
    exposed = out.getvalue() + state.last_error + caplog.text + str(state.__dict__)
    for sentinel in sentinels:
        assert sentinel not in exposed
    # and the credential really was used (the request reached the survey)
    assert replay.requests_to(spec["fault_paths"][0].rsplit("/", 1)[0] or "/")


# -- a survey that echoes the request (token included) into its error message ------------------

ECHOES = {  # what the survey answers, with {token} where it repeats the credential it was sent
    "cpcs": '{{"error": "invalid hashtag {token} for this alert"}}',
    "tns": '{{"id_code": 401, "id_message": "Unauthorized: api_key={token}"}}',
}


@pytest.mark.django_db
@pytest.mark.parametrize("folder", list(ECHOES))
def test_a_credential_echoed_by_the_survey_is_hidden_everywhere(folder, replay, settings, client,
                                                               django_user_model):
    from urllib.parse import quote

    spec = SECRET_SCENARIOS[folder]
    values = secret_settings(spec)
    for key, value in values.items():
        setattr(settings, key, value)
    token = next(value for key, value in values.items() if "TOKEN" in key or "API_KEY" in key)
    settings.BHTOM_HTTP = {**settings.BHTOM_HTTP, "retries": 0}
    settings.TOM_ALERT_CLASSES = [path for path in settings.TOM_ALERT_CLASSES
                                  if path.rsplit(".", 1)[1].upper().startswith(spec["source"])]
    target = make_target(spec)
    echo = ECHOES[folder].format(token=token)
    replay.inject(path=spec["fault_paths"][0], body=echo, content_type="application/json")
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("update_reduced_data", target.name, "--source", spec["source"], stdout=out)
    state = LightcurveUpdateState.objects.get(target=target, source=spec["source"])
    assert state.status == "failed" and "[hidden]" in state.last_error  # the message itself is kept
    client.force_login(django_user_model.objects.create_superuser("boss", "b@example.org", "pw"))
    panel = client.get(f"/bhtom/targets/{target.pk}/lightcurve/status/").content.decode()
    admin = client.get("/admin/bhtom_base/lightcurveupdatestate/").content.decode()
    for shown in (state.last_error, out.getvalue(), panel, admin):
        assert token not in shown and quote(token, safe="") not in shown


def test_scrub_hides_every_form_of_a_known_credential(settings):
    from bhtom_base.credentials import scrub_secrets

    settings.BHTOM_ATLAS_TOKEN = "tok/en+with spaces"
    text = "sent tok/en+with spaces, tok%2Fen%2Bwith%20spaces and tok%2Fen%2Bwith+spaces"
    assert scrub_secrets(text) == "sent [hidden], [hidden] and [hidden]"
    settings.BHTOM_ATLAS_TOKEN = ""
    assert scrub_secrets("nothing to hide") == "nothing to hide"


# -- Django's debug page (DEBUG=1 is the default) ------------------------------------------------

CREDENTIAL_SETTINGS = {"BHTOM_ATLAS_TOKEN", "BHTOM_TNS_API_KEY", "BHTOM_CPCS_DATA_ACCESS_TOKEN"}
LOOKS_LIKE_A_CREDENTIAL = re.compile("TOKEN|KEY|HASHTAG|SECRET|PASS|COOKIE|CREDENTIAL|AUTH", re.IGNORECASE)


def debug_page(rf) -> str:
    """Django's technical 500 page for an error in a view (its own frame holds no credential)."""
    import sys

    from django.views.debug import technical_500_response

    request = rf.get("/boom/")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        return technical_500_response(request, *sys.exc_info()).content.decode()


def test_every_credential_setting_is_hidden_on_the_debug_page(settings, rf):
    from django.views.debug import SafeExceptionReporterFilter

    from bhtom2.brokers.cpcs import TOKEN_SETTING
    from bhtom_base.credentials import credential_setting_names

    assert TOKEN_SETTING == "BHTOM_CPCS_DATA_ACCESS_TOKEN"
    from django.conf import settings as site_settings

    suspects = {name for name in dir(site_settings)
                if name.startswith("BHTOM_") and LOOKS_LIKE_A_CREDENTIAL.search(name)}
    assert CREDENTIAL_SETTINGS <= suspects
    import uuid

    values = {name: uuid.uuid4().hex for name in suspects}
    for name, value in values.items():
        setattr(settings, name, value)
    safe = SafeExceptionReporterFilter().get_safe_settings()
    for name in suspects:
        assert safe[name] == SafeExceptionReporterFilter.cleansed_substitute, name
    assert set(credential_setting_names()) >= suspects  # and scrub_secrets knows them all
    page = debug_page(rf)
    assert "BHTOM_ATLAS_TOKEN" in page  # the page lists the settings...
    for value in values.values():
        assert value not in page  # ...but never a credential's value
