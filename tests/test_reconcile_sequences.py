"""A survey's answer is the truth for its points: real files in sequence through the replay server.

For each kind of source the survey answers, in turn:

* v1 — the real recorded response;
* v2 — the same with one value revised, one point retracted and one late point added;
* v3 — cut short (a truncated file that still parses).

After each step the stored rows are exactly the expected ones (read from the
answer with ``csv`` alone, not with the broker's parser): revised in place,
retracted ones gone, nothing duplicated, and nothing lost to the cut answer
(a large cut is *held* until a person accepts it; a cut in the middle of a
row removes nothing). Runs on SQLite and on PostgreSQL (``DATABASE_URL``).
"""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import numpy as np
import pytest
from astropy.table import vstack
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from tom_dataproducts.models import PhotometryReducedDatum
from tom_targets.models import Target

from bhtom_base.models import LightcurveUpdateState
from bhtom_base.replay import Route
from bhtom_base.survey_names import set_survey_name
from tests.conftest import FIXTURES as FIXTURES_DIR
from tests.conftest import fixture_bytes
from tests.replay_handlers import ztf_versions

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command("update_reduced_data", *args, stdout=out)
    return out.getvalue()


def state_of(target: Target, source: str) -> LightcurveUpdateState:
    return LightcurveUpdateState.objects.get(target=target, source=source)


def counts(state: LightcurveUpdateState) -> tuple[int, int, int, int]:
    return state.new_points, state.revised_points, state.removed_points, state.total_points


# -- a full-file source: Gaia Alerts ------------------------------------------------------------

GAIA_PATH = "/alerts/alert/Gaia18dqq/"


@pytest.fixture
def gaia18dqq():
    target = Target.objects.create(name="Gaia18dqq", type="SIDEREAL", ra=172.84329, dec=43.37736)
    set_survey_name(target, "GAIA", "Gaia18dqq")
    return target


def gaia_lines() -> list[str]:
    return fixture_bytes("gaia_alerts/Gaia18dqq.csv").decode().splitlines()


def gaia_mags(text: str) -> list[float]:
    """The magnitudes of an alerts lightcurve file, read with csv alone (null/untrusted/NaN are not points)."""
    mags = []
    for row in csv.reader(io.StringIO(text)):
        if len(row) < 3 or row[0].startswith("#"):
            continue
        try:
            mag = float(row[2])
        except ValueError:
            continue
        if mag == mag:
            mags.append(mag)
    return sorted(mags)


def stored_gaia(target) -> list[float]:
    return sorted(PhotometryReducedDatum.objects.filter(target=target, source_name="GAIA")
                  .values_list("brightness", flat=True))


def serve_gaia(replay, text: str) -> None:
    replay.clear_faults()
    replay.inject(path=GAIA_PATH, body=text, content_type="text/csv")


