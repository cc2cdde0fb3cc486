"""Ingestion: the executemany fast path stores what the ORM would, dedupes against it, all or nothing."""
from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from tom_dataproducts.models import PhotometryReducedDatum
from tom_targets.models import Target

from bhtom_base.ingest import build_rows, ingest_rows
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


def ingest(target, data, chunk_size=20_000):
    rows = build_rows(target.pk, data, source_name="GAIA", source_location="https://example.org/lc.csv",
                      bandpass=data["band"].map(lambda band: f"{band}(Gaia)"), default_facility="Gaia",
                      default_observer="Gaia", chunk_size=chunk_size)
    return ingest_rows(target.pk, "GAIA", rows)


def test_rows_hold_exactly_the_frame(target):
    result = ingest(target, frame(), chunk_size=2)
    assert (result.inserted, result.total, result.last_point) == (5, 5, TIMES[-1])
    rows = list(PhotometryReducedDatum.objects.filter(target=target).order_by("timestamp"))
    assert [row.timestamp for row in rows] == TIMES
    assert [row.brightness for row in rows] == [15.0, 15.5, None, 16.0, 16.25]
    assert [row.brightness_error for row in rows] == [0.01, 0.02, None, 0.03, 0.04]
    assert [row.limit for row in rows] == [None, None, 19.5, None, None]
    assert {(row.bandpass, row.unit, row.telescope, row.source_name, row.instrument) for row in rows} == {
        ("G(Gaia)", "mag", "Gaia", "GAIA", "")
    }
    assert rows[0].value == {"observer": "Gaia"} and rows[0].source_location == "https://example.org/lc.csv"


def test_points_already_stored_by_the_orm_are_skipped_and_not_counted(target):
    data = frame()
    PhotometryReducedDatum.objects.bulk_create([
        PhotometryReducedDatum(target=target, timestamp=TIMES[i], brightness=m, brightness_error=e, limit=None,
                               bandpass="G(Gaia)", unit="mag", source_name="GAIA")
        for i, m, e in ((0, 15.0, 0.01), (1, 15.5, 0.02))
    ])
    PhotometryReducedDatum.objects.create(target=target, timestamp=TIMES[2], limit=19.5, bandpass="G(Gaia)",
                                          source_name="GAIA")
    result = ingest(target, data)
    assert (result.inserted, result.total) == (2, 5)
    assert PhotometryReducedDatum.objects.filter(target=target).count() == 5
    again = ingest(target, data, chunk_size=1)
    assert (again.inserted, again.total) == (0, 5)


def test_a_failure_in_a_later_chunk_stores_nothing(target):
    data = frame()
    chunks = build_rows(target.pk, data, source_name="GAIA", source_location="", bandpass=data["band"],
                        default_facility="Gaia", default_observer="Gaia", chunk_size=2)

    def broken():
        yield next(chunks)
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        ingest_rows(target.pk, "GAIA", broken())
    assert PhotometryReducedDatum.objects.filter(target=target).count() == 0


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
