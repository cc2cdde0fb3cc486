"""``insert_like`` writes what ``save()`` would, on every path (PostgreSQL unnest, SQLite json_each, executemany)."""
from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
from django.db import IntegrityError
from tom_targets.models import Target

from bhtom_base import fast_insert
from bhtom_base.fast_insert import insert_like
from bhtom_base.models import LightcurveUpdateState, UpdateStatus

pytestmark = pytest.mark.django_db

VARYING = ("target_id", "last_error", "duration", "removals_accepted", "last_point", "total_points")


def make_targets(count: int) -> list[Target]:
    return [Target.objects.create(name=f"fast{i}", type="SIDEREAL", ra=float(i), dec=0.0) for i in range(count)]


def test_values_of_every_kind_come_back_as_written():
    targets = make_targets(3)
    rows = [
        (targets[0].pk, 'quotes " \\ and ünïcode ✓\nnew line', 1.5, True, datetime(2026, 1, 2, 3, 4, 5, 600000, UTC),
         2**31 - 1),
        (targets[1].pk, "", None, False, None, -7),
        (targets[2].pk, "{\"looks\": [\"like json\"]}", 1e-300, True, datetime(1999, 12, 31, tzinfo=UTC), 0),
    ]
    insert_like(LightcurveUpdateState(source="GAIA", status=UpdateStatus.DONE, new_points=3), VARYING, rows)

    states = {s.target_id: s for s in LightcurveUpdateState.objects.filter(source="GAIA")}
    for row in rows:
        state = states[row[0]]
        assert tuple(getattr(state, name) for name in VARYING) == row
        assert (state.status, state.new_points, state.source) == (UpdateStatus.DONE, 3, "GAIA")


def test_values_json_cannot_carry_are_bound_row_by_row(monkeypatch):
    """NaN (and a Decimal, bytes...) is not JSON: SQLite then falls back to executemany."""
    calls = []
    original = fast_insert._insert_values
    monkeypatch.setattr(fast_insert, "_insert_values", lambda *a: calls.append(1) or original(*a))
    targets = make_targets(2)

    insert_like(LightcurveUpdateState(source="GAIA"), ("target_id", "duration"),
                [(targets[0].pk, math.nan), (targets[1].pk, 2.0)])

    durations = dict(LightcurveUpdateState.objects.values_list("target_id", "duration"))
    assert durations[targets[1].pk] == 2.0
    assert durations[targets[0].pk] is None or math.isnan(durations[targets[0].pk])
    from django.db import connection

    assert calls == ([1] if connection.vendor == "sqlite" else [])


@pytest.mark.parametrize("json_values", [True, False], ids=["json", "not-json"])
def test_all_rows_or_none(json_values):
    targets = make_targets(2)
    duration = 1.0 if json_values else math.nan
    rows = [(targets[0].pk, duration), (targets[1].pk, duration), (targets[0].pk, duration)]  # the last is a duplicate

    with pytest.raises(IntegrityError):
        insert_like(LightcurveUpdateState(source="GAIA"), ("target_id", "duration"), rows)

    assert not LightcurveUpdateState.objects.exists()


def test_raw_values_are_stored_as_given_and_must_be_varying():
    from django.db import connection

    target = make_targets(1)[0]
    when = datetime(2026, 5, 6, 7, 8, 9, tzinfo=UTC)
    raw_when = LightcurveUpdateState._meta.get_field("last_point").get_db_prep_save(when, connection)
    insert_like(LightcurveUpdateState(source="GAIA"), ("target_id", "last_point"), [(target.pk, raw_when)],
                raw=("last_point",))
    assert LightcurveUpdateState.objects.get().last_point == when

    with pytest.raises(ValueError, match="not varying: last_point"):
        insert_like(LightcurveUpdateState(source="ZTF"), ("target_id",), [(target.pk,)], raw=("last_point",))