def test_gaia_alerts_full_file_in_sequence(gaia18dqq, replay):
    v1 = "\n".join(gaia_lines()) + "\n"
    serve_gaia(replay, v1)
    run("Gaia18dqq", "--source", "GAIA")
    assert stored_gaia(gaia18dqq) == gaia_mags(v1)
    assert counts(state_of(gaia18dqq, "GAIA")) == (len(gaia_mags(v1)), 0, 0, len(gaia_mags(v1)))
    ids_before = dict(PhotometryReducedDatum.objects.filter(target=gaia18dqq).values_list("timestamp", "id"))

    # v2: the survey re-reduces one point, retracts another, and adds one it reported late.
    lines = gaia_lines()
    data = [i for i, line in enumerate(lines) if line[:1].isdigit() and gaia_mags(line)]
    revised, retracted = data[3], data[10]
    date, jd, mag = lines[revised].split(",")
    lines[revised] = f"{date},{jd},{float(mag) + 0.21:.2f}"
    del lines[retracted]
    lines.insert(data[20], "2016-06-01 12:00:00,2457541.000,16.66")
    v2 = "\n".join(lines) + "\n"
    serve_gaia(replay, v2)
    run("Gaia18dqq", "--source", "GAIA")
    assert stored_gaia(gaia18dqq) == gaia_mags(v2)
    assert counts(state_of(gaia18dqq, "GAIA")) == (1, 1, 1, len(gaia_mags(v1)))
    ids_after = dict(PhotometryReducedDatum.objects.filter(target=gaia18dqq).values_list("timestamp", "id"))
    kept = set(ids_before) & set(ids_after)
    assert len(kept) == len(ids_before) - 1 and all(ids_before[t] == ids_after[t] for t in kept)  # in place

    # v3: a file cut short that still parses (the survey served half a lightcurve): held, nothing changes.
    v3 = "\n".join(lines[: len(lines) // 2]) + "\n"
    serve_gaia(replay, v3)
    with pytest.raises(CommandError, match="1 of 1 updates held"):
        run("Gaia18dqq", "--source", "GAIA")
    assert stored_gaia(gaia18dqq) == gaia_mags(v2)
    state = state_of(gaia18dqq, "GAIA")
    removals = len(gaia_mags(v2)) - len(gaia_mags(v3))
    assert state.status == "held" and state.held_removals == removals
    assert f"would remove {removals} of {len(gaia_mags(v2))} stored points" in state.last_error
    # The survey is fine again: the next answer is applied and the pair is done.
    serve_gaia(replay, v2)
    run("Gaia18dqq", "--source", "GAIA")
    state.refresh_from_db()
    assert (state.status, state.held_removals) == ("done", 0)
    assert counts(state) == (0, 0, 0, len(gaia_mags(v2)))


def test_a_held_answer_is_applied_when_a_person_accepts_it(gaia18dqq, replay):
    run("Gaia18dqq", "--source", "GAIA")
    lines = gaia_lines()
    cut = "\n".join(lines[: len(lines) // 3]) + "\n"
    serve_gaia(replay, cut)
    with pytest.raises(CommandError, match="--accept-removals"):
        run("Gaia18dqq", "--source", "GAIA")
    output = run("Gaia18dqq", "--source", "GAIA", "--accept-removals")
    assert stored_gaia(gaia18dqq) == gaia_mags(cut)
    removed = len(gaia_mags("\n".join(lines))) - len(gaia_mags(cut))
    assert f"0 new points, 0 revised, {removed} removed." in output
    assert state_of(gaia18dqq, "GAIA").status == "done"


def test_the_admin_action_accepts_the_removals_of_a_held_pair(gaia18dqq, replay, client, django_user_model,
                                                              django_capture_on_commit_callbacks):
    run("Gaia18dqq", "--source", "GAIA")
    lines = gaia_lines()
    cut = "\n".join(lines[: len(lines) // 3]) + "\n"
    serve_gaia(replay, cut)
    with pytest.raises(CommandError, match="held"):
        run("Gaia18dqq", "--source", "GAIA")
    state = state_of(gaia18dqq, "GAIA")
    client.force_login(django_user_model.objects.create_superuser("admin", "a@example.org", "pw-admin-1234"))
    changelist = reverse("admin:bhtom_base_lightcurveupdatestate_changelist")
    page = client.get(changelist, {"status__exact": "held"}).content.decode()
    assert "Gaia18dqq" in page and "held: removals to confirm" in page
    with django_capture_on_commit_callbacks(execute=True):  # tasks are enqueued when the request commits
        response = client.post(changelist, {"action": "accept_removals", ACTION_CHECKBOX_NAME: [state.pk]},
                               follow=True)
    assert "Removals accepted; queued 1 update." in response.content.decode()
    state.refresh_from_db()  # the task ran (immediate backend in tests)
    assert (state.status, state.removals_accepted) == ("done", False)
    assert stored_gaia(gaia18dqq) == gaia_mags(cut)


# -- an incremental source with the survey's point ids: ZTF DR (IRSA) --------------------------

IRSA = "/cgi-bin/ZTF/nph_light_curves"
OIDS = ["775104100001769", "775204100022187", "1776110100007378", "1776210100011121"]


@pytest.fixture
def white_dwarf(replay):
    target = Target.objects.create(name="WD0139+5245", type="SIDEREAL", ra=24.77652, dec=52.76029)
    routes = [Route(path=IRSA, query={"ID": oid, "FORMAT": "csv"}, handler="tests.replay_handlers.ztf_versions:serve")
              for oid in OIDS]
    replay.routes.extend(routes)
    ztf_versions.VERSIONS.clear()
    yield target
    ztf_versions.VERSIONS.clear()
    for route in routes:
        replay.routes.remove(route)


def ztf_lines(oid: str) -> list[str]:
    return ztf_versions.VERSIONS.get(oid, fixture_bytes(f"ztf_dr/id_{oid}.csv")).decode().splitlines()


def ztf_expected() -> set[tuple[str, float]]:
    """(expid, mag) of every good epoch of the answers now served, read with csv alone."""
    expected = set()
    for oid in OIDS:
        for row in csv.DictReader(io.StringIO("\n".join(ztf_lines(oid)))):
            try:
                good = int(row["catflags"]) & 32768 == 0 and float(row["magerr"]) >= 0
                point = (row["expid"], float(row["mag"]))
            except (TypeError, ValueError):
                continue  # the cut last row of a truncated answer
            if good and point[1] == point[1]:
                expected.add(point)
    return expected


def stored_ztf(target) -> set[tuple[str, float]]:
    rows = PhotometryReducedDatum.objects.filter(target=target, source_name="ZTF_DR8")
    stored = [(row.value["point_id"], row.brightness) for row in rows]
    assert len(stored) == len(set(stored))  # never a point twice
    return set(stored)


def serve_ztf(oid: str, lines: list[str]) -> None:
    ztf_versions.VERSIONS[oid] = ("\n".join(lines) + "\n").encode()


def test_ztf_dr_incremental_with_point_ids_in_sequence(white_dwarf, replay, settings):
    run("WD0139+5245", "--source", "ZTF_DR8")  # v1: the cone search finds the four objects
    v1 = ztf_expected()
    assert stored_ztf(white_dwarf) == v1 and len(v1) == 1358

    # v2: the newest epoch re-reduced and the one before retracted (both inside the incremental window),
    # an old epoch retracted and a late epoch added (both older than the window).
    newest = ztf_lines(OIDS[1])
    fields = newest[-1].split(",")
    fields[4] = "18.3000000"
    newest[-1] = ",".join(fields)
    del newest[-2]
    late = newest[5].split(",")
    late[1], late[3], late[4] = "999999001", "58500.3000000", "18.7700000"
    newest.insert(6, ",".join(late))
    serve_ztf(OIDS[1], newest)
    old = ztf_lines(OIDS[0])
    del old[10]
    serve_ztf(OIDS[0], old)

    replay.clear_requests()
    run("WD0139+5245", "--source", "ZTF_DR8")  # incremental: only the last day is asked for and reconciled
    assert all("TIME" in request.query for request in replay.requests_to(IRSA))
    state = state_of(white_dwarf, "ZTF_DR8")
    assert counts(state) == (0, 1, 1, 1357)
    in_window = stored_ztf(white_dwarf)
    assert ("999999001", 18.77) not in in_window and len(v1 - in_window) == 2  # old retraction not yet seen

    # A week later (BHTOM_FULL_REFETCH_DAYS for this source): everything is fetched; the late epoch arrives.
    settings.BHTOM_FULL_REFETCH_DAYS = {"ZTF_DR8": 7}
    state.last_full_fetch -= timedelta(days=7, seconds=1)
    state.save()
    replay.clear_requests()
    run("WD0139+5245", "--source", "ZTF_DR8")
    assert all("TIME" not in request.query for request in replay.requests_to(IRSA))
    state.refresh_from_db()
    assert counts(state) == (1, 0, 1, 1357)
    v2 = ztf_expected()
    assert stored_ztf(white_dwarf) == v2
    late_row = PhotometryReducedDatum.objects.get(target=white_dwarf, value__point_id="999999001")
    assert late_row.value["survey_time"] == 58500.3 and late_row.reduction_version == "dr24"

    # v3: one answer cut in the middle of its last row: its points are kept, nothing is removed.
    cut = "\n".join(ztf_lines(OIDS[0]))
    ztf_versions.VERSIONS[OIDS[0]] = cut[: cut.rindex("\n") + 30].encode()
    run("WD0139+5245", "--source", "ZTF_DR8", "--force")
    state.refresh_from_db()
    assert (state.status, counts(state)) == ("done", (0, 0, 0, 1357))
    assert stored_ztf(white_dwarf) == v2

    # v3': an answer cut at a row boundary (half an object's epochs missing): held, nothing changes.
    serve_ztf(OIDS[0], old)
    half = ztf_lines(OIDS[1])
    serve_ztf(OIDS[1], half[: len(half) // 2])
    with pytest.raises(CommandError, match="held"):
        run("WD0139+5245", "--source", "ZTF_DR8", "--force")
    state.refresh_from_db()
    assert state.status == "held" and state.held_removals > 5
    assert stored_ztf(white_dwarf) == v2


def test_force_after_a_release_change_never_duplicates(white_dwarf, replay, settings):
    run("WD0139+5245", "--source", "ZTF_DR8")
    settings.BHTOM_ZTF_DATA_RELEASE = "dr25"
    run("WD0139+5245", "--source", "ZTF_DR8", "--force")
    run("WD0139+5245", "--source", "ZTF_DR8", "--force")
    assert stored_ztf(white_dwarf) == ztf_expected()
    rows = PhotometryReducedDatum.objects.filter(target=white_dwarf, source_name="ZTF_DR8")
    assert set(rows.values_list("bandpass", "reduction_version")) == {("g(ZTF DR)", "dr25"), ("r(ZTF DR)", "dr25")}


# -- a data release with the survey's point ids: Gaia DR3 epoch photometry (transit_id) ----------

DATALINK = "/data-server/data"
GAIA4 = "1457486023639239296"
GAIA_VERSION: dict[str, bytes] = {}


def serve_gaia_dr3(method, path, query, body):
    """The epoch photometry of the version now set (a bare VOTable, as the archive may also answer)."""
    return 200, {"Content-Type": "application/x-votable+xml"}, GAIA_VERSION["content"]


@pytest.fixture
def gaia4(replay):
    target = Target.objects.create(name="Gaia4", type="SIDEREAL", ra=10.0, dec=-10.0, epoch=2000)
    set_survey_name(target, "GAIA_DR3", GAIA4)
    route = Route(path=DATALINK, query={"ID": GAIA4, "RETRIEVAL_TYPE": "EPOCH_PHOTOMETRY", "FORMAT": "votable",
                                        "VALID_DATA": "false"},
                  handler="tests.test_reconcile_sequences:serve_gaia_dr3")
    replay.routes.append(route)
    yield target
    replay.routes.remove(route)
    GAIA_VERSION.clear()


def gaia_dr3_version(edit=None) -> set[tuple[str, str, float]]:
    """Serve the recorded epoch photometry, edited; return its expected (band, transit_id, mag) points."""
    from astropy.io.votable import parse_single_table, writeto
    from astropy.io.votable.tree import VOTableFile

    table = parse_single_table(str(FIXTURES_DIR / "gaia_dr3/dr3_epoch_photometry_gaia4.vot")).to_table()
    if edit is not None:
        table = edit(table)
    out = io.BytesIO()
    writeto(VOTableFile.from_table(table), out)
    GAIA_VERSION["content"] = out.getvalue()
    photometry = np.asarray(table["rejected_by_photometry"].filled(False), dtype=bool)
    expected = set()
    for band, mag_column in (("G", "g_transit_mag"), ("BP", "bp_mag"), ("RP", "rp_mag")):
        rejected = np.asarray(table[f"variability_flag_{band.lower()}_reject"].filled(False), dtype=bool)
        mags = np.asarray(table[mag_column].filled(np.nan), dtype=float)
        for transit, mag, bad in zip(table["transit_id"], mags, rejected | photometry, strict=True):
            if not bad and np.isfinite(mag):
                expected.add((f"{band}(Gaia DR3)", str(transit), float(mag)))
    return expected


def stored_gaia_dr3(target) -> set[tuple[str, str, float]]:
    rows = PhotometryReducedDatum.objects.filter(target=target, source_name="GAIA_DR3")
    stored = [(row.bandpass, row.value["point_id"], row.brightness) for row in rows]
    assert len(stored) == len(set(stored))
    return set(stored)


def test_gaia_dr3_with_transit_ids_in_sequence(gaia4, replay):
    v1 = gaia_dr3_version()
    run("Gaia4", "--source", "GAIA_DR3")
    assert stored_gaia_dr3(gaia4) == v1
    state = state_of(gaia4, "GAIA_DR3")
    assert counts(state) == (len(v1), 0, 0, len(v1))

    def v2_edit(table):
        usable = ~np.asarray(table["variability_flag_g_reject"].filled(False), dtype=bool) & np.isfinite(
            np.asarray(table["g_transit_mag"].filled(np.nan), dtype=float))
        revised_row = int(np.flatnonzero(usable)[2])
        table["g_transit_mag"][revised_row] = table["g_transit_mag"][revised_row] + 0.05  # re-reduced
        late = table[[7]]
        late["transit_id"][0] = 99999999999999999  # a transit published late
        late["g_transit_time"][0] = late["g_transit_time"][0] + 3.0
        late["bp_obs_time"][0] = late["bp_obs_time"][0] + 3.0
        late["rp_obs_time"][0] = late["rp_obs_time"][0] + 3.0
        table.remove_row(10)  # retracted: its G, BP and RP points go
        return vstack([table, late])

    v2 = gaia_dr3_version(v2_edit)
    run("Gaia4", "--source", "GAIA_DR3", "--force")  # a data release: fetched again only when forced
    assert stored_gaia_dr3(gaia4) == v2
    state.refresh_from_db()
    added, revised, removed = len(v2 - v1) - 1, 1, len(v1 - v2) - 1
    assert counts(state) == (added, revised, removed, len(v2))
    assert (added, removed) == (3, 3)  # three bands of the late transit in, of the retracted one out

    gaia_dr3_version(lambda table: table[:20])  # v3: most transits missing
    with pytest.raises(CommandError, match="held"):
        run("Gaia4", "--source", "GAIA_DR3", "--force")
    assert stored_gaia_dr3(gaia4) == v2
    assert state_of(gaia4, "GAIA_DR3").status == "held"
    # A held data release is asked again without --force, and applied once a person accepts it.
    with pytest.raises(CommandError, match="held"):
        run("Gaia4", "--source", "GAIA_DR3")
    run("Gaia4", "--source", "GAIA_DR3", "--accept-removals")
    assert state_of(gaia4, "GAIA_DR3").status == "done"
    assert stored_gaia_dr3(gaia4) == gaia_dr3_version(lambda table: table[:20])
