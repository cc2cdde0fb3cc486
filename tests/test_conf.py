"""Every BHTOM_* setting has its default in the apps; every documented environment variable works
without the host's settings.py reading it (bhtom_base.conf)."""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from tom_dataproducts.models import PhotometryReducedDatum
from tom_targets.models import Target

from bhtom2.brokers.aavso import AAVSOBroker
from bhtom2.brokers.atlas import AtlasBroker
from bhtom2.brokers.cpcs import CPCSBroker
from bhtom2.brokers.tns import TNSBroker
from bhtom2.brokers.ztf_dr import ZTFDataReleaseBroker
from bhtom_base import conf
from bhtom_base.http import DEFAULTS, http_settings
from bhtom_base.survey_names import set_survey_name

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def forget(settings, *names: str) -> None:
    """As in a host site whose settings.py never mentions these settings."""
    for name in names:
        if hasattr(settings, name):
            delattr(settings, name)


# Variables that this repository's own settings.py (a site's choices) and scripts read.
SITE_VARIABLES = {"SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "HTTPS", "DATABASE_URL",
                  "TASKS_BACKEND", "AUTH_STRATEGY", "TOM_NAME", "SQLITE_PATH", "STATIC_ROOT", "MEDIA_ROOT",
                  "SECURE_HSTS_SECONDS", "LOG_LEVEL", "BHTOM_DEMO_MODE", "REPLAY_PORT"}


def test_every_variable_in_the_readme_is_read_by_the_apps_or_the_site():
    table = README.split("## Configuration", 1)[1].split("Settings without a variable", 1)[0]
    first_columns = [line.split("|")[1] for line in table.splitlines() if line.startswith("| `")]
    documented = {name for column in first_columns for name in re.findall(r"`([A-Z][A-Z0-9_<>]+)`", column)}
    read_by_the_apps = ({spec.env for spec in conf.SETTINGS.values() if spec.env}
                        | {conf.http_env_name(key) for key in DEFAULTS} | {"BHTOM_URL_<SOURCE>"})
    assert len(documented) > 20, "the README's configuration table was not found"
    assert documented - SITE_VARIABLES <= read_by_the_apps, documented - SITE_VARIABLES - read_by_the_apps


@pytest.mark.parametrize("setting, variable, raw, value, read", [
    ("BHTOM_ATLAS_TOKEN", "ATLAS_TOKEN", "atlas-secret", "atlas-secret", lambda: AtlasBroker().token),
    ("BHTOM_CPCS_DATA_ACCESS_TOKEN", "CPCS_DATA_ACCESS_HASHTAG", "cpcs-secret", "cpcs-secret",
     lambda: CPCSBroker.token()),
    ("BHTOM_TNS_BOT_ID", "TNS_BOT_ID", "123", "123", lambda: TNSBroker()._credentials()[1]),
    ("BHTOM_ZTF_DATA_RELEASE", "BHTOM_ZTF_DATA_RELEASE", "dr23", "dr23", lambda: ZTFDataReleaseBroker().release),
    ("BHTOM_ATLAS_MAX_WAIT", "BHTOM_ATLAS_MAX_WAIT", "42", 42.0, lambda: AtlasBroker().max_wait),
    ("BHTOM_AAVSO_BANDS", "BHTOM_AAVSO_BANDS", "V, B", ["V", "B"], lambda: conf.setting("BHTOM_AAVSO_BANDS")),
    ("BHTOM_RUNNING_LEASE_SECONDS", "BHTOM_RUNNING_LEASE_SECONDS", "60", 60,
     lambda: conf.setting("BHTOM_RUNNING_LEASE_SECONDS")),
])
def test_a_variable_works_without_settings_py_and_settings_py_wins(settings, monkeypatch, setting, variable, raw,
                                                                   value, read):
    forget(settings, setting)
    monkeypatch.delenv(variable, raising=False)
    assert read() == conf.SETTINGS[setting].default
    monkeypatch.setenv(variable, raw)
    assert read() == value
    setattr(settings, setting, conf.SETTINGS[setting].default)
    assert read() == conf.SETTINGS[setting].default


def test_http_options_from_the_environment_and_settings(settings, monkeypatch):
    forget(settings, "BHTOM_HTTP")
    monkeypatch.setenv("BHTOM_HTTP_READ_TIMEOUT", "7.5")
    monkeypatch.setenv("BHTOM_HTTP_BACKOFF", "0.25")
    options = http_settings()
    assert (options["read_timeout"], options["backoff_factor"], options["retries"]) == (7.5, 0.25, DEFAULTS["retries"])
    settings.BHTOM_HTTP = {"read_timeout": 3.0}
    assert http_settings()["read_timeout"] == 3.0


def test_the_real_services_are_the_default_urls_and_the_environment_overrides_them(settings, monkeypatch):
    forget(settings, "BHTOM_URLS")
    monkeypatch.delenv("BHTOM_URL_GAIA", raising=False)
    assert conf.survey_url("GAIA") == "https://gsaweb.ast.cam.ac.uk"
    assert conf.survey_url("ZTF_DR8") == "https://irsa.ipac.caltech.edu"
    monkeypatch.setenv("BHTOM_URL_GAIA", "http://127.0.0.1:8765/")
    assert conf.survey_url("GAIA") == "http://127.0.0.1:8765"
    assert AAVSOBroker().base_url == "https://www.aavso.org"


@pytest.mark.django_db
def test_an_update_uses_bhtom_url_gaia_from_the_environment_only(settings, monkeypatch, replay_server):
    """The issue's first symptom: 'no base URL configured for GAIA (BHTOM_URL_GAIA)' with the variable set."""
    forget(settings, "BHTOM_URLS")
    monkeypatch.setenv("BHTOM_URL_GAIA", replay_server.url)
    target = Target.objects.create(name="Gaia14aaa", type="SIDEREAL", ra=200.25961, dec=45.53943)
    set_survey_name(target, "GAIA", "Gaia14aaa")
    out = io.StringIO()
    call_command("update_reduced_data", "--source", "GAIA", stdout=out)
    assert PhotometryReducedDatum.objects.filter(target=target, source_name="GAIA").count() == 28, out.getvalue()


def test_an_invalid_variable_is_one_line_in_manage_py_check(settings, monkeypatch):
    from bhtom_base.checks import check_environment_values

    forget(settings, "BHTOM_ATLAS_MAX_WAIT", "BHTOM_HTTP")
    monkeypatch.setenv("BHTOM_ATLAS_MAX_WAIT", "ten minutes")
    monkeypatch.setenv("BHTOM_HTTP_RETRIES", "3.5")
    messages = sorted(error.msg for error in check_environment_values())
    assert messages == ["BHTOM_ATLAS_MAX_WAIT='ten minutes' is not a valid value (float)",
                        "BHTOM_HTTP_RETRIES='3.5' is not a valid value (int)"]


def test_a_base_url_that_is_not_one_is_one_line_in_manage_py_check(settings, monkeypatch):
    from bhtom_base.checks import check_environment_values

    forget(settings, "BHTOM_URLS")
    monkeypatch.setenv("BHTOM_URL_ZTF", "api.alerce.online")
    monkeypatch.setenv("BHTOM_URL_GAIA", "http://127.0.0.1:8765")
    assert [error.msg for error in check_environment_values()] == [
        "the base URL of ZTF (BHTOM_URL_ZTF or BHTOM_URLS) is not scheme://host[:port][/path]: 'api.alerce.online'"]
