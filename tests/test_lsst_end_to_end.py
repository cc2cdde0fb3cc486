"""Rubin/LSST end to end through the replay server, for each of the three services.

Lasair answers with the real recorded object 169342391615488714 (a supernova); Fink and
ALeRCE with answers built from their documented schema (tests/fixtures/lsst_*/PROVENANCE.md).
"""
from __future__ import annotations

import io
import json
import math
import threading

import pandas as pd
import pytest
from astropy.time import Time
from django.core.management import call_command
from django.core.management.base import CommandError
from tom_dataproducts.models import PhotometryReducedDatum
from tom_targets.models import Target

from bhtom2.brokers.lsst import LSSTBroker
from bhtom_base.brightness import BRIGHTNESS_KEY
from bhtom_base.models import LightcurveUpdateState
from bhtom_base.survey_names import get_survey_name, set_survey_name
from bhtom_base.update import update_lightcurve

LASAIR_ID = "169342391615488714"
TOKEN = "test-lasair-token-0123"
SN, STAR = "313000000000000001", "313000000000000002"


def run(*args) -> str:
    out = io.StringIO()
    call_command("update_reduced_data", *args, stdout=out)
    return out.getvalue()


def make_target(name: str, ra: float, dec: float, lsst: str | None = None) -> Target:
    target = Target.objects.create(name=name, type="SIDEREAL", ra=ra, dec=dec)
    if lsst:
        set_survey_name(target, "LSST", lsst)
    return target


def rows(target: Target):
    return PhotometryReducedDatum.objects.filter(target=target, source_name="LSST").order_by("timestamp")


def mag(flux: float) -> float:
    return 31.4 - 2.5 * math.log10(flux)


def utc(mjd_tai: float) -> pd.Timestamp:
    return pd.Timestamp(Time(mjd_tai, format="mjd", scale="tai").utc.datetime64, tz="UTC")


@pytest.fixture
def lasair(replay, settings):
    settings.BHTOM_LSST_SERVICE = "lasair"
    settings.BHTOM_LASAIR_TOKEN = TOKEN
    return replay


@pytest.fixture
def fink_service(replay, settings):
    settings.BHTOM_LSST_SERVICE = "fink"
    settings.BHTOM_LSST_BATCH_WINDOW = 0.0
    return replay


# -- Lasair: the recorded supernova -----------------------------------------------------


@pytest.mark.django_db
def test_update_ingests_the_recorded_lasair_supernova_and_a_second_run_adds_nothing(lasair):
    target = make_target("LSST SN", 9.05448, -43.42166, LASAIR_ID)
    output = run("--source", "LSST")
    assert "LSST" in output
    stored = list(rows(target))
    assert len(stored) == 1  # the negative difference of 2025-09-19 is not stored
    point = stored[0]
    assert point.bandpass == "g(Rubin/LSST)"
    assert point.brightness == pytest.approx(mag(848.316162109375), abs=1e-9)
    assert point.brightness == pytest.approx(24.079, abs=1e-3)
    assert abs(pd.Timestamp(point.timestamp) - utc(60934.119182507566)) < pd.Timedelta(microseconds=1)
    value = point.value if isinstance(point.value, dict) else json.loads(point.value)
    assert value["point_id"] == LASAIR_ID
    assert value["survey_time"] == 60934.119182507566
    assert value["time_system"].startswith("MJD TAI")
    assert point.telescope == "Rubin Observatory"
    request = lasair.requests_to("/api/object/")[0]
    assert request.query == {"objectId": LASAIR_ID, "lasair_added": "true"}
    assert request.headers.get("Authorization") == f"Token {TOKEN}"

    run("--source", "LSST")
    state = LightcurveUpdateState.objects.get(target=target, source="LSST")
    assert state.status == "done" and state.new_points == 0 and state.total_points == 1
    assert rows(target).count() == 1


