"""Credential values never appear in text that is stored or shown.

A survey may echo the request (token included) into its error message, and
that message goes to the update state, the status panel, the admin, the task
result and the command output. :func:`scrub_secrets` replaces every known
credential value (as sent, and URL-encoded) before any of them sees it.

A credential is a ``BHTOM_*`` setting (or ``SECRET_KEY``) whose name Django's
debug page hides (``SafeExceptionReporterFilter.hidden_settings``: API, AUTH,
TOKEN, KEY, SECRET, PASS, SIGNATURE, HTTP_COOKIE); the same rule keeps them off
the debug page, so a credential setting must be named accordingly, e.g.
``BHTOM_CPCS_DATA_ACCESS_TOKEN``.
"""
from __future__ import annotations

from urllib.parse import quote, quote_plus

from django.conf import settings
from django.views.debug import SafeExceptionReporterFilter

HIDDEN = "[hidden]"
MIN_LENGTH = 4  # shorter values would blank out ordinary words


def _settings_accessor():
    """``bhtom_base.conf`` (setting -> environment variable -> default) where the app has it."""
    try:
        from . import conf
    except ImportError:  # a site where every BHTOM_* setting lives in settings.py
        return None
    return conf


def credential_setting_names() -> list[str]:
    pattern = SafeExceptionReporterFilter.hidden_settings
    names = {name for name in dir(settings) if name.isupper() and (name.startswith("BHTOM_") or name == "SECRET_KEY")}
    conf = _settings_accessor()
    if conf is not None:  # credentials that come only from the environment are known here
        names.update(getattr(conf, "SETTINGS", {}))
    return sorted(name for name in names if pattern.search(name))


def _value(name: str) -> object:
    conf = _settings_accessor()
    if conf is not None and name in getattr(conf, "SETTINGS", {}):
        return conf.setting(name)
    return getattr(settings, name, "")


def known_credentials() -> list[str]:
    """Every credential value and its URL-encoded forms, longest first."""
    values: set[str] = set()
    for name in credential_setting_names():
        value = _value(name)
        if isinstance(value, str) and len(value.strip()) >= MIN_LENGTH:
            values.update({value, value.strip(), quote(value, safe=""), quote_plus(value)})
    return sorted(values, key=len, reverse=True)


def scrub_secrets(text: str) -> str:
    """``text`` with every known credential value replaced by ``[hidden]``."""
    if not text:
        return text
    for value in known_credentials():
        text = text.replace(value, HIDDEN)
    return text
