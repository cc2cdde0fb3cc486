"""Gaia Alerts as a real TOM broker: query pages under /alerts/, targets created from alerts."""
from __future__ import annotations

import pytest
from tom_alerts.models import BrokerQuery
from tom_dataproducts.models import PhotometryReducedDatum
from tom_targets.models import Target, TargetExtra, TargetName

from bhtom2.brokers.gaia_alerts import GaiaAlertsBroker

pytestmark = pytest.mark.django_db


@pytest.fixture
def user_client(client, django_user_model):
    user = django_user_model.objects.create_user("observer", "o@example.org", "pw")
    client.force_login(user)
    return client


def test_query_by_cone_lists_the_alerts_inside(user_client, replay):
    assert user_client.get("/alerts/query/list/").status_code == 200
    form = user_client.get("/alerts/query/create/?broker=GAIA")
    assert form.status_code == 200 and "Radius (arcsec)" in form.content.decode()
    created = user_client.post("/alerts/query/create/", {
        "query_name": "near Gaia22cxt", "broker": "GAIA", "ra": "251.49401", "dec": "63.50304", "radius": "5"})
    assert created.status_code == 302
    query = BrokerQuery.objects.get(name="near Gaia22cxt")
    page = user_client.get(f"/alerts/query/{query.pk}/run/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Gaia22cxt" in html and "1 Gaia alerts found" in html and "Gaia22cxs" not in html


def test_query_form_rejects_an_invalid_alert_name(user_client):
    response = user_client.post("/alerts/query/create/", {"query_name": "bad", "broker": "GAIA",
                                                          "target_name": "Gaia16aye' OR 1=1"})
    assert response.status_code == 200 and "is not a valid Gaia Alerts name" in response.content.decode()
    assert not BrokerQuery.objects.exists()


def test_unreachable_index_is_feedback_not_an_error_page(user_client, replay):
    query = BrokerQuery.objects.create(name="q", broker="GAIA", parameters={"target_name": "Gaia22cxt"})
    GaiaAlertsBroker._index_cache.clear()  # an index fetched by an earlier test would still be used
    replay.inject(path="/alerts/alerts.csv", status=500)
    page = user_client.get(f"/alerts/query/{query.pk}/run/")
    assert page.status_code == 200
    assert "Gaia Alerts index unavailable" in page.content.decode()


def test_target_created_from_an_alert_keeps_its_gaia_and_tns_names(user_client, replay):
    query = BrokerQuery.objects.create(name="q", broker="GAIA", parameters={"target_name": "Gaia22cxt"})
    assert user_client.get(f"/alerts/query/{query.pk}/run/").status_code == 200
    response = user_client.post("/alerts/alert/create/", {"broker": "GAIA", "query_id": query.pk,
                                                          "alerts": ["Gaia22cxt"]})
    assert response.status_code == 302
    target = Target.objects.get(name="Gaia22cxt")
    assert (target.ra, target.dec) == (pytest.approx(251.49401), pytest.approx(63.50304))
    assert TargetExtra.objects.get(target=target, key="GAIA").value == "Gaia22cxt"
    assert TargetName.objects.filter(target=target, name="AT2022owc").exists()
    # its lightcurve is not among the recordings: the update failed cleanly, nothing stored
    assert PhotometryReducedDatum.objects.filter(target=target).count() == 0
