"""Every broker against every fault the replay server can inject.

Each survey's fixture folder has a ``scenario.json`` saying how one real target
is updated from the recorded responses::

    {"source": "GAIA",
     "target": {"name": "Gaia14aaa", "ra": 200.25961, "dec": 45.53943, "names": {"GAIA": "Gaia14aaa"}},
     "settings": {"CPCS_TOKEN": "..."},            # optional overrides (credentials)
     "expected_points": 28,
     "fault_paths": ["/alerts/alert/Gaia14aaa/"],  # every request the update makes
     "messages": {"HTML error page (200)": "..."},   # where a survey words a fault its own way
     "url_names": ["LSST_LASAIR"]}                    # BHTOM_URLS keys it uses, when not the source's own

For each (broker, fault, request): the update ends "failed" with a clear message
in the update state and the command summary, writes nothing, the other target
(updated from a different source in the same run) completes, and a re-run after
the service recovers inserts exactly the expected points.
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from tom_dataproducts.models import PhotometryReducedDatum
from tom_targets.models import Target

from bhtom_base.models import LightcurveUpdateState
from bhtom_base.survey_names import set_survey_name

FIXTURES = Path(__file__).parent / "fixtures"
SCENARIOS = {
    path.parent.name: json.loads(path.read_text()) for path in sorted(FIXTURES.glob("*/scenario.json"))
}
BYSTANDER = SCENARIOS["gaia_alerts"]
OTHER_BYSTANDER = SCENARIOS.get("gaia_dr3_alt") or BYSTANDER

FAULTS = {
    "HTTP 500": ({"status": 500}, "HTTP 500"),
    "HTTP 502": ({"status": 502}, "HTTP 502"),
    "HTTP 503 + Retry-After": ({"status": 503, "retry_after": 1}, "HTTP 503"),
    "HTTP 429": ({"status": 429, "retry_after": 1}, "HTTP 429"),
    "read timeout": ({"delay": 1.5}, "read timeout"),
    "connection reset": ({"reset": True}, "connection"),
    "truncated body": ({"truncate": 40}, "truncated body"),
    "HTML error page (200)": ({"html": True}, "HTML page"),
    "empty body": ({"empty": True}, "empty response"),
}


def make_target(spec: dict) -> Target:
    info = spec["target"]
    target = Target.objects.create(name=info["name"], type="SIDEREAL", ra=info["ra"], dec=info["dec"])
    for source, name in info.get("names", {}).items():
        set_survey_name(target, source, name)
    return target


def run(*args) -> tuple[str, bool]:
    out = io.StringIO()
    try:
        call_command("update_reduced_data", *args, stdout=out)
    except CommandError:
        return out.getvalue(), False
    return out.getvalue(), True


def cases():
    for folder, spec in SCENARIOS.items():
        for path in spec["fault_paths"]:
            for fault_name in FAULTS:
                yield pytest.param(folder, path, fault_name, id=f"{spec['source']}-{fault_name}-{path}")


@pytest.fixture
def fast_failures(settings):
    # max_host_pause 0: a Retry-After beyond the cap still fails the request at once, but does not pause
    # the host, which here (one replay server) is every survey's, the bystander's included
    # (the pause itself: test_hostile_servers.py)
    settings.BHTOM_HTTP = {**settings.BHTOM_HTTP, "read_timeout": 0.5, "retries": 1, "max_retry_after": 0.05,
                           "max_host_pause": 0.0}


@pytest.mark.django_db
@pytest.mark.parametrize("folder, path, fault_name", list(cases()))
def test_fault_is_recorded_nothing_is_written_and_a_rerun_recovers(folder, path, fault_name, replay, settings,
                                                                     fast_failures):
    spec = SCENARIOS[folder]
    for key, value in spec.get("settings", {}).items():
        setattr(settings, key, value)
    bystander_spec = BYSTANDER if spec["source"] != BYSTANDER["source"] else OTHER_BYSTANDER
    target = make_target(spec)
    bystander = make_target(bystander_spec) if bystander_spec is not spec else None
    fault, message = FAULTS[fault_name]
    message = spec.get("messages", {}).get(fault_name, message)
    replay.inject(path=path, **fault)
    sources = ["--source", spec["source"]]
    if bystander is not None:
        sources += ["--source", bystander_spec["source"]]
    output, succeeded = run(*sources)

    assert not succeeded, output
    state = LightcurveUpdateState.objects.get(target=target, source=spec["source"])
    assert state.status == "failed"
    assert message in state.last_error, state.last_error
    assert message in output
    assert "Traceback" not in output and "Traceback" not in state.last_error
    assert PhotometryReducedDatum.objects.filter(target=target, source_name=spec["source"]).count() == 0
    if bystander is not None:
        done = LightcurveUpdateState.objects.get(target=bystander, source=bystander_spec["source"])
        assert done.status == "done" and done.new_points == bystander_spec["expected_points"]

    replay.clear_faults()
    output, succeeded = run(target.name, "--source", spec["source"], "--force")
    assert succeeded, output
    state.refresh_from_db()
    assert state.status == "done" and state.new_points == spec["expected_points"]
    stored = PhotometryReducedDatum.objects.filter(target=target, source_name=spec["source"]).count()
    assert stored == spec["expected_points"]


@pytest.mark.django_db
@pytest.mark.parametrize("folder", list(SCENARIOS))
def test_response_larger_than_the_limit_is_refused_and_recorded(folder, replay, settings, fast_failures):
    spec = SCENARIOS[folder]
    for key, value in spec.get("settings", {}).items():
        setattr(settings, key, value)
    settings.BHTOM_HTTP = {**settings.BHTOM_HTTP, "max_response_bytes": 16}
    target = make_target(spec)
    output, succeeded = run(target.name, "--source", spec["source"])
    assert not succeeded
    state = LightcurveUpdateState.objects.get(target=target, source=spec["source"])
    assert state.status == "failed" and "exceeds the limit of 16 bytes" in state.last_error
    assert PhotometryReducedDatum.objects.filter(target=target).count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("folder", list(SCENARIOS))
def test_connection_refused_is_recorded(folder, replay, settings, fast_failures, closed_port_url):
    spec = SCENARIOS[folder]
    for key, value in spec.get("settings", {}).items():
        setattr(settings, key, value)
    closed = {name: closed_port_url for name in spec.get("url_names", [spec["source"]])}
    settings.BHTOM_URLS = {**settings.BHTOM_URLS, **closed}
    target = make_target(spec)
    output, succeeded = run(target.name, "--source", spec["source"])
    assert not succeeded
    state = LightcurveUpdateState.objects.get(target=target, source=spec["source"])
    assert state.status == "failed" and "connection refused" in state.last_error
    assert "connection refused" in output


def test_every_installed_broker_has_a_scenario(settings):
    from bhtom_base.registry import broker_classes

    covered = {spec["source"] for spec in SCENARIOS.values()}
    assert set(broker_classes()) <= covered, set(broker_classes()) - covered
