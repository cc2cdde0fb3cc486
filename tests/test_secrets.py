"""Credentials (CPCS, ATLAS, TNS, Lasair) never appear in logs, the update state or the command output."""
from __future__ import annotations

import io
import logging

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
