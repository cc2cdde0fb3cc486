"""Ingestion and reconcile: rows as the ORM would store them, all or nothing, the survey's answer the truth.

Runs on SQLite and on PostgreSQL (``DATABASE_URL``): COPY and staging-table paths there.
"""
from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from tom_dataproducts.models import PhotometryReducedDatum
from tom_targets.models import Target

from bhtom_base import ingest as ingest_module
from bhtom_base.ingest import prepare_rows, reconcile, removal_limit
from bhtom_base.lightcurve import clean_lightcurve, make_lightcurve

pytestmark = pytest.mark.django_db

TIMES = [
    datetime(2020, 1, 1, 0, 0, 0, tzinfo=UTC),  # whole second: no fraction in SQLite's text
    datetime(2020, 1, 2, 3, 4, 5, 123456, tzinfo=UTC),
    datetime(2020, 1, 3, 3, 4, 5, 500000, tzinfo=UTC),
    datetime(2020, 1, 4, 0, 0, 0, tzinfo=UTC),
    datetime(2020, 1, 5, 12, 0, 0, 1, tzinfo=UTC),
]


@pytest.fixture
def target():
    return Target.objects.create(name="ingest", type="SIDEREAL", ra=1.0, dec=2.0)


def frame(times=TIMES, observer=""):
    mag = [15.0, 15.5, np.nan, 16.0, 16.25]
    return clean_lightcurve(make_lightcurve(
        time=pd.to_datetime(times, utc=True), mag=mag, mag_err=[0.01, 0.02, np.nan, 0.03, 0.04], band="G",
        limit=[np.nan, np.nan, 19.5, np.nan, np.nan], observer=observer,
    ))


def rows_of(data, location="https://example.org/lc.csv", band=None):
    bandpass = band if band is not None else data["band"].map(lambda band: f"{band}(Gaia)")
    return prepare_rows(data, source_location=location, bandpass=bandpass, default_facility="Gaia",
                        default_observer="Gaia")


def ingest(target, data, **options):
    return reconcile(target.pk, "GAIA", rows_of(data), **options)


def stored(target):
    return list(PhotometryReducedDatum.objects.filter(target=target).order_by("timestamp", "bandpass"))


def test_rows_hold_exactly_the_frame(target):
    result = ingest(target, frame())
    assert (result.added, result.revised, result.removed, result.total, result.last_point) == (5, 0, 0, 5, TIMES[-1])
    rows = list(PhotometryReducedDatum.objects.filter(target=target).order_by("timestamp"))
    assert [row.timestamp for row in rows] == TIMES
    assert [row.brightness for row in rows] == [15.0, 15.5, None, 16.0, 16.25]
    assert [row.brightness_error for row in rows] == [0.01, 0.02, None, 0.03, 0.04]
    assert [row.limit for row in rows] == [None, None, 19.5, None, None]
    assert {(row.bandpass, row.unit, row.telescope, row.source_name, row.instrument) for row in rows} == {
        ("G(Gaia)", "mag", "Gaia", "GAIA", "")
    }
    assert rows[0].value == {"observer": "Gaia"} and rows[0].source_location == "https://example.org/lc.csv"


def test_points_already_stored_by_the_orm_are_matched_completed_and_never_duplicated(target):
    data = frame()
    PhotometryReducedDatum.objects.bulk_create([
        PhotometryReducedDatum(target=target, timestamp=TIMES[i], brightness=m, brightness_error=e, limit=None,
                               bandpass="G(Gaia)", unit="mag", source_name="GAIA")
        for i, m, e in ((0, 15.0, 0.01), (1, 15.5, 0.02))
    ])
    PhotometryReducedDatum.objects.create(target=target, timestamp=TIMES[2], limit=19.5, bandpass="G(Gaia)",
                                          source_name="GAIA")
    result = ingest(target, data)
    # The three ORM rows lack the facility and observer: revised in place, not added again.
    assert (result.added, result.revised, result.removed, result.total) == (2, 3, 0, 5)
    assert {row.telescope for row in stored(target)} == {"Gaia"}
    assert PhotometryReducedDatum.objects.filter(target=target).count() == 5
    again = ingest(target, data)
    assert (again.added, again.revised, again.removed, again.total) == (0, 0, 0, 5)


