"""Production settings pass Django's deployment checks; secrets come from the environment."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    environment.update(env)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=120)


PRODUCTION = {"DEBUG": "0", "HTTPS": "1", "ALLOWED_HOSTS": "tom.example.org",
              "SECRET_KEY": "k" * 20 + "-production-secret-from-the-environment-0123456789"}
CREDENTIALS = {"ATLAS_TOKEN": "atlas-token", "CPCS_DATA_ACCESS_HASHTAG": "cpcs-token",
               "TNS_API_KEY": "tns-key", "TNS_BOT_ID": "12345", "TNS_BOT_NAME": "bhtom_bot"}


def test_check_deploy_is_clean_with_the_documented_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION, **CREDENTIALS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_warns_once_per_survey_whose_credentials_are_missing():
    without_cpcs = {key: value for key, value in CREDENTIALS.items() if key != "CPCS_DATA_ACCESS_HASHTAG"}
    result = manage("check", **PRODUCTION, **without_cpcs)
    assert result.returncode == 0, result.stdout + result.stderr  # a warning, not an error
    warnings = [line for line in result.stderr.splitlines() if "bhtom_base.W001" in line]
    assert warnings == ["?: (bhtom_base.W001) CPCS: CPCS_DATA_ACCESS_HASHTAG is not set; "
                        "its updates end as 'not configured'"]


def test_production_refuses_to_start_without_a_secret_key():
    result = manage("check", DEBUG="0", SECRET_KEY="")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr
