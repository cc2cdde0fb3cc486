"""``update_reduced_data --quiet`` (the README's cron line): only the failures, one line each, no log lines."""
from __future__ import annotations

import io
import logging

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from tom_targets.models import Target, TargetExtra

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_gaia_targets():
    for name, ra, dec in [("Gaia14aaa", 200.25961, 45.53943), ("Gaia18dqq", 172.84329, 43.37736)]:
        target = Target.objects.create(name=name, type="SIDEREAL", ra=ra, dec=dec)
        TargetExtra.objects.create(target=target, key="GAIA", value=name)


def run(*args) -> str:
    out = io.StringIO()
    try:
        call_command("update_reduced_data", "--source", "GAIA", *args, stdout=out)
    except CommandError as error:
        out.write(f"CommandError: {error}\n")
    return out.getvalue()


def test_quiet_prints_one_line_per_failure_and_logs_nothing_below_error(two_gaia_targets, replay, caplog):
    caplog.set_level(logging.INFO, logger="bhtom")
    replay.inject(path="/alerts/alert/Gaia14aaa/", html=True)
    output = run("--quiet")
    assert output.splitlines() == [
        "Gaia14aaa GAIA: failed: an HTML page (503 Service Temporarily Unavailable) where a Gaia Alerts lightcurve "
        "was expected",
        "CommandError: 1 of 2 updates failed.",
    ]
    assert [record for record in caplog.records if record.name.startswith("bhtom")] == []
    assert logging.getLogger("bhtom").level == logging.INFO  # restored after the command


def test_quiet_prints_nothing_when_all_succeed(two_gaia_targets, replay, caplog):
    caplog.set_level(logging.INFO, logger="bhtom")
    assert run("--quiet") == ""


def test_without_quiet_every_pair_is_shown_and_logged(two_gaia_targets, replay, caplog):
    caplog.set_level(logging.INFO, logger="bhtom")
    output = run()
    assert "Gaia14aaa" in output and "Gaia18dqq" in output and "2 updates: 2 done" in output
    assert any(record.name == "bhtom.update" and record.levelno == logging.INFO for record in caplog.records)
