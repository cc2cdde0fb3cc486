"""Broker query pages: no 500 without a broker, and lightcurve-only brokers say what they do."""
from __future__ import annotations

import pytest
from django.urls import reverse
from tom_alerts.models import BrokerQuery

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_brokers(settings):
    settings.TOM_ALERT_CLASSES = ["bhtom2.brokers.gaia_alerts.GaiaAlertsBroker",
                                  "bhtom2.brokers.gaia_dr3.GaiaDR3Broker"]


def test_create_without_a_broker_lists_the_brokers(client, users, two_brokers):
    client.force_login(users["viewer"])
    response = client.get("/alerts/query/create/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Choose the broker to query." in html
    assert 'href="/alerts/query/create/?broker=GAIA"' in html and "?broker=GAIA_DR3" in html


def test_unknown_broker_is_a_clear_400(client, users, two_brokers):
    client.force_login(users["viewer"])
    response = client.get("/alerts/query/create/", {"broker": "NOPE<script>"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "There is no broker named" in html and "<script>" not in html.split("There is no broker named")[1][:80]


def test_anonymous_is_sent_to_log_in(client, two_brokers):
    response = client.get("/alerts/query/create/")
    assert response.status_code == 302 and "/accounts/login/" in response.url


def test_lightcurve_only_broker_form_and_result_explain_themselves(client, users, two_brokers):
    client.force_login(users["viewer"])
    form = client.get("/alerts/query/create/", {"broker": "GAIA_DR3"}).content.decode()
    assert 'id="bhtom-no-alert-stream"' in form and "has no alert stream to search" in form
    assert 'name="query_name"' in form
    query = BrokerQuery.objects.create(name="dr3", broker="GAIA_DR3", parameters={"query_name": "dr3"})
    result = client.get(reverse("tom_alerts:run", kwargs={"pk": query.pk})).content.decode()
    assert "Gaia DR3 has no alert stream to search" in result and "Update lightcurves" in result


def test_gaia_alerts_keeps_its_own_search_form(client, users, two_brokers):
    client.force_login(users["viewer"])
    form = client.get("/alerts/query/create/", {"broker": "GAIA"}).content.decode()
    assert 'name="target_name"' in form and "bhtom-no-alert-stream" not in form
