"""``manage.py check`` explains every misconfiguration of the plugin in one line each."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.checks import Error, Tags, run_checks
from django.db import connection
from django.urls import clear_url_caches, reverse

ROOT = Path(__file__).resolve().parent.parent


def bhtom_messages(tags=None) -> list[str]:
    return [f"{issue.id}: {issue.msg}" for issue in run_checks(tags=tags) if (issue.id or "").startswith("bhtom_base")
            and issue.id != "bhtom_base.W001"]


def test_the_test_site_is_clean():
    assert bhtom_messages() == []


def test_a_broker_class_that_does_not_import_is_one_error(settings):
    settings.TOM_ALERT_CLASSES = [*settings.TOM_ALERT_CLASSES, "bhtom2.brokers.gaia_dr4.GaiaDR4Broker",
                                  "bhtom2.brokers.gaia_alerts.NoSuchBroker"]
    assert bhtom_messages() == [
        "bhtom_base.E002: TOM_ALERT_CLASSES: 'bhtom2.brokers.gaia_dr4.GaiaDR4Broker' cannot be imported "
        "(ModuleNotFoundError: No module named 'bhtom2.brokers.gaia_dr4')",
        "bhtom_base.E002: TOM_ALERT_CLASSES: 'bhtom2.brokers.gaia_alerts.NoSuchBroker' cannot be imported "
        "(ImportError: Module \"bhtom2.brokers.gaia_alerts\" does not define a \"NoSuchBroker\" attribute/class)",
    ]


def test_the_database_task_backend_on_sqlite_is_an_error_pointing_to_postgresql(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.database.DatabaseBackend"}}
    messages = bhtom_messages()
    if connection.vendor == "sqlite":
        assert messages == ["bhtom_base.E003: TASKS['default'] uses django-tasks' DatabaseBackend on SQLite, which "
                            "cannot share a queue between workers: use PostgreSQL (DATABASE_URL=postgres://...) "
                            "or the ImmediateBackend"]
    else:
        assert messages == []


@pytest.fixture
def urls_without_tom_common(settings):
    settings.ROOT_URLCONF = "tests.sites.urls_without_tom_common"
    clear_url_caches()
    yield
    clear_url_caches()


def test_unmounted_urls_name_the_line_to_add(urls_without_tom_common):
    messages = bhtom_messages(tags=[Tags.urls])
    assert messages == [
        'bhtom_base.E005: bhtom_base\'s URLs are not mounted: add path("", include("bhtom_base.urls", '
        'namespace="bhtom_base")) to your urls.py (tom_common.urls mounts it by itself)',
        'bhtom_base.E006: the broker query pages are not mounted: add path("alerts/", include("tom_alerts.urls", '
        'namespace="alerts")) to your urls.py (tom_common.urls mounts it by itself)',
    ]


@pytest.mark.django_db
def test_with_tom_alerts_installed_the_home_and_broker_pages_work_without_editing_urls_py(client, django_user_model):
    """The issue's second symptom: "'alerts' is not a registered namespace" on the home page."""
    assert open(ROOT / "urls.py").read().count("include(") == 1  # only tom_common.urls
    client.force_login(django_user_model.objects.create_superuser("pi", "pi@example.org", "x"))
    assert client.get("/").status_code == 200
    listing = client.get(reverse("alerts:list"))
    assert listing.status_code == 200 and "broker=GAIA_DR3" in listing.content.decode()
    assert reverse("bhtom_base:update-lightcurves", kwargs={"pk": 1}) == "/bhtom/targets/1/lightcurve/update/"


def test_without_tom_alerts_check_says_what_to_add():
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.sites.settings_without_tom_alerts"}
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=environment,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert ("?: (bhtom_base.E001) bhtom_base needs TOM Toolkit's tom_alerts: "
            "INSTALLED_APPS += ['tom_alerts', 'bhtom_base', 'bhtom2']") in result.stderr, result.stderr


def test_the_survey_name_fields_come_from_the_app_not_settings_py(settings):
    from bhtom2.data_sources import SOURCE_NAMES

    assert not re.search(r"^EXTRA_FIELDS", (ROOT / "settings.py").read_text(), re.M)
    names = [field["name"] for field in settings.EXTRA_FIELDS]
    assert names == [*SOURCE_NAMES, "bhtom_brightness"]


def test_an_error_is_an_error():
    assert all(isinstance(issue, Error) for issue in run_checks() if (issue.id or "").startswith("bhtom_base.E"))