def test_a_failure_in_the_middle_changes_nothing(target, monkeypatch):
    ingest(target, frame())
    before = [(row.id, row.timestamp, row.brightness) for row in stored(target)]
    data = frame().iloc[[0, 1, 3]].reset_index(drop=True)  # one point retracted ...
    data.loc[0, "mag"] = 14.0  # ... one revised

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")  # after the removal was written

    monkeypatch.setattr(ingest_module, "_revise", broken)
    with pytest.raises(RuntimeError):
        ingest(target, data)
    assert [(row.id, row.timestamp, row.brightness) for row in stored(target)] == before


def test_an_observer_of_the_frame_is_kept(target):
    ingest(target, frame(observer="ASAS-SN bf"))
    values = list(PhotometryReducedDatum.objects.filter(target=target).values_list("value", flat=True))
    assert values == [{"observer": "ASAS-SN bf"}] * 5
    assert PhotometryReducedDatum.objects.filter(target=target, value__observer="ASAS-SN bf").count() == 5


def test_each_row_keeps_the_surveys_point_id_and_original_time(target):
    data = clean_lightcurve(make_lightcurve(
        time=pd.to_datetime(TIMES[:3], utc=True), mag=[15.0, 15.5, np.nan], mag_err=[0.01, 0.02, np.nan],
        band="G", limit=[np.nan, np.nan, 19.5], point_id=["101", "102", ""],
        survey_time=[2458849.5, "2020-01-02T03:04:05.123456", np.nan], time_system=["JD TCB", "ISO UTC", ""],
    ))
    ingest(target, data)
    values = [row.value for row in PhotometryReducedDatum.objects.filter(target=target).order_by("timestamp")]
    assert values == [
        {"observer": "Gaia", "point_id": "101", "survey_time": 2458849.5, "time_system": "JD TCB"},
        {"observer": "Gaia", "point_id": "102", "survey_time": "2020-01-02T03:04:05.123456", "time_system": "ISO UTC"},
        {"observer": "Gaia"},
    ]


# -- reconcile: the survey's answer is the truth for its points ---------------------------------

def revised_frame(mags, limits, times=TIMES, point_ids=None):
    return clean_lightcurve(make_lightcurve(
        time=pd.to_datetime(times, utc=True), mag=mags, mag_err=[0.01] * len(times), band="G", limit=limits,
        point_id=point_ids if point_ids is not None else "",
    ))


def test_a_revised_value_replaces_the_stale_one_in_place(target):
    ingest(target, frame())
    ids = [row.id for row in stored(target)]
    data = frame()
    data.loc[1, "mag"] = 15.45
    result = ingest(target, data)
    assert (result.added, result.revised, result.removed, result.total) == (0, 1, 0, 5)
    rows = stored(target)
    assert [row.brightness for row in rows] == [15.0, 15.45, None, 16.0, 16.25]
    assert [row.id for row in rows] == ids  # updated in place, not deleted and added


def test_a_retracted_point_goes_and_a_late_one_arrives(target):
    ingest(target, frame())
    late = datetime(2019, 12, 31, 12, 0, 0, tzinfo=UTC)
    data = clean_lightcurve(make_lightcurve(
        time=pd.to_datetime([late] + TIMES[:2] + TIMES[3:], utc=True), mag=[14.9, 15.0, 15.5, 16.0, 16.25],
        mag_err=[0.05, 0.01, 0.02, 0.03, 0.04], band="G",
    ))
    result = ingest(target, data)
    assert (result.added, result.revised, result.removed, result.total) == (1, 0, 1, 5)
    assert [(row.timestamp, row.brightness, row.limit) for row in stored(target)] == [
        (late, 14.9, None), (TIMES[0], 15.0, None), (TIMES[1], 15.5, None), (TIMES[3], 16.0, None),
        (TIMES[4], 16.25, None),
    ]


def test_only_the_window_is_reconciled(target):
    ingest(target, frame())
    # An incremental answer from the fourth point on, without the fifth: the first three are outside the window.
    data = frame().iloc[3:4].reset_index(drop=True)
    result = ingest(target, data, window_start=TIMES[3])
    assert (result.added, result.revised, result.removed, result.total) == (0, 0, 1, 4)
    assert [row.timestamp for row in stored(target)] == TIMES[:4]


