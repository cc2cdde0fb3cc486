"""Ingestion: all or nothing, duplicates skipped by the database, only really new rows counted."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tom_dataproducts.models import PhotometryReducedDatum
from tom_targets.models import Target

from bhtom_base.ingest import build_rows, ingest_rows
from bhtom_base.lightcurve import clean_lightcurve, make_lightcurve

pytestmark = pytest.mark.django_db


@pytest.fixture
def target():
    return Target.objects.create(name="t", type="SIDEREAL", ra=1, dec=2)


def frame_of(times, mags, errs, limits=None, bands=None):
    return make_lightcurve(time=pd.to_datetime(times, utc=True, format="ISO8601"), mag=mags, mag_err=errs,
                           band=bands or ["g"] * len(times), limit=limits)


def ingest(target, frame):
    cleaned = clean_lightcurve(frame)
    rows = build_rows(target.pk, cleaned, source_name="TEST", source_location="http://x/", default_facility="F",
                      default_observer="O", bandpass=cleaned["band"].map(lambda b: f"{b}(Test)"))
    return ingest_rows(target.pk, "TEST", rows), cleaned


def test_second_ingest_inserts_nothing_and_counts_only_new_rows(target):
    times = ["2020-01-01T00:00:00.123456", "2020-01-02T00:00:00", "2020-01-03T00:00:00"]
    first, _ = ingest(target, frame_of(times, [15.0, 15.1, 15.2], [0.01, 0.02, 0.03]))
    assert (first.inserted, first.total) == (3, 3)
    again, _ = ingest(target, frame_of(times + ["2020-01-04"], [15.0, 15.1, 15.2, 15.3], [0.01] * 4))
    assert (again.inserted, again.total) == (1, 4)
    assert PhotometryReducedDatum.objects.filter(target=target).count() == 4
    stored = PhotometryReducedDatum.objects.get(target=target, brightness=15.0)
    assert stored.timestamp.microsecond == 123456 and stored.bandpass == "g(Test)"


def test_detection_and_limit_at_the_same_time_and_band_are_both_kept(target):
    frame = frame_of(["2020-01-01", "2020-01-01"], [15.0, np.nan], [0.05, np.nan], limits=[np.nan, 19.5])
    result, _ = ingest(target, frame)
    assert result.inserted == 2
    limit = PhotometryReducedDatum.objects.get(target=target, limit__isnull=False)
    assert limit.limit == 19.5 and limit.brightness is None and limit.brightness_error is None


def test_garbage_is_counted_not_stored(target):
    frame = frame_of(
        ["2020-01-01", "2020-01-02", "2020-01-03", "2020-01-04", None, "2020-01-06", "2020-01-06"],
        [15.0, 15.1, 15.2, 15.3, 15.4, np.nan, 15.6],
        [0.01, np.nan, -0.1, np.inf, 0.01, np.nan, 0.01],
    )
    frame = pd.concat([frame, frame.iloc[[0]]], ignore_index=True)  # an exact duplicate row
    result, cleaned = ingest(target, frame)
    assert result.inserted == 2
    assert cleaned.attrs["skipped"] == {"invalid error": 3, "no time": 1, "no magnitude": 1, "duplicate": 1}


def test_a_failure_in_the_middle_of_the_insert_leaves_nothing(target, monkeypatch):
    import bhtom_base.ingest as ingest_module

    frame = frame_of(["2020-01-01", "2020-01-02", "2020-01-03"], [15.0, 15.1, 15.2], [0.01] * 3)
    cleaned = clean_lightcurve(frame)
    rows = build_rows(target.pk, cleaned, source_name="TEST", source_location="", default_facility="F",
                      default_observer="O", bandpass=cleaned["band"])
    real_bulk_create = PhotometryReducedDatum.objects.bulk_create
    calls = []

    def failing_bulk_create(batch, **kwargs):
        calls.append(len(batch))
        if len(calls) == 2:
            raise RuntimeError("database went away")
        return real_bulk_create(batch, **kwargs)

    monkeypatch.setattr(ingest_module, "BATCH_SIZE", 1)
    monkeypatch.setattr(PhotometryReducedDatum.objects, "bulk_create", failing_bulk_create)
    with pytest.raises(RuntimeError):
        ingest_rows(target.pk, "TEST", rows)
    assert calls == [1, 1]
    assert PhotometryReducedDatum.objects.filter(target=target).count() == 0
