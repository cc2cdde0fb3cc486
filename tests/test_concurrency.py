"""Two workers updating the same (target, source) at once; a worker dying mid-update."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from tom_dataproducts.models import PhotometryReducedDatum
from tom_targets.models import Target

from bhtom2.brokers.gaia_alerts import GaiaAlertsBroker
from bhtom_base.models import LightcurveUpdateState, UpdateStatus
from bhtom_base.scheduling import due_pairs
from bhtom_base.survey_names import set_survey_name
from bhtom_base.update import update_lightcurve
from tests.conftest import FIXTURES


@pytest.fixture
def target(db):
    target = Target.objects.create(name="Gaia14aaa", type="SIDEREAL", ra=200.25961, dec=45.53943)
    set_survey_name(target, "GAIA", "Gaia14aaa")
    return target


@pytest.mark.django_db(transaction=True)
def test_two_workers_on_the_same_pair_write_each_point_once(target, replay):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers are a PostgreSQL matter (SQLite serialises every write)")
    replay.latency = 0.2  # both fetch at the same time, then race to insert
    reports = []
    barrier = threading.Barrier(2)

    def worker():
        from django.db import connections

        barrier.wait()
        try:
            reports.append(update_lightcurve(GaiaAlertsBroker(), Target.objects.get(pk=target.pk)))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert [r.status for r in reports] == ["done", "done"]
    assert sorted(r.new_points for r in reports) == [0, 28]
    rows = PhotometryReducedDatum.objects.filter(target=target)
    assert rows.count() == 28
    assert rows.values("timestamp", "bandpass").distinct().count() == 28


@pytest.mark.django_db(transaction=True)
def test_two_workers_reconciling_a_revised_answer_leave_one_row_per_point(target, replay):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers are a PostgreSQL matter (SQLite serialises every write)")
    update_lightcurve(GaiaAlertsBroker(), target)
    lines = (FIXTURES / "gaia_alerts" / "Gaia14aaa.csv").read_text().splitlines()
    data = [i for i, line in enumerate(lines) if line[:1].isdigit() and line.split(",")[2] not in ("null", "")]
    date, jd, mag = lines[data[0]].split(",")
    lines[data[0]] = f"{date},{jd},{float(mag) + 0.3:.2f}"  # revised
    del lines[data[5]]  # retracted
    lines.insert(data[8], "2015-01-01 00:00:00,2457023.50000,17.77")  # late
    replay.inject(path="/alerts/alert/Gaia14aaa/", body="\n".join(lines) + "\n", content_type="text/csv")
    replay.latency = 0.2  # both fetch at the same time, then race to reconcile
    reports = []
    barrier = threading.Barrier(2)

    def worker():
        from django.db import connections

        barrier.wait()
        try:
            reports.append(update_lightcurve(GaiaAlertsBroker(), Target.objects.get(pk=target.pk), force=True))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert [r.status for r in reports] == ["done", "done"]
    # One applied the answer, the other found nothing left to do.
    assert sorted((r.new_points, r.revised_points, r.removed_points) for r in reports) == [(0, 0, 0), (1, 1, 1)]
    rows = PhotometryReducedDatum.objects.filter(target=target)
    assert rows.count() == 28
    assert rows.values("timestamp", "bandpass").distinct().count() == 28
    assert rows.filter(brightness=17.77).count() == 1


def test_a_dead_workers_running_state_expires_and_the_pair_is_due_again(target, replay):
    broker = GaiaAlertsBroker()
    update_lightcurve(broker, target)
    state = LightcurveUpdateState.objects.get(target=target, source="GAIA")
    # a worker took the pair and died: status stays "running", nothing was written by it
    state.status = UpdateStatus.RUNNING
    state.running_until = timezone.now() + timedelta(minutes=5)
    state.next_due = timezone.now() - timedelta(days=1)
    state.save()
    assert due_pairs([(target, "GAIA")], {}) == []
    state.running_until = timezone.now() - timedelta(seconds=1)
    state.save()
    assert due_pairs([(target, "GAIA")], {}) == [(target, "GAIA")]
    report = update_lightcurve(broker, target)
    assert report.status == "done" and report.new_points == 0 and report.total_points == 28
