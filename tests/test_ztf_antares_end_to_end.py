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
    assert set(stored.values_list("bandpass", flat=True)) == {"g(ZTF DR)", "r(ZTF DR)"}
    assert stored.filter(bandpass="g(ZTF DR)").count() == sum(row["filtercode"] == "zg" for row in expected)
    assert set(stored.values_list("reduction_version", flat=True)) == {"dr24"}
    assert first_value(stored, expected[0]) == {"observer": "ZTF DR", "point_id": expected[0]["expid"],
                                               "survey_time": float(expected[0]["mjd"]),
                                               "time_system": "MJD UTC (exposure start)"}
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


def first_value(stored, row: dict) -> dict:
    return stored.get(value__point_id=row["expid"]).value


def test_ztf_dr_release_setting_names_the_collection_and_the_rows_release_not_the_bands(white_dwarf, replay,
                                                                                      settings):
    settings.BHTOM_ZTF_DATA_RELEASE = "dr19"
    run("WD0139+5245", "--source", "ZTF_DR8")
    assert replay.requests_to(IRSA)[0].query["COLLECTION"] == "ztf_dr19"
    stored = rows_of(white_dwarf, "ZTF_DR8")
    assert set(stored.values_list("bandpass", flat=True)) == {"g(ZTF DR)", "r(ZTF DR)"}
    assert set(stored.values_list("reduction_version", flat=True)) == {"dr19"}
    assert state_of(white_dwarf, "ZTF_DR8").data_version == "dr19"

    # A new release: fetched in full (no TIME window), the same epochs revised in place, never doubled.
    settings.BHTOM_ZTF_DATA_RELEASE = "dr24"
    replay.clear_requests()
    run("WD0139+5245", "--source", "ZTF_DR8", "--force")
    assert all("TIME" not in r.query and r.query["COLLECTION"] == "ztf_dr24" for r in replay.requests_to(IRSA))
    state = state_of(white_dwarf, "ZTF_DR8")
    assert (state.new_points, state.revised_points, state.removed_points, state.total_points) == (0, 1358, 0, 1358)
    assert state.data_version == "dr24"
    assert set(stored.values_list("bandpass", flat=True)) == {"g(ZTF DR)", "r(ZTF DR)"}
    assert set(stored.values_list("reduction_version", flat=True)) == {"dr24"}


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


@pytest.fixture
def variable():
    """ZTF18abbuksn's position (ALeRCE meanra/meandec), no ZTF name yet."""
    return Target.objects.create(name="ZTF18abbuksn-star", type="SIDEREAL", ra=313.7733232785203,
                                 dec=39.09800386874637)


def test_alerce_cone_finds_the_object_then_detections_and_limits_are_stored(variable, replay):
    run("ZTF18abbuksn-star", "--source", "ZTF")
    assert TargetExtra.objects.get(target=variable, key="ZTF").value == "ZTF18abbuksn"
    (cone,) = replay.requests_to("/ztf/v1/objects")[:1]
    assert (cone.path, cone.query["radius"]) == ("/ztf/v1/objects", "2")

    detections = [d for d in json.loads(fixture_bytes("alerce/ZTF18abbuksn_detections_first8.json"))
                  if d["isdiffpos"] == 1]
    limits = json.loads(fixture_bytes("alerce/ZTF18abbuksn_non_detections_first7.json"))
    stored = rows_of(variable, "ZTF")
    assert stored.count() == len(detections) + len(limits) == 14
    assert stored.filter(limit__isnull=False, brightness__isnull=True).count() == 7
    assert sorted(stored.filter(limit__isnull=True).values_list("brightness", flat=True)) == sorted(
        d["magpsf"] for d in detections)
    assert stored.filter(bandpass="g(ZTF)").count() == 7 + 5 and stored.filter(bandpass="r(ZTF)").count() == 2
    first = stored.order_by("timestamp").first()
    assert abs((first.timestamp - utc(58286.42961810017)).total_seconds()) < 1e-3
    assert (first.brightness, first.brightness_error) == (17.579912, 0.025473464)
    state = state_of(variable, "ZTF")
    assert (state.status, state.new_points, state.skipped_rows) == ("done", 14, 1)  # one negative difference

    run("ZTF18abbuksn-star", "--source", "ZTF")
    state.refresh_from_db()
    assert (state.status, state.new_points, state.total_points) == ("done", 0, 14)


def test_alerce_limits_show_as_limits_on_the_tom_target_page(variable, replay, client, django_user_model):
    run("ZTF18abbuksn-star", "--source", "ZTF")
    client.force_login(django_user_model.objects.create_superuser("admin", "a@example.org", "pw"))
    html = " ".join(client.get(f"/targets/{variable.pk}/").content.decode().split())
    # the target page's table of latest points prefixes a limit with ">"
    shown = {text: text in html for text in ("g(ZTF)", "r(ZTF)", "<td>&gt;20.1306</td>", "<td>17.579912</td>",
                                             "<td>&gt;17.5799")}
    assert shown == {"g(ZTF)": True, "r(ZTF)": True, "<td>&gt;20.1306</td>": True, "<td>17.579912</td>": True,
                     "<td>&gt;17.5799": False}


