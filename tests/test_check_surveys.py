"""``manage.py check_surveys``: per survey reachable, expected format, points, time; non-zero exit on drift."""
from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from tom_dataproducts.models import PhotometryReducedDatum
from tom_targets.models import Target

from bhtom2.data_sources import SOURCE_NAMES
from bhtom2.survey_probes import WELL_KNOWN_OBJECTS

FIXTURES = Path(__file__).parent / "fixtures"
SCENARIOS = {spec["source"]: spec for spec in
             (json.loads(path.read_text()) for path in sorted(FIXTURES.glob("*/scenario.json")))}
CREDENTIALS = {"BHTOM_ATLAS_TOKEN": "test-token", "BHTOM_CPCS_DATA_ACCESS_TOKEN": "test-token",
               "BHTOM_TNS_API_KEY": "test-api-key", "BHTOM_TNS_BOT_ID": "12345", "BHTOM_TNS_BOT_NAME": "bhtom_test"}

pytestmark = pytest.mark.django_db(transaction=False)


def check_surveys(*args: str) -> tuple[dict[str, str], bool]:
    """The command's line per source, and whether it exited 0."""
    out = io.StringIO()
    try:
        call_command("check_surveys", *args, stdout=out)
        succeeded = True
    except CommandError:
        succeeded = False
    lines = {line.split()[0]: line for line in out.getvalue().splitlines() if line.split()[0] in SOURCE_NAMES}
    return lines, succeeded


@pytest.fixture
def credentials(settings):
    for key, value in CREDENTIALS.items():
        setattr(settings, key, value)
    settings.BHTOM_ATLAS_MAX_WAIT = 1.5


def test_the_well_known_objects_are_the_recorded_ones():
    assert set(WELL_KNOWN_OBJECTS) == set(SCENARIOS) == set(SOURCE_NAMES)
    for source, spec in SCENARIOS.items():
        known = WELL_KNOWN_OBJECTS[source]
        assert (known.ra, known.dec, known.survey_names) == (spec["target"]["ra"], spec["target"]["dec"],
                                                            spec["target"]["names"]), source
        assert known.recorded_points == spec["expected_points"], source


def test_against_the_replay_server_every_survey_answers_as_recorded(replay, credentials):
    lines, succeeded = check_surveys()
    assert succeeded, "\n".join(lines.values())
    assert set(lines) == set(SOURCE_NAMES)
    for source, line in lines.items():
        expected = SCENARIOS[source]["expected_points"]
        assert re.match(rf"{source}\s+OK\s+\d+\.\d s reachable, expected format, \d+ points parsed, "
                        rf"{expected} usable \(the recording: {expected}\)", line), line
    # nothing of the check is stored
    assert Target.objects.count() == 0 and PhotometryReducedDatum.objects.count() == 0


def test_offline_every_survey_is_unreachable_and_the_exit_status_is_1(settings, credentials, closed_port_url):
    settings.BHTOM_URLS = {name: closed_port_url for name in SOURCE_NAMES}
    settings.BHTOM_HTTP = {**settings.BHTOM_HTTP, "retries": 0}
    lines, succeeded = check_surveys()
    assert not succeeded
    assert set(lines) == set(SOURCE_NAMES)
    for source, line in lines.items():
        assert re.match(rf"{source}\s+UNREACHABLE .*connection failed \(connection refused\)", line), line
    assert Target.objects.count() == 0


def test_a_changed_format_and_an_http_error_are_named(replay, credentials, settings):
    settings.BHTOM_HTTP = {**settings.BHTOM_HTTP, "retries": 0}
    replay.inject(path="/alerts/alert/Gaia14aaa/", html=True)
    replay.inject(path="/ztf/v1/objects/", status=500)
    lines, succeeded = check_surveys("--source", "GAIA", "--source", "ZTF", "--source", "AAVSO")
    assert not succeeded
    assert re.match(r"GAIA\s+DIFFERS .*answered, but not in the expected format: an HTML page", lines["GAIA"])
    assert re.match(r"ZTF\s+HTTP ERROR .*HTTP 500", lines["ZTF"]), lines["ZTF"]
    assert re.match(r"AAVSO\s+OK ", lines["AAVSO"])


def test_a_survey_without_credentials_is_not_configured_which_is_no_failure(replay, settings):
    settings.BHTOM_CPCS_DATA_ACCESS_TOKEN = ""
    lines, succeeded = check_surveys("--source", "CPCS", "--source", "GAIA")
    assert succeeded
    assert re.match(r"CPCS\s+NOT CONFIGURED .*CPCS_DATA_ACCESS_HASHTAG is not set", lines["CPCS"])
    assert replay.requests_to("/followup/") == []


def test_an_unknown_source_is_refused():
    with pytest.raises(CommandError, match="no broker for NOPE"):
        call_command("check_surveys", "--source", "nope", stdout=io.StringIO())