@pytest.mark.django_db
def test_a_person_can_say_the_object_is_in_the_template(lasair):
    target = make_target("LSST SN as star", 9.05448, -43.42166, LASAIR_ID)
    set_survey_name(target, BRIGHTNESS_KEY, "total")
    run("--source", "LSST")
    assert [p.brightness for p in rows(target)] == pytest.approx([mag(14900.4599609375), mag(10540.5888671875)],
                                                                 abs=1e-9)


@pytest.mark.django_db
def test_lasair_without_a_token_is_not_configured_and_asks_nothing(replay, settings):
    settings.BHTOM_LSST_SERVICE = "lasair"
    settings.BHTOM_LASAIR_TOKEN = ""
    target = make_target("LSST no token", 9.05448, -43.42166, LASAIR_ID)
    output = run("--source", "LSST")  # exit status 0: not a failure
    state = LightcurveUpdateState.objects.get(target=target, source="LSST")
    assert state.status == "not_configured" and "LASAIR_TOKEN is not set" in state.last_error
    assert "LASAIR_TOKEN" in output and TOKEN not in output
    assert replay.requests_to("/api/") == []


@pytest.mark.django_db
def test_lasair_cone_search_finds_and_stores_the_dia_object_id(lasair):
    target = make_target("LSST by position", 9.05448, -43.42166)
    run("--source", "LSST")
    assert get_survey_name(target, "LSST") == LASAIR_ID
    assert rows(target).count() == 1
    cone = lasair.requests_to("/api/cone/")[0]
    assert cone.query["radius"] == "1" and cone.query["requestType"] == "nearest"


@pytest.mark.django_db
def test_an_object_lasair_does_not_know_is_not_in_this_survey(lasair):
    target = make_target("LSST unknown", 9.05448, -43.42166, "169342391615488715")
    run("--source", "LSST")
    state = LightcurveUpdateState.objects.get(target=target, source="LSST")
    assert state.status == "no_survey_name" and "has no diaObject 169342391615488715" in state.last_error


@pytest.mark.django_db
def test_an_unknown_service_is_not_configured(replay, settings):
    settings.BHTOM_LSST_SERVICE = "antares"
    target = make_target("LSST bad setting", 1.0, 2.0, SN)
    run("--source", "LSST")
    state = LightcurveUpdateState.objects.get(target=target, source="LSST")
    assert state.status == "not_configured" and "fink, alerce, lasair" in state.last_error


# -- Fink: the default ------------------------------------------------------------------


@pytest.mark.django_db
def test_fink_transient_and_star(fink_service):
    supernova = make_target("Fink SN", 150.12346, -30.76543, SN)
    star = make_target("Fink star", 150.1236, -30.7654321, STAR)
    run("--source", "LSST")
    sn_rows = list(rows(supernova))
    assert [(p.bandpass, p.limit is not None) for p in sn_rows] == [
        ("g(Rubin/LSST)", True), ("r(Rubin/LSST)", True), ("g(Rubin/LSST)", False), ("g(Rubin/LSST)", False),
        ("r(Rubin/LSST)", False)]
    assert [p.brightness for p in sn_rows if p.brightness is not None] == pytest.approx(
        [mag(700.0), mag(1520.5), mag(2210.0)], abs=1e-9)
    # the star takes its total flux (scienceFlux), never its difference flux
    assert [p.brightness for p in rows(star)] == pytest.approx([mag(45500.0), mag(41000.0), mag(63500.0)],
                                                               abs=1e-9)
    request = fink_service.requests_to("/api/v1/sources")[0]
    assert request.query["output-format"] == "json" and "r:scienceFlux" in request.query["columns"]


@pytest.mark.django_db
def test_an_object_fink_has_no_alerts_of_is_not_in_this_survey(fink_service):
    target = make_target("Fink unknown", 150.0, -30.0, "313000000000000999")
    run("--source", "LSST")  # exit status 0
    state = LightcurveUpdateState.objects.get(target=target, source="LSST")
    assert state.status == "no_survey_name" and "no alerts of diaObject 313000000000000999" in state.last_error


