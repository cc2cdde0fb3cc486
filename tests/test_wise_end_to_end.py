"""NEOWISE and AllWISE end to end through the replay server (IRSA Gator cone searches)."""
from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from tom_dataproducts.models import PhotometryReducedDatum
from tom_targets.models import Target

from bhtom_base.models import LightcurveUpdateState

pytestmark = pytest.mark.django_db

GATOR = "/cgi-bin/Gator/nph-query"


def run(*args) -> str:
    out = io.StringIO()
    call_command("update_reduced_data", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def targets():
    return {
        "Gaia20fnr": Target.objects.create(name="Gaia20fnr", type="SIDEREAL", ra=90.26701, dec=-18.96770),
        "ASASSN-21qj": Target.objects.create(name="ASASSN-21qj", type="SIDEREAL", ra=123.84708, dec=-38.98981),
        "origin": Target.objects.create(name="origin", type="SIDEREAL", ra=0.0, dec=0.0),
    }


def count(target, source: str, band: str | None = None) -> int:
    rows = PhotometryReducedDatum.objects.filter(target=target, source_name=source)
    return rows.filter(bandpass=band).count() if band else rows.count()


def test_neowise_points_quality_cuts_and_no_coverage(replay, targets):
    with pytest.raises(CommandError, match="1 of 3 updates failed"):
        run("--source", "NEOWISE")
    # Counted in tests/brokers/test_wise_parse.py from the raw tables.
    assert count(targets["ASASSN-21qj"], "NEOWISE", "W1(NEOWISE)") == 298
    assert count(targets["ASASSN-21qj"], "NEOWISE", "W2(NEOWISE)") == 297
    assert count(targets["origin"], "NEOWISE") == 0
    origin = LightcurveUpdateState.objects.get(target=targets["origin"], source="NEOWISE")
    assert (origin.status, origin.total_points) == ("done", 0)
    point = PhotometryReducedDatum.objects.filter(target=targets["ASASSN-21qj"], bandpass="W1(NEOWISE)",
                                                  brightness=11.334).get()
    assert (point.brightness_error, point.telescope, point.limit) == (0.020, "WISE", None)
    assert point.value["survey_time"] == 58227.64203649
    assert point.value["time_system"] == "MJD UTC (mid-point of the frame)"
    request = replay.requests_to(GATOR)[0]
    assert request.query["catalog"] == "neowiser_p1bs_psd" and request.query["radius"] == "3"
    selected = set(request.query["selcols"].split(","))
    assert {"qual_frame", "qi_fact", "saa_sep", "moon_masked", "cc_flags", "ph_qual", "w1mpro", "w2sigmpro",
            "mjd"} <= selected
    assert "constraints" not in request.query

    replay.clear_requests()
    run("ASASSN-21qj", "--source", "NEOWISE", "--force")
    run("ASASSN-21qj", "--source", "NEOWISE")
    assert count(targets["ASASSN-21qj"], "NEOWISE") == 595
    state = LightcurveUpdateState.objects.get(target=targets["ASASSN-21qj"], source="NEOWISE")
    assert (state.status, state.new_points) == ("done", 0)
    assert replay.requests_to(GATOR)[-1].query["constraints"].startswith("mjd>")


def test_neowise_answer_without_quality_columns_stores_nothing(replay, targets):
    """The demo's Gaia20fnr table (recorded without flags) held W2 points at 6.07 and 8.55 mag."""
    with pytest.raises(CommandError, match="1 of 1 updates failed"):
        run("Gaia20fnr", "--source", "NEOWISE")
    state = LightcurveUpdateState.objects.get(target=targets["Gaia20fnr"], source="NEOWISE")
    assert state.status == "failed"
    assert "lacks the quality columns ['qual_frame', 'cc_flags', 'ph_qual']" in state.last_error
    assert count(targets["Gaia20fnr"], "NEOWISE") == 0


def test_allwise_is_fetched_once(replay, targets):
    run("Gaia20fnr", "--source", "ALLWISE")
    assert count(targets["Gaia20fnr"], "ALLWISE", "W1(AllWISE)") == 34
    assert count(targets["Gaia20fnr"], "ALLWISE", "W2(AllWISE)") == 34
    request = replay.requests_to(GATOR)[0]
    assert request.query["catalog"] == "allwise_p3as_mep"
    assert {"qi_fact", "saa_sep", "moon_masked", "cc_flags", "w2sigmpro_ep"} <= set(request.query["selcols"].split(","))
    state = LightcurveUpdateState.objects.get(target=targets["Gaia20fnr"], source="ALLWISE")
    assert state.status == "done" and state.next_due is None
    replay.clear_requests()
    output = run("Gaia20fnr", "--source", "ALLWISE")
    assert "up_to_date" in output or "up to date" in output
    assert replay.requests_to(GATOR) == [] and count(targets["Gaia20fnr"], "ALLWISE") == 68


def test_allwise_position_without_recorded_data_is_a_clear_error(replay, targets):
    with pytest.raises(CommandError):
        run("origin", "--source", "ALLWISE")
    state = LightcurveUpdateState.objects.get(target=targets["origin"], source="ALLWISE")
    assert state.status == "failed" and "HTTP 404" in state.last_error


@pytest.mark.parametrize("source", ["NEOWISE", "ALLWISE"])
@pytest.mark.parametrize(
    "fault, message",
    [
        ({"status": 500}, "HTTP 500 Internal Server Error (still, after 2 retries)"),
        ({"html": True}, "HTML page"),
        ({"truncate": 3000}, "truncated body"),
        ({"delay": 4.0}, "read timeout"),
        ({"body": '[struct stat="ERROR", msg="cone search failed"]'}, "IRSA Gator error: cone search failed"),
    ],
)
def test_failures_are_recorded_errors_with_no_rows(replay, targets, source, fault, message):
    replay.inject(path=GATOR, **fault)
    with pytest.raises(CommandError, match="1 of 1 updates failed"):
        run("Gaia20fnr", "--source", source)
    state = LightcurveUpdateState.objects.get(target=targets["Gaia20fnr"], source=source)
    assert state.status == "failed" and message in state.last_error
    assert count(targets["Gaia20fnr"], source) == 0


def test_sources_without_credentials_do_not_fail_the_run(replay, targets):
    """ATLAS and TNS without credentials next to a working NEOWISE: exit status 0, summary says why."""
    output = run("ASASSN-21qj", "--source", "ATLAS", "--source", "TNS", "--source", "NEOWISE")  # no CommandError
    assert "3 updates: 1 done, 2 not configured" in output
    assert "ATLAS_TOKEN is not set" in output and "TNS_API_KEY, TNS_BOT_ID, TNS_BOT_NAME are not set" in output
    states = dict(LightcurveUpdateState.objects.filter(target=targets["ASASSN-21qj"]).values_list("source", "status"))
    assert states == {"ATLAS": "not_configured", "TNS": "not_configured", "NEOWISE": "done"}
    assert count(targets["ASASSN-21qj"], "NEOWISE") == 595
