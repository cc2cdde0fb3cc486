"""AAVSO, CPCS and ASAS-SN end to end: update_reduced_data through the replay server."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from astropy.time import Time
from django.core.management import call_command
from django.core.management.base import CommandError
from tom_dataproducts.models import PhotometryReducedDatum
from tom_targets.utils import import_targets

from bhtom2.brokers.aavso import DELIMITER
from bhtom_base.models import LightcurveUpdateState

pytestmark = pytest.mark.django_db

UUID_21QJ = "c4765b75-bfa4-4fc6-9d3a-9b3d11555506"
UUID_J0600 = "03ce0bc8-42ef-48f4-a463-ce657f0bf77a"
UUID_EMPTY = "00000000-0000-4000-8000-000000000000"
TARGETS_CSV = f"""name,type,ra,dec,epoch,AAVSO,CPCS,ASASSN
Gaia20fnr,SIDEREAL,90.26701,-18.96770,2000,GAIA20FNR,Gaia19drz,
CPCS25451,SIDEREAL,10.0,10.0,2000,,25451,
Quiet,SIDEREAL,20.0,20.0,2000,NSV 99999,1,{UUID_EMPTY}
ASASSN-21qj,SIDEREAL,123.847542,-38.989833,2000,,,{UUID_21QJ}
J060000,SIDEREAL,90.003167,-31.007722,2000,,,{UUID_J0600}
"""


def run(*args) -> str:
    out = io.StringIO()
    call_command("update_reduced_data", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def imported(settings):
    settings.BHTOM_CPCS_DATA_ACCESS_TOKEN = "test-token-0123"
    result = import_targets(io.StringIO(TARGETS_CSV))
    assert result["errors"] == []
    return {target.name: target for target in result["targets"]}


def rows(target, source):
    return PhotometryReducedDatum.objects.filter(target=target, source_name=source).order_by("timestamp")


def state(target, source):
    return LightcurveUpdateState.objects.get(target=target, source=source)


def test_aavso_end_to_end_and_incremental(imported, replay):
    run("--source", "AAVSO")
    stored = rows(imported["Gaia20fnr"], "AAVSO")
    assert stored.count() == 2
    first = stored.first()
    assert first.brightness == 13.068 and first.brightness_error == 0.011 and first.bandpass == "V(AAVSO)"
    assert first.telescope == "Facility" and first.value == {"observer": "HMB"}
    expected = Time(2459233.548478, format="jd", scale="utc").datetime
    assert abs((first.timestamp.replace(tzinfo=None) - expected).total_seconds()) < 1e-3
    request = replay.requests_to("/vsx/")[0]
    assert request.query["delimiter"] == DELIMITER and request.query["fromjd"] == "0"
    assert float(request.query["tojd"]) > Time.now().jd
    quiet = state(imported["Quiet"], "AAVSO")
    assert (quiet.status, quiet.total_points) == ("done", 0)

    replay.clear_requests()
    run("--source", "AAVSO")
    assert rows(imported["Gaia20fnr"], "AAVSO").count() == 2
    s = state(imported["Gaia20fnr"], "AAVSO")
    assert (s.status, s.new_points, s.total_points) == ("done", 0, 2)
    # The second run asks only for what follows the last stored point, less one day of overlap.
    asked = [r for r in replay.requests_to("/vsx/") if r.query["ident"] == "GAIA20FNR"][0]
    last = Time(stored.last().timestamp - timedelta(days=1)).jd
    assert float(asked.query["fromjd"]) == pytest.approx(last, abs=1e-5)


def test_cpcs_end_to_end(imported, replay):
    output = run("--source", "CPCS")
    assert "test-token-0123" not in output
    gaia = rows(imported["Gaia20fnr"], "CPCS")
    assert gaia.count() == 3
    assert gaia.filter(limit__isnull=False).count() == 2
    assert set(gaia.values_list("bandpass", flat=True)) == {"B(CPCS/APASS)", "V(CPCS/APASS)", "r(CPCS/APASS)"}
    detection = gaia.get(limit__isnull=True)
    assert detection.brightness == pytest.approx(18.653060913085938)
    assert detection.brightness_error == pytest.approx((0.08244965970516205**2 + 0.12389542907476425**2) ** 0.5)
    assert detection.telescope == "Liam Hardy pt5m"
    many = rows(imported["CPCS25451"], "CPCS")
    assert many.count() == 90 and many.filter(limit__isnull=False).count() == 28
    assert state(imported["Quiet"], "CPCS").status == "done"
    queries = [r.query for r in replay.requests_to("/followup/")]
    assert {"alert_name": "ivo://Gaia19drz"} in queries and {"alert_id": "25451"} in queries

    run("--source", "CPCS")
    s = state(imported["CPCS25451"], "CPCS")
    assert (s.status, s.new_points, s.total_points) == ("done", 0, 90)


def test_cpcs_without_token_is_not_configured_and_exit_status_0(imported, replay, settings):
    settings.BHTOM_CPCS_DATA_ACCESS_TOKEN = ""
    output = run("--source", "CPCS")  # no CommandError: exit status 0
    assert "5 updates: 5 not configured; 0 new points." in output
    assert "CPCS_DATA_ACCESS_HASHTAG is not set" in output
    for target in imported.values():
        s = state(target, "CPCS")
        assert s.status == "not_configured" and s.last_error == "CPCS_DATA_ACCESS_HASHTAG is not set"
    assert replay.requests_to("/followup/") == []
    assert not PhotometryReducedDatum.objects.filter(source_name="CPCS").exists()


def test_cpcs_sends_the_token_as_a_cookie_and_the_validated_name(imported, monkeypatch):
    from bhtom2.brokers.cpcs import CPCSBroker
    from bhtom_base.http import Fetched

    calls = []

    class Client:
        def get(self, url, **kwargs):
            calls.append((url, kwargs))
            return Fetched(url=url, status=200, content=b"{}")

    monkeypatch.setattr("bhtom_base.broker.get_client", lambda: Client())
    broker = CPCSBroker()
    broker.fetch(imported["Gaia20fnr"], "ivo://Gaia19drz", None)
    broker.fetch(imported["CPCS25451"], "25451", None)
    assert calls[0][0].endswith("/followup/get_alert_lc_data")
    assert calls[0][1] == {"params": {"alert_name": "ivo://Gaia19drz"},
                           "headers": {"Cookie": "hashtag=test-token-0123"}}
    assert calls[1][1]["params"] == {"alert_id": "25451"}


def test_asassn_end_to_end(imported, replay):
    run("--source", "ASASSN")
    qj = rows(imported["ASASSN-21qj"], "ASASSN")
    assert qj.count() == 2776 - 58
    assert qj.filter(limit__isnull=False).count() == 3
    assert set(qj.values_list("bandpass", flat=True)) == {"V(ASAS-SN)", "g(ASAS-SN)"}
    first = qj.first()
    assert first.brightness == 13.438 and first.bandpass == "V(ASAS-SN)" and first.telescope == "ASAS-SN be"
    assert first.timestamp.isoformat().startswith("2016-02-02T03:36:02.12")
    assert rows(imported["J060000"], "ASASSN").count() == 85
    s = state(imported["ASASSN-21qj"], "ASASSN")
    assert (s.status, s.new_points, s.skipped_rows) == ("done", 2718, 58)
    assert state(imported["Quiet"], "ASASSN").status == "done"
    assert state(imported["Gaia20fnr"], "ASASSN").status == "no_survey_name"

    replay.clear_requests()
    output = run("--source", "ASASSN")  # fetched once: nothing is asked again
    assert replay.requests_to("/sky-patrol/") == [] and "up to date" in output
    run("ASASSN-21qj", "--source", "ASASSN", "--force")
    s.refresh_from_db()
    assert (s.status, s.new_points, s.total_points) == ("done", 0, 2718)


FAULTS = [
    ({"status": 500}, "HTTP 500"),
    ({"html": True}, "HTML page"),
    ({"truncate": 200}, "truncated body"),
    ({"delay": 4.0}, "read timeout"),
]
CASES = {
    "AAVSO": ("/vsx/index.php", "Gaia20fnr"),
    "CPCS": ("/followup/get_alert_lc_data", "CPCS25451"),
    "ASASSN": (f"/sky-patrol/coordinate/{UUID_J0600}/", "J060000"),
}


@pytest.mark.parametrize("source", CASES)
@pytest.mark.parametrize("fault, message", FAULTS)
def test_failures_are_recorded_errors_with_no_rows(imported, replay, source, fault, message):
    path, name = CASES[source]
    replay.inject(path=path, **fault)
    with pytest.raises(CommandError, match="updates failed"):
        run(name, "--source", source)
    s = state(imported[name], source)
    assert s.status == "failed" and message in s.last_error
    assert rows(imported[name], source).count() == 0

    replay.clear_faults()
    run(name, "--source", source, "--quiet")
    s.refresh_from_db()
    assert s.status == "done" and s.new_points > 0 and rows(imported[name], source).count() == s.new_points
