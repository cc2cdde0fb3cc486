"""Permission matrix of the update button, the status panel, the data endpoint and TOM's "Check for new data".

TOM Toolkit's ``Raise403Middleware`` turns a 403 on any non-API page into a
redirect to the login page with an error message; the data endpoint lives
under /api/ and answers a plain 403.
"""
from __future__ import annotations

import pytest
from django.urls import reverse
from tom_dataproducts.models import PhotometryReducedDatum

from bhtom_base.models import LightcurveUpdateState, UpdateStatus

pytestmark = pytest.mark.django_db

GAIA14AAA_POINTS = 28  # rows of tests/fixtures/gaia_alerts/Gaia14aaa.csv with a magnitude (see the e2e test)


def client_for(client, user):
    if user is not None:
        client.force_login(user)
    return client


def forbidden(response) -> bool:
    """TOM's way of saying 403 on a browser page: a redirect to the login page."""
    return response.status_code == 403 or (
        response.status_code == 302 and response.url.startswith(reverse("login")))


@pytest.mark.parametrize("who", ["anonymous", "outsider", "viewer", "plain_staff"])
def test_update_button_is_refused_and_queues_nothing(client, users, gaia_target, replay, who):
    response = client_for(client, users[who]).post(
        reverse("bhtom_base:update-lightcurves", kwargs={"pk": gaia_target.pk}))
    assert forbidden(response)
    assert not LightcurveUpdateState.objects.exists()
    assert not PhotometryReducedDatum.objects.exists()
    assert replay.requests == []


@pytest.mark.parametrize("who", ["member", "staff"])
def test_update_button_queues_one_task_per_source_and_the_immediate_backend_runs_it(
        client, users, gaia_target, replay, who, django_capture_on_commit_callbacks):
    # django-tasks enqueues on commit; the test's transaction never commits, so run the callbacks.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client_for(client, users[who]).post(
            reverse("bhtom_base:update-lightcurves", kwargs={"pk": gaia_target.pk}))
    assert len(callbacks) == 1  # one source installed (GAIA): one task
    assert response.status_code == 302
    assert response.url == reverse("targets:detail", kwargs={"pk": gaia_target.pk})  # the top: heading and message
    state = LightcurveUpdateState.objects.get(target=gaia_target, source="GAIA")
    assert state.status == UpdateStatus.DONE and state.new_points == GAIA14AAA_POINTS
    assert PhotometryReducedDatum.objects.filter(target=gaia_target).count() == GAIA14AAA_POINTS


@pytest.mark.parametrize("who", ["anonymous", "outsider", "viewer", "member", "staff"])
def test_get_on_the_update_url_changes_nothing(client, users, gaia_target, replay, who):
    response = client_for(client, users[who]).get(
        reverse("bhtom_base:update-lightcurves", kwargs={"pk": gaia_target.pk}))
    assert response.status_code == 405
    assert not LightcurveUpdateState.objects.exists()


def test_update_button_needs_the_csrf_token(users, gaia_target, replay):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(users["member"])
    url = reverse("bhtom_base:update-lightcurves", kwargs={"pk": gaia_target.pk})
    assert forbidden(client.post(url))
    assert not LightcurveUpdateState.objects.exists()
    page = client.get(reverse("targets:detail", kwargs={"pk": gaia_target.pk})).content.decode()
    token = page.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    assert client.post(url, {"csrfmiddlewaretoken": token}).url == reverse("targets:detail",
                                                                          kwargs={"pk": gaia_target.pk})
    assert LightcurveUpdateState.objects.get(source="GAIA").status == UpdateStatus.QUEUED


@pytest.mark.parametrize("who,allowed", [("anonymous", False), ("outsider", False), ("viewer", True),
                                         ("member", True), ("staff", True)])
def test_status_panel(client, users, gaia_target, who, allowed):
    LightcurveUpdateState.objects.create(target=gaia_target, source="GAIA", status=UpdateStatus.QUEUED)
    response = client_for(client, users[who]).get(
        reverse("bhtom_base:update-status", kwargs={"pk": gaia_target.pk}))
    if not allowed:
        assert forbidden(response)
        return
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-source="GAIA" data-status="queued"' in html
    assert 'hx-trigger="every 2s"' in html  # polls while anything is queued


