"""ZTF DR (IRSA), ZTF (ALeRCE) and ANTARES end to end through the replay server."""
from __future__ import annotations

import csv
import io
import json
from datetime import UTC

import pytest
from astropy.time import Time
from django.core.management import call_command
from django.core.management.base import CommandError
from tom_dataproducts.models import PhotometryReducedDatum
from tom_targets.models import Target, TargetExtra

from bhtom_base.models import LightcurveUpdateState
from tests.conftest import fixture_bytes

pytestmark = pytest.mark.django_db

IRSA = "/cgi-bin/ZTF/nph_light_curves"
OIDS = "775104100001769,775204100022187,1776110100007378,1776210100011121"


def run(*args) -> str:
    out = io.StringIO()
    call_command("update_reduced_data", *args, stdout=out)
    return out.getvalue()


def rows_of(target: Target, source: str):
    return PhotometryReducedDatum.objects.filter(target=target, source_name=source)


def state_of(target: Target, source: str) -> LightcurveUpdateState:
    return LightcurveUpdateState.objects.get(target=target, source=source)


def utc(mjd: float):
    return Time(mjd, format="mjd", scale="utc").datetime.replace(tzinfo=UTC)


# -- ZTF data release (IRSA) --------------------------------------------------------


@pytest.fixture
def white_dwarf():
    return Target.objects.create(name="WD0139+5245", type="SIDEREAL", ra=24.77652, dec=52.76029)


def good_cone_rows() -> list[dict[str, str]]:
    recorded = csv.DictReader(io.StringIO(fixture_bytes("ztf_dr/cone.csv").decode()))
    return [row for row in recorded if int(row["catflags"]) & 32768 == 0]


def test_ztf_dr_cone_finds_all_objects_stores_them_and_later_runs_use_their_ids(white_dwarf, replay):
    run("WD0139+5245", "--source", "ZTF_DR8")
    expected = good_cone_rows()
    stored = rows_of(white_dwarf, "ZTF_DR8")
    assert stored.count() == len(expected) == 1358
    assert set(stored.values_list("bandpass", flat=True)) == {"g(ZTF DR24)", "r(ZTF DR24)"}
    assert stored.filter(bandpass="g(ZTF DR24)").count() == sum(row["filtercode"] == "zg" for row in expected)
    first = stored.order_by("timestamp").first()
    assert abs((first.timestamp - utc(float(expected[0]["mjd"]))).total_seconds()) < 1e-3
    assert (first.brightness, first.brightness_error) == (float(expected[0]["mag"]), float(expected[0]["magerr"]))
    assert first.limit is None and first.telescope == "ZTF"
    assert TargetExtra.objects.get(target=white_dwarf, key="ZTF_DR8").value == OIDS
    state = state_of(white_dwarf, "ZTF_DR8")
    assert (state.status, state.new_points, state.skipped_rows) == ("done", 1358, 94)

    (cone,) = replay.requests_to(IRSA)
    assert cone.query["POS"] == "CIRCLE 24.776520 52.760290 0.00055556"  # 2 arcsec
    assert (cone.query["COLLECTION"], cone.query["FORMAT"], cone.query["BAD_CATFLAGS_MASK"]) == (
        "ztf_dr24", "csv", "32768")
    assert "TIME" not in cone.query

    replay.clear_requests()
    run("WD0139+5245", "--source", "ZTF_DR8")
    requests = replay.requests_to(IRSA)
    assert sorted(r.query["ID"] for r in requests) == sorted(OIDS.split(","))
    assert all("POS" not in r.query for r in requests)
    # incremental: from one day before the last stored point on
    last = rows_of(white_dwarf, "ZTF_DR8").order_by("-timestamp").first().timestamp
    start = float(requests[0].query["TIME"].split()[0])
    assert start == pytest.approx(Time(last).mjd - 1, abs=1e-4)
    state.refresh_from_db()
    assert (state.status, state.new_points, state.total_points) == ("done", 0, 1358)
    assert rows_of(white_dwarf, "ZTF_DR8").count() == 1358


def test_ztf_dr_release_setting_names_the_collection_and_the_filters(white_dwarf, replay, settings):
    settings.BHTOM_ZTF_DATA_RELEASE = "dr19"
    run("WD0139+5245", "--source", "ZTF_DR8")
    assert replay.requests_to(IRSA)[0].query["COLLECTION"] == "ztf_dr19"
    assert set(rows_of(white_dwarf, "ZTF_DR8").values_list("bandpass", flat=True)) == {"g(ZTF DR19)", "r(ZTF DR19)"}


