"""Web tests: users and a target: anonymous, outsider, viewer, member (may change), staff."""
from __future__ import annotations

import pytest
from guardian.shortcuts import assign_perm
from tom_targets.models import Target, TargetExtra

PASSWORD = "a-long-test-password-42"


@pytest.fixture
def gaia_target(db):
    target = Target.objects.create(name="Gaia14aaa", type="SIDEREAL", ra=200.25961, dec=45.53943,
                                   permissions=Target.Permissions.PRIVATE)
    TargetExtra.objects.create(target=target, key="GAIA", value="Gaia14aaa")
    return target


@pytest.fixture
def users(db, django_user_model, gaia_target):
    def make(name, **flags):
        return django_user_model.objects.create_user(name, f"{name}@example.org", PASSWORD, **flags)

    outsider = make("outsider")
    viewer = make("viewer")
    member = make("member")
    staff = make("staff", is_staff=True, is_superuser=True)
    plain_staff = make("plain_staff", is_staff=True)  # admin-site access, no permission on this target
    assign_perm("tom_targets.view_target", viewer, gaia_target)
    assign_perm("tom_targets.view_target", member, gaia_target)
    assign_perm("tom_targets.change_target", member, gaia_target)
    return {"anonymous": None, "outsider": outsider, "viewer": viewer, "member": member, "staff": staff,
            "plain_staff": plain_staff}


@pytest.fixture(autouse=True)
def gaia_alerts_only(settings):
    """The web tests count tasks and panel rows for one source: the site runs the Gaia Alerts broker only."""
    settings.TOM_ALERT_CLASSES = ["bhtom2.brokers.gaia_alerts.GaiaAlertsBroker"]
