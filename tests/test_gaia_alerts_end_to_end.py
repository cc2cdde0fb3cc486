"""Foundation, end to end: TOM CSV import -> update_reduced_data through the replay server -> photometry rows."""
from __future__ import annotations

import io
from datetime import UTC

import pytest
from astropy.time import Time
from django.core.management import call_command
from django.core.management.base import CommandError
from tom_dataproducts.models import PhotometryReducedDatum
from tom_targets.models import Target, TargetExtra
from tom_targets.utils import import_targets

from bhtom_base.models import LightcurveUpdateState

pytestmark = pytest.mark.django_db

TARGETS_CSV = """name,type,ra,dec,epoch,GAIA
Gaia14aaa,SIDEREAL,200.25961,45.53943,2000,Gaia14aaa
Gaia18dqq,SIDEREAL,172.84329,43.37736,2000,gaia18dqq
NoAlert,SIDEREAL,10.0,-10.0,2000,
"""


def run(*args) -> str:
    out = io.StringIO()
    call_command("update_reduced_data", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def imported():
    result = import_targets(io.StringIO(TARGETS_CSV))
    assert result["errors"] == []
    return {target.name: target for target in result["targets"]}


def test_import_stores_validated_survey_names(imported):
    assert TargetExtra.objects.get(target=imported["Gaia14aaa"], key="GAIA").value == "Gaia14aaa"
    # normalised on save: the alert name's canonical capitalisation
    assert TargetExtra.objects.get(target=imported["Gaia18dqq"], key="GAIA").value == "Gaia18dqq"


def test_import_rejects_an_invalid_survey_name():
    result = import_targets(io.StringIO("name,type,ra,dec,GAIA\nBad,SIDEREAL,1,2,1 OR 1=1\n"))
    assert len(result["errors"]) == 1 and "not a valid Gaia Alerts name" in result["errors"][0]
    assert not TargetExtra.objects.filter(key="GAIA", value__contains="OR").exists()


def test_update_fetches_exactly_the_expected_points_and_second_run_inserts_nothing(imported, replay, client,
                                                                                     django_user_model):
    output = run("--source", "GAIA")
    target = imported["Gaia14aaa"]
    rows = PhotometryReducedDatum.objects.filter(target=target, source_name="GAIA").order_by("timestamp")
    assert rows.count() == 28
    first, last = rows.first(), rows.last()
    expected_first = Time("2014-08-01T18:04:34", scale="tcb").utc.datetime.replace(tzinfo=UTC)
    assert abs((first.timestamp - expected_first).total_seconds()) < 1e-3
    assert first.brightness == 18.14
    assert first.brightness_error == pytest.approx(10 ** (0.26 * 18.14 - 6.26))
    assert first.bandpass == "G(Gaia)" and first.unit == "mag" and first.limit is None
    assert first.telescope == "Gaia"
    assert first.value == {"observer": "Gaia", "survey_time": "2014-08-01 18:04:34", "time_system": "TCB date"}
    assert first.source_location.endswith("/alerts/alert/Gaia14aaa/lightcurve.csv")
    assert set(rows.values_list("bandpass", flat=True)) == {"G(Gaia)"}
    assert last.timestamp > first.timestamp
    assert PhotometryReducedDatum.objects.filter(target=imported["Gaia18dqq"]).count() == 118

    state = LightcurveUpdateState.objects.get(target=target, source="GAIA")
    assert (state.status, state.new_points, state.total_points) == ("done", 28, 28)
    assert state.skipped_rows == 8 and state.last_point == last.timestamp
    assert state.next_due is not None and state.last_error == ""
    no_alert = LightcurveUpdateState.objects.get(target=imported["NoAlert"], source="GAIA")
    assert no_alert.status == "no_survey_name"
    assert "Gaia14aaa" in output and "28" in output

    run("--source", "GAIA")
    assert PhotometryReducedDatum.objects.filter(target=target).count() == 28
    state.refresh_from_db()
    assert (state.status, state.new_points, state.total_points) == ("done", 0, 28)

    # The points are on the TOM's own target page (photometry table).
    admin = django_user_model.objects.create_superuser("admin", "a@example.org", "pw")
    client.force_login(admin)
    page = client.get(f"/targets/{target.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "G(Gaia)" in html and "18.14" in html


def test_no_survey_name_is_found_by_cone_search_in_the_alerts_index(replay):
    target = Target.objects.create(name="somewhere", type="SIDEREAL", ra=251.49401, dec=63.50304)
    with pytest.raises(CommandError):
        run("somewhere", "--source", "GAIA")
    assert TargetExtra.objects.get(target=target, key="GAIA").value == "Gaia22cxt"
    state = LightcurveUpdateState.objects.get(target=target, source="GAIA")
    # Gaia22cxt's lightcurve is not among the recorded responses: a clear 404, nothing stored.
    assert state.status == "failed" and "HTTP 404" in state.last_error


@pytest.mark.parametrize(
    "fault, message",
    [
        ({"status": 500}, "HTTP 500 Internal Server Error (still, after 2 retries)"),
        # a Retry-After within BHTOM_HTTP_MAX_RETRY_AFTER is waited for; a longer one pauses the whole host
        # (every target of this survey): tests/test_hostile_servers.py
        ({"status": 503, "retry_after": 0}, "HTTP 503"),
        ({"html": True}, "HTML page"),
        ({"truncate": 200}, "truncated body"),
        ({"delay": 4.0}, "read timeout"),
        ({"reset": True}, "connection"),
        ({"empty": True}, "empty response"),
    ],
)
def test_a_failing_survey_is_recorded_and_never_breaks_other_targets(imported, replay, fault, message):
    replay.inject(path="/alerts/alert/Gaia14aaa/", **fault)
    with pytest.raises(CommandError, match="1 of 3 updates failed"):
        run("--source", "GAIA")
    broken = LightcurveUpdateState.objects.get(target=imported["Gaia14aaa"], source="GAIA")
    assert broken.status == "failed" and message in broken.last_error
    assert PhotometryReducedDatum.objects.filter(target=imported["Gaia14aaa"]).count() == 0
    assert PhotometryReducedDatum.objects.filter(target=imported["Gaia18dqq"]).count() == 118

    replay.clear_faults()
    run("--source", "GAIA", "--quiet")
    assert PhotometryReducedDatum.objects.filter(target=imported["Gaia14aaa"]).count() == 28
    broken.refresh_from_db()
    assert broken.status == "done" and broken.new_points == 28 and broken.consecutive_failures == 0


def test_connection_refused_is_a_recorded_error(imported, replay, settings, closed_port_url):
    settings.BHTOM_URLS = {**settings.BHTOM_URLS, "GAIA": closed_port_url}
    with pytest.raises(CommandError):
        run("Gaia14aaa", "--source", "GAIA")
    state = LightcurveUpdateState.objects.get(target=imported["Gaia14aaa"], source="GAIA")
    assert state.status == "failed" and "connection refused" in state.last_error


def test_unknown_source_and_target_are_clear_errors(imported):
    with pytest.raises(CommandError, match="Unknown source 'NOPE'"):
        run("--source", "NOPE")
    with pytest.raises(CommandError, match="No target with id or name 'missing'"):
        run("missing")
