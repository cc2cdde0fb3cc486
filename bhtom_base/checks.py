"""``manage.py check``: every misconfiguration of the survey brokers in one line each."""
from __future__ import annotations

import os
import re

from django.apps import apps
from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.urls import NoReverseMatch, reverse
from django.utils.module_loading import import_string

from . import conf

BASE_URL = re.compile(r"https?://[A-Za-z0-9.\-\[\]:]+(/[^\s?#]*)?")
DATABASE_TASKS_BACKEND = "django_tasks.backends.database.DatabaseBackend"
URLS_LINE = 'path("", include("bhtom_base.urls", namespace="bhtom_base"))'
ALERTS_URLS_LINE = 'path("alerts/", include("tom_alerts.urls", namespace="alerts"))'


@register()
def check_required_apps(app_configs=None, **kwargs) -> list:
    if apps.is_installed("tom_alerts"):
        return []
    return [Error("bhtom_base needs TOM Toolkit's tom_alerts: INSTALLED_APPS += ['tom_alerts', 'bhtom_base', 'bhtom2']",
                  id="bhtom_base.E001")]


@register()
def check_broker_classes(app_configs=None, **kwargs) -> list:
    errors = []
    for path in getattr(settings, "TOM_ALERT_CLASSES", []):
        try:
            import_string(path)
        except Exception as error:  # any import failure makes every broker page fail
            errors.append(Error(f"TOM_ALERT_CLASSES: {path!r} cannot be imported ({type(error).__name__}: "
                                f"{str(error).splitlines()[0] if str(error) else ''})", id="bhtom_base.E002"))
    return errors


@register()
def check_tasks_backend(app_configs=None, **kwargs) -> list:
    """django-tasks' database backend needs row locks (SELECT ... FOR UPDATE SKIP LOCKED) that SQLite lacks."""
    errors = []
    for alias, options in (getattr(settings, "TASKS", {}) or {}).items():
        if options.get("BACKEND") != DATABASE_TASKS_BACKEND:
            continue
        database = (options.get("OPTIONS") or {}).get("database", "default")
        if database in connections and connections[database].vendor == "sqlite":
            errors.append(Error(
                f"TASKS[{alias!r}] uses django-tasks' DatabaseBackend on SQLite, which cannot share a queue "
                "between workers: use PostgreSQL (DATABASE_URL=postgres://...) or the ImmediateBackend",
                id="bhtom_base.E003"))
    return errors


@register()
def check_environment_values(app_configs=None, **kwargs) -> list:
    errors = []
    for name, spec in conf.SETTINGS.items():
        if spec.env and spec.env in os.environ and not hasattr(settings, name):
            try:
                conf.setting(name)
            except ImproperlyConfigured as error:
                errors.append(Error(str(error), id="bhtom_base.E004"))
    from .http import DEFAULTS

    for key, default in DEFAULTS.items():
        try:
            conf.http_option(key, default)
        except ImproperlyConfigured as error:
            errors.append(Error(str(error), id="bhtom_base.E004"))
    try:
        urls = conf.survey_urls()
    except Exception:
        urls = {}  # bhtom_base.E002 says which broker class does not import
    for name, url in urls.items():
        if not BASE_URL.fullmatch(url):
            errors.append(Error(f"the base URL of {name} ({conf.url_env_name(name)} or BHTOM_URLS) is not "
                                f"scheme://host[:port][/path]: {url[:80]!r}", id="bhtom_base.E004"))
    return errors


@register(Tags.urls)
def check_urls(app_configs=None, **kwargs) -> list:
    """The update button, status panel and plot data need bhtom_base's URLs; broker pages need tom_alerts'."""
    errors = []
    try:
        reverse("bhtom_base:update-lightcurves", kwargs={"pk": 1})
    except NoReverseMatch:
        errors.append(Error(f"bhtom_base's URLs are not mounted: add {URLS_LINE} to your urls.py "
                            "(tom_common.urls mounts it by itself)", id="bhtom_base.E005"))
    if apps.is_installed("tom_alerts"):
        try:
            reverse("alerts:list")
        except NoReverseMatch:
            errors.append(Error(f"the broker query pages are not mounted: add {ALERTS_URLS_LINE} to your urls.py "
                                "(tom_common.urls mounts it by itself)", id="bhtom_base.E006"))
    return errors


@register()
def check_credentials(app_configs=None, **kwargs) -> list:
    """A survey without its credentials is skipped as "not configured": a warning, not an error."""
    from .registry import broker_classes

    try:
        classes = broker_classes()
    except Exception:
        return []  # bhtom_base.E002 says which class
    warnings = []
    for name, cls in classes.items():
        try:
            problem = cls().configuration_problem()
        except ImproperlyConfigured as error:
            problem = str(error)
        if problem:
            warnings.append(Warning(f"{name}: {problem}; its updates end as 'not configured'", id="bhtom_base.W001"))
    return warnings