def test_ztf_dr_cone_radius_is_the_cross_match_setting(white_dwarf, replay, settings):
    settings.BHTOM_CROSS_MATCH_MAX_SEPARATION = {"ZTF_DR8": 5}
    with pytest.raises(CommandError):  # no recorded answer for a 5" cone: a 404, recorded
        run("WD0139+5245", "--source", "ZTF_DR8")
    assert replay.requests_to(IRSA)[0].query["POS"] == "CIRCLE 24.776520 52.760290 0.00138889"
    assert "HTTP 404" in state_of(white_dwarf, "ZTF_DR8").last_error


def test_ztf_dr_bad_release_setting_is_not_configured(white_dwarf, replay, settings):
    settings.BHTOM_ZTF_DATA_RELEASE = "latest; rm"
    run("WD0139+5245", "--source", "ZTF_DR8")
    state = state_of(white_dwarf, "ZTF_DR8")
    assert state.status == "not_configured" and "BHTOM_ZTF_DATA_RELEASE" in state.last_error
    assert replay.requests_to(IRSA) == []


def test_ztf_dr_nothing_in_the_cone_is_no_survey_name(replay):
    target = Target.objects.create(name="empty sky", type="SIDEREAL", ra=10.0, dec=-10.0)
    header = fixture_bytes("ztf_dr/cone.csv").decode().splitlines()[0] + "\n"
    replay.inject(path=IRSA, body=header, content_type="text/csv")
    run("empty sky", "--source", "ZTF_DR8")
    state = state_of(target, "ZTF_DR8")
    assert state.status == "no_survey_name" and "no ZTF DR24 object within 2\"" in state.last_error
    assert not TargetExtra.objects.filter(target=target, key="ZTF_DR8").exists()


# -- ZTF alerts (ALeRCE) --------------------------------------------------------------

DETECTIONS = "alerce/ZTF18abbuksn_detections_first43.json"
NON_DETECTIONS = "alerce/ZTF18abbuksn_non_detections_first7.json"


@pytest.fixture
def variable():
    """ZTF18abbuksn's position (ALeRCE meanra/meandec), no ZTF name yet."""
    return Target.objects.create(name="ZTF18abbuksn-star", type="SIDEREAL", ra=313.7733232785203,
                                 dec=39.09800386874637)


def test_alerce_cone_finds_the_object_and_the_star_is_stored_as_its_corrected_magnitudes(variable, replay):
    run("ZTF18abbuksn-star", "--source", "ZTF")
    assert TargetExtra.objects.get(target=variable, key="ZTF").value == "ZTF18abbuksn"
    (cone,) = replay.requests_to("/ztf/v1/objects")[:1]
    assert (cone.path, cone.query["radius"]) == ("/ztf/v1/objects", "2")
    assert [r.path for r in replay.requests_to("/ztf/v1/objects/ZTF18abbuksn")] == [
        "/ztf/v1/objects/ZTF18abbuksn", "/ztf/v1/objects/ZTF18abbuksn/detections",
        "/ztf/v1/objects/ZTF18abbuksn/non_detections"]

    detections = json.loads(fixture_bytes(DETECTIONS))
    stored = rows_of(variable, "ZTF")
    assert stored.count() == len(detections) == 43
    assert not stored.filter(limit__isnull=False).exists()  # difference-image limits of a star: no change
    by_candid = {row.value["point_id"]: row for row in stored}
    for detection in detections:
        row = by_candid[detection["candid"]]
        error = detection["sigmapsf_corr"] if detection["sigmapsf_corr"] < 100 else detection["sigmapsf_corr_ext"]
        assert (row.brightness, row.brightness_error) == (detection["magpsf_corr"], error)
        assert row.bandpass == {1: "g(ZTF)", 2: "r(ZTF)"}[detection["fid"]]
        assert abs((row.timestamp - utc(detection["mjd"])).total_seconds() - 15) < 1e-3
        assert row.value == {"observer": "ZTF (ALeRCE)", "point_id": detection["candid"],
                             "survey_time": detection["mjd"], "time_system": "MJD UTC, exposure start"}
    g = stored.filter(bandpass="g(ZTF)").order_by("timestamp").values_list("brightness", flat=True)[:7]
    assert all(15.44 <= value <= 15.54 for value in g)  # issue #18: stored 17.58-18.55 before
    state = state_of(variable, "ZTF")
    assert (state.status, state.new_points, state.skipped_rows) == ("done", 43, 7)

    run("ZTF18abbuksn-star", "--source", "ZTF")
    state.refresh_from_db()
    assert (state.status, state.new_points, state.total_points) == ("done", 0, 43)