def test_alerce_detection_and_limit_at_the_same_time_and_band_are_both_stored(variable, replay):
    """Derived answer: the recorded first non-detection moved onto the first detection's time and band."""
    TargetExtra.objects.create(target=variable, key="ZTF", value="ZTF18abbuksn")
    detection = json.loads(fixture_bytes("alerce/ZTF18abbuksn_detections_first8.json"))[0]
    limit = json.loads(fixture_bytes("alerce/ZTF18abbuksn_non_detections_first7.json"))[0]
    same = {**limit, "mjd": detection["mjd"], "fid": detection["fid"]}
    replay.inject(path="/ztf/v1/objects/ZTF18abbuksn/non_detections", body=json.dumps([same]),
                  content_type="application/json")
    run("ZTF18abbuksn-star", "--source", "ZTF")
    at_once = rows_of(variable, "ZTF").filter(timestamp=rows_of(variable, "ZTF").order_by("timestamp")
                                              .first().timestamp, bandpass="g(ZTF)")
    assert sorted((r.brightness or 0, r.limit or 0) for r in at_once) == [(0, 20.1306), (17.579912, 0)]


# -- ANTARES ------------------------------------------------------------------------------


def test_antares_locus_by_antares_id_limits_and_detection(replay):
    target = Target.objects.create(name="ZTF20aafqubg", type="SIDEREAL", ra=50.848047, dec=37.4677681)
    TargetExtra.objects.create(target=target, key="ANTARES", value="ANT2020nb5h6")
    run("ZTF20aafqubg", "--source", "ANTARES")
    recorded = list(csv.DictReader(io.StringIO(
        fixture_bytes("antares/ZTF20aafqubg_lightcurve_first33rows.csv").decode())))
    stored = rows_of(target, "ANTARES")
    assert stored.count() == len(recorded) == 33
    limits = stored.filter(brightness__isnull=True)
    assert limits.count() == sum(row["ant_mag"] == "" for row in recorded) == 32
    assert limits.filter(bandpass="R(ANTARES)").count() == 17 and limits.filter(bandpass="g(ANTARES)").count() == 15
    detection = stored.get(brightness__isnull=False)
    assert (detection.brightness, detection.brightness_error, detection.limit) == (
        17.15279769897461, 0.1963560730218887, None)
    assert abs((detection.timestamp - utc(58867.16378469998)).total_seconds()) < 1e-3
    assert detection.telescope == "ZTF" and detection.value == {"observer": "ZTF (ANTARES)"}
    assert [r.path for r in replay.requests_to("/v1/loci")] == ["/v1/loci/ANT2020nb5h6"]

    run("ZTF20aafqubg", "--source", "ANTARES")
    state = state_of(target, "ANTARES")
    assert (state.status, state.new_points, state.total_points) == ("done", 0, 33)


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
    return {"ZTF_DR8": (wd, IRSA, 1358), "ZTF": (star, "/ztf/v1/objects/ZTF18abbuksn/", 14),
            "ANTARES": (locus, "/v1/loci/ANT2020nb5h6", 33)}


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


def test_migration_gives_old_ztf_dr_rows_stable_band_names_and_merges_doubled_epochs(white_dwarf):
    """Rows stored as ``g(ZTF DR23)``/``g(ZTF DR24)`` (one epoch doubled by a --force after a release change)."""
    import importlib
    from datetime import datetime, timedelta

    from django.apps import apps

    migration = importlib.import_module("bhtom_base.migrations.0003_ztf_dr_stable_band_names")
    t0 = datetime(2020, 1, 1, tzinfo=UTC)
    rows = [("g(ZTF DR23)", t0, 18.0), ("g(ZTF DR24)", t0, 18.01), ("g(ZTF DR24)", t0 + timedelta(days=1), 18.2),
            ("r(ZTF DR23)", t0, 17.5)]
    PhotometryReducedDatum.objects.bulk_create([
        PhotometryReducedDatum(target=white_dwarf, source_name="ZTF_DR8", bandpass=band, timestamp=when,
                               brightness=mag, brightness_error=0.03) for band, when, mag in rows])
    PhotometryReducedDatum.objects.create(target=white_dwarf, source_name="ZTF", bandpass="g(ZTF DR24)",
                                          timestamp=t0, brightness=1.0)  # another source: not touched
    migration.forwards(apps, None)
    stored = rows_of(white_dwarf, "ZTF_DR8").order_by("bandpass", "timestamp")
    assert list(stored.values_list("bandpass", "timestamp", "brightness", "reduction_version")) == [
        ("g(ZTF DR)", t0, 18.01, "dr24"),  # the newest release's row of the doubled epoch is kept
        ("g(ZTF DR)", t0 + timedelta(days=1), 18.2, "dr24"),
        ("r(ZTF DR)", t0, 17.5, "dr23"),
    ]
    assert rows_of(white_dwarf, "ZTF").get().bandpass == "g(ZTF DR24)"
    migration.backwards(apps, None)
    assert set(rows_of(white_dwarf, "ZTF_DR8").values_list("bandpass", "reduction_version")) == {
        ("g(ZTF DR24)", ""), ("r(ZTF DR23)", "")}
