"""The admin follows per-target permissions (guardian), like the update button; dead work can be taken back."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import assign_perm
from tom_dataproducts.models import PhotometryReducedDatum
from tom_targets.models import Target

from bhtom_base.models import LightcurveUpdateState, UpdateStatus

pytestmark = pytest.mark.django_db

TARGET_ADMIN = f"admin:{Target._meta.app_label}_{Target._meta.model_name}"
STATE_ADMIN = "admin:bhtom_base_lightcurveupdatestate"
GLOBAL_PERMISSIONS = [("tom_targets", "change_target"), ("tom_targets", "change_basetarget"),
                      ("tom_targets", "view_basetarget"),
                      ("bhtom_base", "view_lightcurveupdatestate"), ("bhtom_base", "change_lightcurveupdatestate"),
                      ("tom_dataproducts", "view_photometryreduceddatum")]


@pytest.fixture
def tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    from django_tasks import default_task_backend

    default_task_backend.clear()
    return default_task_backend


@pytest.fixture
def global_staff(users, client):
    """Staff with the global "change target" permission and none on the private target."""
    user = users["plain_staff"]
    for app, codename in GLOBAL_PERMISSIONS:
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app, codename=codename))
    client.force_login(user)
    return client


@pytest.fixture
def own_target(users):
    target = Target.objects.create(name="Mine", type="SIDEREAL", ra=1, dec=2, permissions=Target.Permissions.PRIVATE)
    for permission in ("view_target", "change_target"):
        assign_perm(f"tom_targets.{permission}", users["plain_staff"], target)
    return target


def test_staff_cannot_queue_a_private_target_they_cannot_view(global_staff, gaia_target, own_target, tasks,
                                                            django_capture_on_commit_callbacks):
    public = Target.objects.create(name="Public", type="SIDEREAL", ra=3, dec=4, permissions=Target.Permissions.PUBLIC)
    with django_capture_on_commit_callbacks(execute=True):
        response = global_staff.post(reverse(TARGET_ADMIN + "_changelist"), {
            "action": "update_lightcurves", ACTION_CHECKBOX_NAME: [gaia_target.pk, own_target.pk, public.pk]},
            follow=True)
    assert response.status_code == 200
    assert [r.args[0] for r in tasks.results] == [own_target.pk]
    assert not LightcurveUpdateState.objects.filter(target__in=[gaia_target, public]).exists()
    # the public target is listed (viewable) but not theirs to change; the private one is not even listed
    assert ("Queued 1 update (1 targets x 1 sources). 1 selected target left out: you may not change it."
            in response.content.decode())


def test_target_admin_lists_and_opens_only_viewable_targets(global_staff, gaia_target, own_target):
    listed = global_staff.get(reverse(TARGET_ADMIN + "_changelist")).context["cl"].result_list
    assert [t.name for t in listed] == ["Mine"]
    response = global_staff.get(reverse(TARGET_ADMIN + "_change", args=[gaia_target.pk]))
    assert response.status_code == 302  # Django's "does not exist" redirect to the admin index
    assert response.url == reverse("admin:index")


def test_update_state_admin_hides_other_users_targets_and_their_errors(global_staff, gaia_target, own_target,
                                                                       tasks, django_capture_on_commit_callbacks):
    hidden = LightcurveUpdateState.objects.create(target=gaia_target, source="GAIA", status=UpdateStatus.FAILED,
                                                  last_error="HTTP 503 from a private target's survey")
    mine = LightcurveUpdateState.objects.create(target=own_target, source="GAIA", status=UpdateStatus.FAILED,
                                                last_error="HTTP 500 mine")
    html = global_staff.get(reverse(STATE_ADMIN + "_changelist")).content.decode()
    assert "HTTP 500 mine" in html and "private target" not in html
    assert global_staff.get(reverse(STATE_ADMIN + "_change", args=[hidden.pk])).status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        global_staff.post(reverse(STATE_ADMIN + "_changelist"),
                          {"action": "update_now", ACTION_CHECKBOX_NAME: [hidden.pk, mine.pk]})
    assert [r.args[0] for r in tasks.results] == [own_target.pk]
    hidden.refresh_from_db()
    assert hidden.status == UpdateStatus.FAILED


def test_photometry_admin_lists_only_viewable_targets(global_staff, gaia_target, own_target):
    now = timezone.now()
    for target in (gaia_target, own_target):
        PhotometryReducedDatum.objects.create(target=target, timestamp=now, source_name="GAIA", bandpass="G",
                                              brightness=15.0, brightness_error=0.1)
    listed = global_staff.get(reverse("admin:tom_dataproducts_photometryreduceddatum_changelist"))
    assert [p.target.name for p in listed.context["cl"].result_list] == ["Mine"]


def test_a_person_can_mark_a_dead_run_as_failed(global_staff, gaia_target, own_target):
    started = timezone.now() - timedelta(minutes=12)
    dead = LightcurveUpdateState.objects.create(target=own_target, source="GAIA", status=UpdateStatus.RUNNING,
                                                last_attempt=started, running_until=started + timedelta(minutes=30))
    other = LightcurveUpdateState.objects.create(target=gaia_target, source="GAIA", status=UpdateStatus.RUNNING,
                                                 last_attempt=started, running_until=started + timedelta(minutes=30))
    html = global_staff.get(reverse(STATE_ADMIN + "_changelist")).content.decode()
    assert "running for 12 min" in html
    response = global_staff.post(reverse(STATE_ADMIN + "_changelist"),
                                 {"action": "mark_failed", ACTION_CHECKBOX_NAME: [dead.pk, other.pk]}, follow=True)
    assert "Marked 1 update as failed" in response.content.decode()
    dead.refresh_from_db()
    other.refresh_from_db()
    assert dead.status == UpdateStatus.FAILED and dead.running_until is None
    assert dead.last_error == "marked as failed by plain_staff" and dead.next_due <= timezone.now()
    assert other.status == UpdateStatus.RUNNING  # not theirs to change