@pytest.mark.django_db
def test_fink_cone_search(fink_service):
    target = make_target("Fink by position", 150.1234567, -30.7654321)
    run("--source", "LSST")
    assert get_survey_name(target, "LSST") == SN
    assert rows(target).count() == 5


@pytest.mark.django_db(transaction=True)
def test_simultaneous_fink_updates_share_one_request(replay, settings):
    settings.BHTOM_LSST_SERVICE = "fink"
    settings.BHTOM_LSST_BATCH_WINDOW = 0.5
    supernova = make_target("Batch SN", 150.12346, -30.76543, SN)
    star = make_target("Batch star", 150.1236, -30.7654321, STAR)
    reports = {}

    def update(target):
        reports[target.name] = update_lightcurve(LSSTBroker(), target)

    threads = [threading.Thread(target=update, args=(t,)) for t in (supernova, star)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sent = replay.requests_to("/api/v1/sources")
    assert len(sent) == 1 and sorted(sent[0].query["diaObjectId"].split(",")) == [SN, STAR]
    assert len(replay.requests_to("/api/v1/fp")) == 1
    assert reports["Batch SN"].new_points == 5 and reports["Batch star"].new_points == 3


@pytest.mark.django_db(transaction=True)
def test_a_failed_shared_request_fails_every_update_of_the_batch_and_writes_nothing(replay, settings):
    settings.BHTOM_LSST_SERVICE = "fink"
    settings.BHTOM_LSST_BATCH_WINDOW = 0.5
    settings.BHTOM_HTTP = {**settings.BHTOM_HTTP, "retries": 0}
    replay.inject(path="/api/v1/fp", status=500)
    targets = [make_target("Fail SN", 150.12346, -30.76543, SN), make_target("Fail star", 150.1236, -30.7, STAR)]
    threads = [threading.Thread(target=update_lightcurve, args=(LSSTBroker(), t)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for target in targets:
        state = LightcurveUpdateState.objects.get(target=target, source="LSST")
        assert state.status == "failed" and "HTTP 500" in state.last_error
        assert rows(target).count() == 0


# -- ALeRCE -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_alerce_lightcurve_and_classification(replay, settings):
    settings.BHTOM_LSST_SERVICE = "alerce"
    target = make_target("ALeRCE object", 55.81701, -32.4092, "7912941781254157")
    run("--source", "LSST")
    assert [p.brightness for p in rows(target)] == pytest.approx([mag(939.40765), mag(2425.8623)], abs=1e-9)
    assert len(replay.requests_to("/probability_api/probability")) == 1


@pytest.mark.django_db
def test_alerce_with_a_persons_choice_skips_the_classification(replay, settings):
    settings.BHTOM_LSST_SERVICE = "alerce"
    target = make_target("ALeRCE chosen", 55.81701, -32.4092, "7912941781254157")
    set_survey_name(target, BRIGHTNESS_KEY, "difference")
    run("--source", "LSST")
    assert rows(target).count() == 2
    assert replay.requests_to("/probability_api/probability") == []


@pytest.mark.django_db
def test_alerce_cone_search(replay, settings):
    settings.BHTOM_LSST_SERVICE = "alerce"
    target = make_target("ALeRCE by position", 55.81701, -32.4092)
    run("--source", "LSST")
    assert get_survey_name(target, "LSST") == "7912941781254157"


@pytest.mark.django_db
def test_a_stored_invalid_dia_object_id_fails_before_any_request(replay):
    target = Target.objects.create(name="LSST bad id", type="SIDEREAL", ra=1.0, dec=2.0)
    from tom_targets.models import TargetExtra

    TargetExtra.objects.filter(target=target, key="LSST").delete()
    TargetExtra.objects.bulk_create([TargetExtra(target=target, key="LSST", value="1 OR 1=1")])
    with pytest.raises(CommandError):
        run("--source", "LSST")
    state = LightcurveUpdateState.objects.get(target=target, source="LSST")
    assert state.status == "failed" and "diaObjectId is invalid" in state.last_error
    assert replay.requests_to("/api/") == []