def test_an_answer_removing_too_much_is_held_and_changes_nothing(target):
    many = [datetime(2021, 1, 1, tzinfo=UTC) + pd.Timedelta(hours=i) for i in range(20)]
    ingest(target, revised_frame([15.0] * 20, [np.nan] * 20, times=many))
    assert removal_limit(20) == 5
    half = revised_frame([15.5] * 10, [np.nan] * 10, times=many[:10])
    result = ingest(target, half)
    assert result.held and (result.held_removals, result.total) == (10, 20)
    assert [row.brightness for row in stored(target)] == [15.0] * 20  # not even the revisions applied
    accepted = ingest(target, half, accept_removals=True)
    assert (accepted.added, accepted.revised, accepted.removed, accepted.total) == (0, 10, 10, 10)
    five_of_ten_is_allowed = ingest(target, revised_frame([15.5] * 5, [np.nan] * 5, times=many[:5]))
    assert (five_of_ten_is_allowed.removed, five_of_ten_is_allowed.held) == (5, False)


def test_a_cut_answer_removes_nothing(target):
    ingest(target, frame())
    result = ingest(target, frame().iloc[:2], remove_unreported=False)
    assert (result.added, result.revised, result.removed, result.total) == (0, 0, 0, 5)


def test_survey_point_ids_are_the_key_and_old_rows_without_them_are_matched_by_band_and_time(target):
    ingest(target, revised_frame([15.0, 15.5, 16.0], [np.nan] * 3, times=TIMES[:3]))  # stored without ids
    with_ids = revised_frame([15.0, 15.5, 16.0], [np.nan] * 3, times=TIMES[:3], point_ids=["a", "b", "c"])
    result = ingest(target, with_ids)
    assert (result.added, result.revised, result.removed) == (0, 3, 0)  # the ids were added to the rows
    assert [row.value.get("point_id") for row in stored(target)] == ["a", "b", "c"]
    # The survey re-times point b (a better time stamp): same id, so the same row, moved.
    moved = revised_frame([15.0, 15.5, 16.0], [np.nan] * 3, times=[TIMES[0], TIMES[3], TIMES[2]],
                          point_ids=["a", "b", "c"])
    ids = {row.value["point_id"]: row.id for row in stored(target)}
    result = ingest(target, moved)
    assert (result.added, result.revised, result.removed, result.total) == (0, 1, 0, 3)
    assert {row.value["point_id"]: (row.id, row.timestamp) for row in stored(target)} == {
        "a": (ids["a"], TIMES[0]), "b": (ids["b"], TIMES[3]), "c": (ids["c"], TIMES[2])}


def test_two_points_swapping_values_never_clash_with_the_unique_constraint(target):
    ingest(target, revised_frame([15.0, 15.5], [np.nan] * 2, times=[TIMES[0]] * 2, point_ids=["a", "b"]))
    result = ingest(target, revised_frame([15.5, 15.0], [np.nan] * 2, times=[TIMES[0]] * 2, point_ids=["a", "b"]))
    assert (result.added, result.revised, result.removed, result.total) == (0, 2, 0, 2)
    assert sorted((row.value["point_id"], row.brightness) for row in stored(target)) == [("a", 15.5), ("b", 15.0)]


def test_a_detection_and_a_limit_at_one_time_are_two_points(target):
    data = clean_lightcurve(make_lightcurve(
        time=pd.to_datetime([TIMES[0], TIMES[0]], utc=True), mag=[15.0, np.nan], mag_err=[0.01, np.nan],
        band="G", limit=[np.nan, 19.0]))
    assert ingest(target, data).added == 2
    again = ingest(target, data)
    assert (again.added, again.revised, again.removed, again.total) == (0, 0, 0, 2)


def test_value_json_is_exactly_what_json_dumps_writes():
    from bhtom_base.ingest import _value_json

    data = make_lightcurve(
        time=pd.to_datetime(TIMES[:4], utc=True), mag=[1.0] * 4, mag_err=[0.1] * 4, band="G",
        observer=["Żółw \"quoted\"", "", "a\\b", "x"], point_id=["1", "", "ü", "7"],
        survey_time=[2458849.123456789, "2020-01-02T03:04:05", np.nan, 58000], time_system=["JD", "ISO", "X", ""],
    )
    expected = [
        {"observer": "Żółw \"quoted\"", "point_id": "1", "survey_time": 2458849.123456789, "time_system": "JD"},
        {"observer": "Gaia", "survey_time": "2020-01-02T03:04:05", "time_system": "ISO"},
        {"observer": "a\\b", "point_id": "ü"},
        {"observer": "x", "point_id": "7", "survey_time": 58000},
    ]
    import json

    assert _value_json(data, "Gaia") == [json.dumps(value) for value in expected]
