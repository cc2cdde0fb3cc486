"""TNS end to end through the replay server: cone search -> object -> photometry rows and survey names.

The 2021abc answers are CONSTRUCTED from TNS's documented field names (see
tests/fixtures/tns/PROVENANCE.md); 1999gy is a real recorded answer.
"""
from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from tom_dataproducts.models import PhotometryReducedDatum
from tom_targets.models import Target

from bhtom2.brokers.tns import MISSING_ERROR, TNSBroker
from bhtom_base.http import Fetched
from bhtom_base.models import LightcurveUpdateState
from bhtom_base.survey_names import get_survey_name, set_survey_name
from tests.conftest import fixture_bytes
from tests.replay_handlers import tns as server

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command("update_reduced_data", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def tns(replay, settings):
    settings.BHTOM_TNS_API_KEY = "test-api-key"
    settings.BHTOM_TNS_BOT_ID = "12345"
    settings.BHTOM_TNS_BOT_NAME = "bhtom_test_bot"
    server.RECEIVED.clear()
    return replay


@pytest.fixture
def target():
    target = Target.objects.create(name="transient", type="SIDEREAL", ra=150.1, dec=2.2)
    set_survey_name(target, "GAIA", "Gaia21xyz")  # already known: TNS must not replace it
    return target


def expected_points() -> tuple[int, int]:
    """Detections (with or without an error) and limits among the magnitude entries of the answer, counted here."""
    entries = json.loads(fixture_bytes("tns/CONSTRUCTED_tns_get_object_2021abc.json"))["data"]["reply"]["photometry"]
    mags = [e for e in entries if e["flux_unit"]["name"].endswith("Mag")]
    detections = [e for e in mags if e["flux"] is not None]
    limits = [e for e in mags if e["flux"] is None and e["limflux"] is not None]
    return len(detections), len(limits)


def test_cone_search_object_photometry_and_internal_names(tns, target):
    run("transient", "--source", "TNS")
    detections, limits = expected_points()
    stored = PhotometryReducedDatum.objects.filter(target=target, source_name="TNS")
    assert stored.count() == detections + limits == 5
    assert stored.filter(limit__isnull=False).count() == limits == 1
    assert set(stored.values_list("bandpass", flat=True)) == {"g(TNS)", "r(TNS)", "orange(TNS)", "G(TNS)"}
    # the VegaMag G report without an error is kept with the documented stand-in error, not dropped
    assert stored.get(bandpass="G(TNS)").brightness_error == MISSING_ERROR == 0.3
    limit = stored.get(limit__isnull=False)
    assert (limit.limit, limit.telescope) == (19.1, "ATLAS1")
    assert get_survey_name(target, "TNS") == "2021abc"
    # internal names became survey names, except the one the target already had
    assert get_survey_name(target, "ZTF") == "ZTF21aaaaaaa"
    assert get_survey_name(target, "ATLAS") == "ATLAS21bbb"
    assert get_survey_name(target, "GAIA") == "Gaia21xyz"
    assert server.RECEIVED[0] == {"ra": "150.100000", "dec": "2.200000", "radius": "3", "units": "arcsec"}
    assert server.RECEIVED[1] == {"objname": "2021abc", "photometry": "1", "spectra": "0"}
    state = LightcurveUpdateState.objects.get(target=target, source="TNS")
    assert (state.status, state.new_points, state.skipped_rows) == ("done", 5, 1)  # the mJy entry

    run("transient", "--source", "TNS")
    assert stored.count() == 5
    state.refresh_from_db()
    assert (state.status, state.new_points) == ("done", 0)


def test_real_answer_without_an_error_keeps_its_one_point(tns):
    """AT 1999gy's only report (r 17.88 ABMag, Sloan, no error) is stored with the stand-in error."""
    old = Target.objects.create(name="SN1999gy", type="SIDEREAL", ra=244.991894, dec=-1.174748)
    set_survey_name(old, "TNS", "AT 1999gy")
    run("SN1999gy", "--source", "TNS")
    state = LightcurveUpdateState.objects.get(target=old, source="TNS")
    assert (state.status, state.total_points, state.skipped_rows) == ("done", 1, 0)
    (point,) = PhotometryReducedDatum.objects.filter(target=old, source_name="TNS")
    assert (point.brightness, point.brightness_error) == (17.88, 0.3)
    assert (point.bandpass, point.telescope) == ("r(TNS)", "Sloan")
    assert point.timestamp.isoformat() == "1999-03-21T11:27:29+00:00"
    assert point.value["survey_time"] == "1999-03-21 11:27:29" and point.value["time_system"] == "UTC date"
    assert server.RECEIVED[0]["objname"] == "1999gy"


def test_unknown_position_is_not_in_tns(tns):
    Target.objects.create(name="empty sky", type="SIDEREAL", ra=10.0, dec=-10.0)
    run("empty sky", "--source", "TNS")
    state = LightcurveUpdateState.objects.get(target__name="empty sky", source="TNS")
    assert state.status == "no_survey_name"


def test_unknown_object_name_is_a_recorded_error(tns):
    ghost = Target.objects.create(name="ghost", type="SIDEREAL", ra=1.0, dec=1.0)
    set_survey_name(ghost, "TNS", "2099zzz")
    with pytest.raises(CommandError):
        run("ghost", "--source", "TNS")
    state = LightcurveUpdateState.objects.get(target=ghost, source="TNS")
    assert state.status == "failed" and "No results found" in state.last_error


@pytest.mark.parametrize("missing", ["BHTOM_TNS_API_KEY", "BHTOM_TNS_BOT_ID", "BHTOM_TNS_BOT_NAME"])
def test_missing_credentials_are_not_configured_with_exit_status_zero(tns, target, settings, missing):
    setattr(settings, missing, "")
    output = run("transient", "--source", "TNS")
    assert "not configured" in output
    state = LightcurveUpdateState.objects.get(target=target, source="TNS")
    env_name = missing.removeprefix("BHTOM_")
    assert state.status == "not_configured" and state.last_error == f"{env_name} is not set"
    assert tns.requests_to("/api/") == []


def test_bot_user_agent_and_form_fields(settings, monkeypatch):
    settings.BHTOM_TNS_API_KEY, settings.BHTOM_TNS_BOT_ID, settings.BHTOM_TNS_BOT_NAME = "k", "12345", "my bot"
    sent = {}

    class FakeHttp:
        def post(self, url, **kwargs):
            sent.update(url=url, **kwargs)
            return Fetched(url=url, status=200, content=b"{}")

    monkeypatch.setattr(TNSBroker, "http", FakeHttp())
    TNSBroker().fetch(None, "2021abc", None)
    assert sent["headers"] == {"User-Agent": 'tns_marker{"tns_id":12345,"type":"bot","name":"my bot"}'}
    assert sent["data"]["api_key"] == "k" and json.loads(sent["data"]["data"])["objname"] == "2021abc"
    assert sent["url"].endswith("/api/get/object")


def test_bot_name_that_could_break_the_header_is_refused(settings):
    settings.BHTOM_TNS_API_KEY, settings.BHTOM_TNS_BOT_ID = "k", "12345"
    settings.BHTOM_TNS_BOT_NAME = 'bot"\r\nX-Evil: 1'
    assert "TNS_BOT_NAME" in TNSBroker().configuration_problem()


@pytest.mark.parametrize(
    "fault, message",
    [
        ({"status": 500}, "HTTP 500"),
        ({"html": True}, "HTML page"),
        ({"truncate": 100}, "truncated body"),
        ({"delay": 4.0}, "read timeout"),
        ({"status": 429, "retry_after": 1}, "HTTP 429"),
    ],
)
def test_failures_are_recorded_errors_with_no_rows(tns, target, fault, message):
    set_survey_name(target, "TNS", "2021abc")
    tns.inject(path="/api/get/object", **fault)
    with pytest.raises(CommandError, match="1 of 1 updates failed"):
        run("transient", "--source", "TNS")
    state = LightcurveUpdateState.objects.get(target=target, source="TNS")
    assert state.status == "failed" and message in state.last_error
    assert PhotometryReducedDatum.objects.filter(target=target).count() == 0
    assert get_survey_name(target, "ZTF") is None  # nothing learnt from a failed answer
