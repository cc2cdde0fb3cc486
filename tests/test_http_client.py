"""The shared HTTP client against the replay server: retries, Retry-After, size cap, circuit breaker."""
from __future__ import annotations

import time

import pytest

from bhtom_base.errors import CircuitOpen, FetchError, ResponseTooLarge
from bhtom_base.http import HttpClient

PATH = "/alerts/alert/Gaia14aaa/lightcurve.csv"


@pytest.fixture
def client():
    return HttpClient()


def test_retries_a_transient_500_and_succeeds(replay, client):
    replay.inject(path=PATH, status=500, times=1)
    fetched = client.get(replay.url + PATH)
    assert fetched.status == 200 and fetched.content.startswith(b"Gaia14aaa")
    assert len(replay.requests_to(PATH)) == 2


def test_honours_a_retry_after_within_the_cap(replay, client, settings):
    settings.BHTOM_HTTP = {**settings.BHTOM_HTTP, "max_retry_after": 1.5}
    replay.inject(path=PATH, status=503, retry_after=1, times=1)
    started = time.monotonic()
    fetched = client.get(replay.url + PATH)
    waited = time.monotonic() - started
    assert fetched.status == 200
    # the server asked for 1 s, within the cap: the client waited for it
    assert 0.95 <= waited < 1.5
    # (a longer Retry-After is not waited for: tests/test_hostile_servers.py)


def test_429_then_success(replay, client):
    replay.inject(path=PATH, status=429, retry_after=0, times=2)
    assert client.get(replay.url + PATH).status == 200
    assert len(replay.requests_to(PATH)) == 3


def test_gives_up_with_a_clear_message(replay, client):
    replay.inject(path=PATH, status=502)
    with pytest.raises(FetchError, match=r"HTTP 502 Bad Gateway \(still, after 2 retries\)"):
        client.get(replay.url + PATH)
    assert len(replay.requests_to(PATH)) == 3


def test_404_is_not_retried(replay, client):
    with pytest.raises(FetchError, match="HTTP 404"):
        client.get(replay.url + "/alerts/alert/Gaia99zzz/lightcurve.csv")
    assert len(replay.requests_to("/alerts/alert/Gaia99zzz/")) == 1


def test_response_larger_than_the_limit_is_refused(replay, client):
    with pytest.raises(ResponseTooLarge, match="exceeds the limit of 100 bytes"):
        client.get(replay.url + PATH, max_bytes=100)


def test_circuit_breaker_skips_a_failing_host_and_says_so(replay, client, settings, closed_port_url):
    settings.BHTOM_HTTP = {**settings.BHTOM_HTTP, "breaker_failures": 2, "breaker_cooldown": 60, "retries": 0}
    for _ in range(2):
        with pytest.raises(FetchError, match="connection refused"):
            client.get(closed_port_url + PATH)
    with pytest.raises(CircuitOpen, match="failed repeatedly; skipped for"):
        client.get(closed_port_url + PATH)
    host = closed_port_url.removeprefix("http://")
    assert host in client.breaker.state()
    # other hosts are not affected
    assert client.get(replay.url + PATH).status == 200


def test_sends_a_clear_user_agent(replay, client, settings):
    settings.BHTOM_HTTP = {**settings.BHTOM_HTTP, "user_agent": "bhtom-test/1"}
    fetched = client.get(replay.url + PATH)
    assert fetched.status == 200
