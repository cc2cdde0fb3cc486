"""Every ``BHTOM_*`` setting with its default, so a host site needs none of them.

A value comes from the host's ``settings.py`` when it sets it, else from the
environment variable documented in README.md, else from the default here.
The apps read settings only through :func:`setting`, :func:`http_option` and
:func:`survey_url`, so ``BHTOM_URL_GAIA=...`` works in any TOM without its
``settings.py`` knowing about it.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def comma_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def stripped(value: str) -> str:
    return value.strip()


@dataclass(frozen=True)
class Setting:
    """One setting: the environment variable that may set it, its default, and how to read the variable."""

    env: str | None
    default: Any
    convert: Callable[[str], Any] = stripped


SETTINGS: dict[str, Setting] = {
    # The data source registry the survey-agnostic pages and commands use.
    "BHTOM_DATA_SOURCE_REGISTRY": Setting(None, "bhtom2.data_sources.DataSource"),
    # Per-source base URLs ({"GAIA": "http://..."}); BHTOM_URL_<NAME> per source (see survey_url).
    "BHTOM_URLS": Setting(None, {}),
    "BHTOM_ZTF_DATA_RELEASE": Setting("BHTOM_ZTF_DATA_RELEASE", "dr24"),
    # Credentials: only ever from the environment in production; never logged.
    "BHTOM_ATLAS_TOKEN": Setting("ATLAS_TOKEN", ""),
    "BHTOM_TNS_API_KEY": Setting("TNS_API_KEY", ""),
    "BHTOM_TNS_BOT_ID": Setting("TNS_BOT_ID", ""),
    "BHTOM_TNS_BOT_NAME": Setting("TNS_BOT_NAME", ""),
    "BHTOM_CPCS_DATA_ACCESS_TOKEN": Setting("CPCS_DATA_ACCESS_HASHTAG", ""),  # sent as the "hashtag" cookie
    "BHTOM_ATLAS_POLL_INTERVAL": Setting("BHTOM_ATLAS_POLL_INTERVAL", 10.0, float),
    "BHTOM_ATLAS_MAX_WAIT": Setting("BHTOM_ATLAS_MAX_WAIT", 600.0, float),
    "BHTOM_AAVSO_OBS_TYPES": Setting("BHTOM_AAVSO_OBS_TYPES", ["CCD", "DSLR"], comma_list),
    "BHTOM_AAVSO_BANDS": Setting(
        "BHTOM_AAVSO_BANDS", ["U", "B", "V", "R", "I", "SU", "SG", "SR", "SI", "SZ"], comma_list
    ),
    "BHTOM_AAVSO_MISSING_UNCERTAINTY": Setting("BHTOM_AAVSO_MISSING_UNCERTAINTY", ""),
    "BHTOM_RUNNING_LEASE_SECONDS": Setting("BHTOM_RUNNING_LEASE_SECONDS", 1800, int),
    "BHTOM_QUEUED_LEASE_SECONDS": Setting("BHTOM_QUEUED_LEASE_SECONDS", 6 * 3600, int),
    # Settings without a variable (dicts and lists a site writes in settings.py).
    "BHTOM_CROSS_MATCH_MAX_SEPARATION": Setting(None, {}),
    "BHTOM_POLITENESS": Setting(None, {}),
    "BHTOM_OGLE_EWS_SEASONS": Setting(None, None),
    "BHTOM_HTTP": Setting(None, {}),
}

# BHTOM_HTTP keys whose variable is not BHTOM_HTTP_<KEY>.
HTTP_ENV_NAMES = {"backoff_factor": "BHTOM_HTTP_BACKOFF"}


def _from_environment(variable: str, convert: Callable[[str], Any]) -> Any:
    raw = os.environ[variable]
    try:
        return convert(raw)
    except (TypeError, ValueError):
        raise ImproperlyConfigured(f"{variable}={raw[:40]!r} is not a valid value ({convert.__name__})") from None


def setting(name: str) -> Any:
    """The value of ``name``: settings.py, else its environment variable, else its default."""
    spec = SETTINGS[name]
    if hasattr(settings, name):
        return getattr(settings, name)
    if spec.env and spec.env in os.environ:
        return _from_environment(spec.env, spec.convert)
    default = spec.default
    return default.copy() if isinstance(default, dict | list) else default


def http_env_name(key: str) -> str:
    return HTTP_ENV_NAMES.get(key, f"BHTOM_HTTP_{key.upper()}")


def http_option(key: str, default: Any) -> Any:
    """One HTTP client option: ``BHTOM_HTTP[key]``, else ``BHTOM_HTTP_<KEY>``, else ``default``."""
    configured = setting("BHTOM_HTTP")
    if key in configured:
        return configured[key]
    variable = http_env_name(key)
    if variable in os.environ:
        return _from_environment(variable, type(default) if isinstance(default, int | float) else stripped)
    return default


def url_env_name(source_name: str) -> str:
    return f"BHTOM_URL_{source_name}"


def survey_url(source_name: str) -> str | None:
    """A survey's base URL: ``BHTOM_URLS[name]``, else ``BHTOM_URL_<NAME>``, else the real service."""
    configured = setting("BHTOM_URLS")
    url = configured.get(source_name) or os.environ.get(url_env_name(source_name)) or default_url(source_name)
    return url.strip().rstrip("/") if url else None


def default_url(source_name: str) -> str | None:
    """The real service's base URL, as the data source registry declares it."""
    from django.utils.module_loading import import_string

    from .registry import broker_classes

    registry = import_string(setting("BHTOM_DATA_SOURCE_REGISTRY"))
    source = next((member for member in registry if member.name == source_name), None)
    if source is None and source_name in (classes := broker_classes()):
        source = classes[source_name].data_source
    return getattr(source, "default_url", None)


def survey_urls() -> dict[str, str]:
    """Base URL of every source this site knows (registry and ``BHTOM_URLS``)."""
    from .sources import data_sources

    names = list(data_sources()) + [name for name in setting("BHTOM_URLS") if name]
    return {name: url for name in dict.fromkeys(names) if (url := survey_url(name))}