def test_status_panel_stops_polling_and_shows_errors_when_finished(client, users, gaia_target):
    LightcurveUpdateState.objects.create(target=gaia_target, source="GAIA", status=UpdateStatus.FAILED,
                                         last_error="HTTP 500 from gsaweb")
    response = client_for(client, users["viewer"]).get(
        reverse("bhtom_base:update-status", kwargs={"pk": gaia_target.pk}), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "hx-trigger" not in html and "HTTP 500 from gsaweb" in html and "failed" in html
    assert response["HX-Trigger"] == "bhtom-lightcurve-finished"


def test_status_panel_lists_a_source_never_run(client, users, gaia_target):
    html = client_for(client, users["viewer"]).get(
        reverse("bhtom_base:update-status", kwargs={"pk": gaia_target.pk})).content.decode()
    assert 'data-source="GAIA" data-status="never_run"' in html and "never run" in html


@pytest.mark.parametrize("who,status", [("anonymous", 403), ("outsider", 403), ("plain_staff", 403),
                                        ("viewer", 200),
                                        ("member", 200), ("staff", 200)])
def test_data_endpoint(client, users, gaia_target, who, status):
    response = client_for(client, users[who]).get(
        reverse("bhtom_base:lightcurve-data", kwargs={"pk": gaia_target.pk}))
    assert response.status_code == status
    if status == 200:
        assert response.json()["target"] == "Gaia14aaa"


def test_data_endpoint_of_an_unknown_target_is_404(client, users):
    client.force_login(users["staff"])
    assert client.get(reverse("bhtom_base:lightcurve-data", kwargs={"pk": 999999})).status_code == 404


def test_open_target_data_is_readable_by_anonymous_unless_the_site_is_locked(client, gaia_target, settings):
    gaia_target.permissions = gaia_target.Permissions.OPEN
    gaia_target.save()
    url = reverse("bhtom_base:lightcurve-data", kwargs={"pk": gaia_target.pk})
    assert client.get(url).status_code == 200
    settings.AUTH_STRATEGY = "LOCKED"
    assert client.get(url).status_code == 403


# -- TOM's "Check for new data" URL -------------------------------------------------------------

def check_url(target) -> str:
    return reverse("dataproducts:update-reduced-data") + f"?target_id={target.pk}"


@pytest.mark.parametrize("who", ["anonymous", "outsider", "viewer", "member", "staff"])
def test_check_for_new_data_get_never_changes_anything(client, users, gaia_target, replay, who):
    response = client_for(client, users[who]).get(check_url(gaia_target))
    if who == "anonymous":
        assert response.status_code == 302 and "login" in response.url
    elif who == "outsider":
        assert forbidden(response)
    else:
        assert response.status_code == 200
        assert (b'name="target_id"' in response.content) == (who in ("member", "staff"))
    assert not LightcurveUpdateState.objects.exists()
    assert replay.requests == []


@pytest.mark.parametrize("who,allowed", [("anonymous", False), ("outsider", False), ("viewer", False),
                                         ("member", True), ("staff", True)])
def test_check_for_new_data_post(client, users, gaia_target, replay, who, allowed,
                                 django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(client, users[who]).post(
            reverse("dataproducts:update-reduced-data"), {"target_id": gaia_target.pk})
    if not allowed:
        assert forbidden(response)
        assert not LightcurveUpdateState.objects.exists()
        return
    assert response.status_code == 302
    assert LightcurveUpdateState.objects.get(target=gaia_target, source="GAIA").new_points == GAIA14AAA_POINTS


def test_check_for_new_data_without_a_target_is_404_not_500(client, users):
    client.force_login(users["staff"])
    assert client.get(reverse("dataproducts:update-reduced-data")).status_code == 404
    assert client.get(reverse("dataproducts:update-reduced-data") + "?target_id=abc").status_code == 404


def test_pressing_twice_queues_once(client, users, gaia_target, settings, django_capture_on_commit_callbacks):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}  # a worker would run it
    client.force_login(users["member"])
    url = reverse("bhtom_base:update-lightcurves", kwargs={"pk": gaia_target.pk})
    with django_capture_on_commit_callbacks(execute=True) as first:
        client.post(url)
    with django_capture_on_commit_callbacks(execute=True) as second:
        response = client.post(url, follow=True)
    assert len(first) == 1 and len(second) == 0
    assert "Every source of Gaia14aaa is already queued or running." in response.content.decode()
    assert LightcurveUpdateState.objects.get(target=gaia_target, source="GAIA").status == UpdateStatus.QUEUED
