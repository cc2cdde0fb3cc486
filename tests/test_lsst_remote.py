"""Rubin/LSST against the real services (``pytest --remote-data``; skipped otherwise).

They check that today's services still answer in the format the parsers read: the
columns Fink is asked for exist, the paths are right, ids stay exact. Lasair runs
only with ``LASAIR_TOKEN`` in the environment.
"""
from __future__ import annotations

import os

import pytest
from tom_dataproducts.models import PhotometryReducedDatum
from tom_targets.models import Target

from bhtom2.brokers.lsst import LSSTBroker
from bhtom_base.survey_names import set_survey_name
from bhtom_base.update import update_lightcurve

pytestmark = [pytest.mark.remote_data, pytest.mark.django_db]

# The example object of Fink's LSST API documentation (doc.lsst.fink-broker, "Search by diaObjectId").
FINK_EXAMPLE = "313761043604045880"


@pytest.fixture
def real_services(settings):
    """The real services' URLs (the apps' defaults, or BHTOM_URL_<NAME>) and production-like timeouts."""
    if hasattr(settings, "BHTOM_URLS"):
        del settings.BHTOM_URLS
    settings.BHTOM_HTTP = {"read_timeout": 60.0, "retries": 2}


def update(target_name: str, dia_object_id: str):
    target = Target.objects.create(name=target_name, type="SIDEREAL", ra=0.0, dec=0.0)
    set_survey_name(target, "LSST", dia_object_id)
    report = update_lightcurve(LSSTBroker(), target)
    return target, report


def test_fink_answers_with_the_documented_example_object(real_services, settings):
    settings.BHTOM_LSST_SERVICE = "fink"
    target, report = update("fink live", FINK_EXAMPLE)
    assert report.status == "done", report.error
    points = PhotometryReducedDatum.objects.filter(target=target, source_name="LSST")
    assert points.count() >= 1
    assert all(point.bandpass.endswith("(Rubin/LSST)") for point in points)
    assert all(str(point.value.get("point_id", "")).isdigit() for point in points)


def test_lasair_answers_with_the_recorded_object(real_services, settings):
    token = os.environ.get("LASAIR_TOKEN", "")
    if not token:
        pytest.skip("LASAIR_TOKEN is not set")
    settings.BHTOM_LSST_SERVICE = "lasair"
    settings.BHTOM_LASAIR_TOKEN = token
    target, report = update("lasair live", "169342391615488714")
    assert report.status in ("done", "no_survey_name"), report.error  # the commissioning object may be gone
