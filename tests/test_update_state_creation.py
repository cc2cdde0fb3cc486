"""``bhtom_base.update.get_state``: a pair's state is created once, even when another worker creates it first."""
from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import QuerySet
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from tom_targets.models import Target

from bhtom_base.models import LightcurveUpdateState, UpdateStatus
from bhtom_base.update import get_state


@pytest.mark.django_db(transaction=True)  # autocommit, as in a worker: the INSERT path, not get_or_create
def test_a_new_state_is_one_insert_created_running():
    target = Target.objects.create(name="state-new", type="SIDEREAL", ra=1.0, dec=2.0)
    now = timezone.now()
    with CaptureQueriesContext(connection) as queries:
        state = get_state(target, "GAIA", now)
    assert [q["sql"].split()[0] for q in queries] == ["SELECT", "INSERT"]
    assert (state.status, state.last_attempt) == (UpdateStatus.RUNNING, now)
    assert LightcurveUpdateState.objects.filter(target=target, source="GAIA").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_state_created_meanwhile_by_another_worker_is_returned_not_duplicated(monkeypatch):
    """The SELECT finds nothing, another worker INSERTs, ours hits the unique constraint: its row is returned."""
    target = Target.objects.create(name="state-race", type="SIDEREAL", ra=1.0, dec=2.0)
    theirs = LightcurveUpdateState.objects.create(target=target, source="GAIA", status=UpdateStatus.QUEUED)
    first = QuerySet.first
    monkeypatch.setattr(QuerySet, "first", lambda self: None if self.model is LightcurveUpdateState
                        else first(self))
    state = get_state(target, "GAIA", timezone.now())
    assert state.pk == theirs.pk and state.status == UpdateStatus.QUEUED
    assert LightcurveUpdateState.objects.filter(target=target, source="GAIA").count() == 1
