"""The same check as ``manage.py check_surveys``, against the real services.

Marked ``remote_data`` (astropy's convention): skipped unless pytest is given
``--remote-data``; CI runs without it. Surveys that need credentials are
skipped when their environment variables are not set.
"""
from __future__ import annotations

import pytest

from bhtom2.brokers import ALL
from bhtom_base import conf
from bhtom_base.survey_check import NOT_CONFIGURED, OK, check_survey

pytestmark = [pytest.mark.remote_data, pytest.mark.django_db]
CREDENTIAL_SETTINGS = [name for name, spec in conf.SETTINGS.items()
                       if spec.env in ("ATLAS_TOKEN", "CPCS_DATA_ACCESS_HASHTAG", "TNS_API_KEY", "TNS_BOT_ID",
                                       "TNS_BOT_NAME")]


@pytest.fixture
def live_services(settings):
    """The site's defaults: real URLs, production timeouts, credentials from the environment."""
    for name in ["BHTOM_URLS", "BHTOM_HTTP", "BHTOM_ATLAS_POLL_INTERVAL", "BHTOM_ATLAS_MAX_WAIT",
                 *CREDENTIAL_SETTINGS]:
        if hasattr(settings, name):
            delattr(settings, name)


@pytest.mark.parametrize("path", ALL, ids=[path.rsplit(".", 1)[1] for path in ALL])
def test_the_live_survey_answers_as_recorded(live_services, path):
    from django.utils.module_loading import import_string

    check = check_survey(import_string(path)())
    if check.status == NOT_CONFIGURED:
        pytest.skip(check.detail)
    assert check.status == OK, check.line()  # OK: reachable, expected format, usable points