def test_alerce_person_says_difference_positive_differences_and_limits(variable, replay):
    TargetExtra.objects.create(target=variable, key="ZTF", value="ZTF18abbuksn")
    TargetExtra.objects.create(target=variable, key="bhtom_brightness", value="difference")
    run("ZTF18abbuksn-star", "--source", "ZTF")
    positive = [d for d in json.loads(fixture_bytes(DETECTIONS)) if d["isdiffpos"] == 1]
    limits = json.loads(fixture_bytes(NON_DETECTIONS))
    stored = rows_of(variable, "ZTF")
    assert stored.count() == len(positive) + len(limits) == 14
    assert sorted(stored.filter(limit__isnull=True).values_list("brightness", flat=True)) == sorted(
        d["magpsf"] for d in positive)
    assert sorted(stored.filter(brightness__isnull=True).values_list("limit", flat=True)) == sorted(
        d["diffmaglim"] for d in limits)
    assert state_of(variable, "ZTF").skipped_rows == 36  # negative differences


def test_alerce_limits_show_as_limits_on_the_tom_target_page(variable, replay, client, django_user_model):
    TargetExtra.objects.create(target=variable, key="bhtom_brightness", value="difference")
    run("ZTF18abbuksn-star", "--source", "ZTF")
    client.force_login(django_user_model.objects.create_superuser("admin", "a@example.org", "pw"))
    html = " ".join(client.get(f"/targets/{variable.pk}/").content.decode().split())
    # the target page's table of latest points prefixes a limit with ">" and rounds to the error's precision
    cells = ('<td class="text-end">&gt;20.131</td>', '<td class="text-end">17.580</td>',
             '<td class="text-end">0.025</td>', "&gt;17.58")
    shown = {text: text in html for text in ("g(ZTF)", "r(ZTF)", *cells)}
    assert shown == {"g(ZTF)": True, "r(ZTF)": True, cells[0]: True, cells[1]: True, cells[2]: True,
                     cells[3]: False}


def test_alerce_detection_and_limit_at_the_same_time_and_band_are_both_stored(variable, replay):
    """Derived answer: the recorded first non-detection moved onto the first detection's time and band."""
    TargetExtra.objects.create(target=variable, key="ZTF", value="ZTF18abbuksn")
    TargetExtra.objects.create(target=variable, key="bhtom_brightness", value="difference")
    detection = json.loads(fixture_bytes(DETECTIONS))[0]
    limit = json.loads(fixture_bytes(NON_DETECTIONS))[0]
    same = {**limit, "mjd": detection["mjd"], "fid": detection["fid"]}
    replay.inject(path="/ztf/v1/objects/ZTF18abbuksn/non_detections", body=json.dumps([same]),
                  content_type="application/json")
    run("ZTF18abbuksn-star", "--source", "ZTF")
    at_once = rows_of(variable, "ZTF").filter(timestamp=rows_of(variable, "ZTF").order_by("timestamp")
                                              .first().timestamp, bandpass="g(ZTF)")
    assert sorted((r.brightness or 0, r.limit or 0) for r in at_once) == [(0, 20.1306), (17.579912, 0)]


# -- ANTARES ------------------------------------------------------------------------------


@pytest.fixture
def dimmer():
    target = Target.objects.create(name="ZTF20aafqubg", type="SIDEREAL", ra=50.848047, dec=37.4677681)
    TargetExtra.objects.create(target=target, key="ANTARES", value="ANT2020nb5h6")
    return target


def recorded_antares_rows() -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(
        fixture_bytes("antares/ZTF20aafqubg_lightcurve_first62rows.csv").decode())))


def test_antares_star_locus_is_stored_as_its_corrected_magnitude(dimmer, replay):
    run("ZTF20aafqubg", "--source", "ANTARES")
    detections = [row for row in recorded_antares_rows() if row["ant_mag"] != ""]
    stored = rows_of(dimmer, "ANTARES")
    assert stored.count() == len(detections) == 7 and not stored.filter(limit__isnull=False).exists()
    by_alert = {row.value["point_id"]: row for row in stored}
    for recorded in detections:
        row = by_alert[recorded["alert_id"]]
        assert (row.brightness, row.brightness_error) == (
            float(recorded["ant_mag_corrected"]), float(recorded["ant_magerr_corrected"]))
        assert row.bandpass == f"{recorded['ant_passband']}(ANTARES)" and row.telescope == "ZTF"
        assert abs((row.timestamp - utc(float(recorded["ant_mjd"]))).total_seconds() - 15) < 1e-3
        assert row.value == {"observer": "ZTF (ANTARES)", "point_id": recorded["alert_id"],
                             "survey_time": float(recorded["ant_mjd"]), "time_system": "MJD UTC, exposure start"}
    first = stored.order_by("timestamp").first()
    assert round(first.brightness, 2) == 15.54  # issue #18: ant_mag 17.15 was stored
    assert [r.path for r in replay.requests_to("/v1/loci")] == ["/v1/loci/ANT2020nb5h6"]
    state = state_of(dimmer, "ANTARES")
    assert (state.status, state.new_points, state.skipped_rows) == ("done", 7, 55)

    run("ZTF20aafqubg", "--source", "ANTARES")
    state.refresh_from_db()
    assert (state.status, state.new_points, state.total_points) == ("done", 0, 7)


def test_antares_person_says_difference_limits_are_stored_as_limits(dimmer, replay):
    TargetExtra.objects.create(target=dimmer, key="bhtom_brightness", value="difference")
    run("ZTF20aafqubg", "--source", "ANTARES")
    limits = [row for row in recorded_antares_rows() if row["ant_mag"] == ""]
    stored = rows_of(dimmer, "ANTARES")
    assert stored.count() == stored.filter(brightness__isnull=True).count() == len(limits) == 55
    assert stored.filter(bandpass="R(ANTARES)").count() == 28 and stored.filter(bandpass="g(ANTARES)").count() == 27
    assert sorted(stored.values_list("limit", flat=True)) == sorted(float(row["ant_maglim"]) for row in limits)
    assert state_of(dimmer, "ANTARES").skipped_rows == 7  # the negative differences


def test_antares_ztf_id_is_looked_up_in_the_locus_listing(replay):
    target = Target.objects.create(name="ZTF18aagrczj", type="SIDEREAL", ra=230.7127, dec=41.0518)
    TargetExtra.objects.create(target=target, key="ZTF", value="ZTF18aagrczj")
    with pytest.raises(CommandError):
        run("ZTF18aagrczj", "--source", "ANTARES")
    # found through the target's ZTF name and stored as its ANTARES name
    assert TargetExtra.objects.get(target=target, key="ANTARES").value == "ZTF18aagrczj"
    listing, detail = replay.requests_to("/v1/loci")
    assert listing.query["elasticsearch_query[locus_listing]"] == (
        '{"query": {"bool": {"filter": {"term": {"properties.ztf_object_id": "ZTF18aagrczj"}}}}}')
    assert listing.query["sort"] == "-properties.newest_alert_observation_time"
    assert detail.path == "/v1/loci/ANT2020g7nq"
    # no recorded detail for ANT2020g7nq: the replay's 404 ends as a recorded error
    state = state_of(target, "ANTARES")
    assert state.status == "failed" and "HTTP 404" in state.last_error


def test_antares_without_any_name_is_no_survey_name(replay):
    target = Target.objects.create(name="nameless", type="SIDEREAL", ra=1.0, dec=2.0)
    run("nameless", "--source", "ANTARES")
    assert state_of(target, "ANTARES").status == "no_survey_name"
    assert replay.requests_to("/v1/loci") == []


# -- failures: every broker ends with a recorded error and no rows --------------------------


@pytest.fixture
def named_targets():
    wd = Target.objects.create(name="WD0139+5245", type="SIDEREAL", ra=24.77652, dec=52.76029)
    TargetExtra.objects.create(target=wd, key="ZTF_DR8", value=OIDS)
    star = Target.objects.create(name="ZTF18abbuksn-star", type="SIDEREAL", ra=313.7733232785203,
                                 dec=39.09800386874637)
    TargetExtra.objects.create(target=star, key="ZTF", value="ZTF18abbuksn")
    locus = Target.objects.create(name="ZTF20aafqubg", type="SIDEREAL", ra=50.848047, dec=37.4677681)
    TargetExtra.objects.create(target=locus, key="ANTARES", value="ANT2020nb5h6")
    return {"ZTF_DR8": (wd, IRSA, 1358), "ZTF": (star, "/ztf/v1/objects/ZTF18abbuksn", 43),
            "ANTARES": (locus, "/v1/loci/ANT2020nb5h6", 7)}


@pytest.mark.parametrize("source", ["ZTF_DR8", "ZTF", "ANTARES"])
@pytest.mark.parametrize(
    "fault, message",
    [
        ({"status": 500}, "HTTP 500 Internal Server Error (still, after 2 retries)"),
        ({"delay": 4.0}, "read timeout"),
        ({"html": True}, "HTML page"),
        ({"truncate": 100}, "truncated body"),
    ],
)
def test_failures_end_as_recorded_errors_with_no_rows(named_targets, replay, source, fault, message):
    target, path, count = named_targets[source]
    replay.inject(path=path, **fault)
    with pytest.raises(CommandError, match="1 of 1 updates failed"):
        run(target.name, "--source", source)
    state = state_of(target, source)
    assert state.status == "failed" and message in state.last_error
    assert rows_of(target, source).count() == 0

    replay.clear_faults()
    run(target.name, "--source", source, "--quiet")
    state.refresh_from_db()
    assert state.status == "done" and state.new_points == count == rows_of(target, source).count()
