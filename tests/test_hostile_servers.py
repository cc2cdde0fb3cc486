"""The HTTP client against hostile servers: cross-host redirects, endless throttling, dripping bodies."""
from __future__ import annotations

import queue
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bhtom_base import http
from bhtom_base.errors import CircuitOpen, FetchError
from bhtom_base.http import HttpClient
from bhtom_base.replay import ReplayServer
from tests.conftest import FIXTURES

GAIA_PATH = "/alerts/alert/Gaia14aaa/lightcurve.csv"
CPCS_PATH = "/followup/get_alert_lc_data"
SECRET = "api-key-0f9e8d"


class HostileServer:
    """A server on 127.0.0.1 that records every request and answers with ``answer(handler)``."""

    def __init__(self, answer) -> None:
        self.seen: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                server.seen.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                                    "body": body.decode("latin-1")})
                answer(self)

            do_GET = do_POST = _handle

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def send(handler, status: int, body: bytes = b"ok\n", **headers: str) -> None:
    handler.send_response(status)
    for key, value in headers.items():
        handler.send_header(key.replace("_", "-"), value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


@pytest.fixture
def elsewhere():
    """The other host a redirect points to: it records what it receives."""
    server = HostileServer(lambda handler: send(handler, 200, b"elsewhere\n"))
    yield server
    server.stop()


def redirecting_to(target: str, status: int):
    def answer(handler) -> None:
        if handler.path.startswith("/here"):
            return send(handler, 200, b"same host\n")
        location = target if handler.path.startswith("/away") else "/here"
        send(handler, status, b"", Location=location)
    server = HostileServer(answer)
    return server


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_post_is_never_redirected_to_another_host(status, elsewhere, settings):
    origin = redirecting_to(elsewhere.url + "/api/get/object", status)
    try:
        with pytest.raises(FetchError, match=r"refused to follow a POST redirect to another host"):
            HttpClient().post(origin.url + "/away", data={"api_key": SECRET, "data": "{}"},
                              headers={"Cookie": f"hashtag={SECRET}", "Authorization": f"Token {SECRET}"})
    finally:
        origin.stop()
    assert elsewhere.seen == []  # nothing at all reached the other host


def test_a_get_redirected_to_another_host_carries_no_credentials(elsewhere):
    origin = redirecting_to(elsewhere.url + "/file.csv", 302)
    try:
        fetched = HttpClient().get(origin.url + "/away",
                                   headers={"Cookie": f"hashtag={SECRET}", "Authorization": f"Token {SECRET}"})
    finally:
        origin.stop()
    assert fetched.content == b"elsewhere\n"
    assert len(elsewhere.seen) == 1
    request = elsewhere.seen[0]
    assert SECRET not in str(request)
    assert "Cookie" not in request["headers"] and "Authorization" not in request["headers"]


def test_a_redirect_within_the_host_keeps_the_post_and_its_credentials():
    origin = redirecting_to("", 307)
    try:
        fetched = HttpClient().post(origin.url + "/there", data={"api_key": SECRET},
                                    headers={"Cookie": f"hashtag={SECRET}"})
    finally:
        origin.stop()
    assert fetched.content == b"same host\n"
    assert [r["method"] for r in origin.seen] == ["POST", "POST"]
    assert origin.seen[1]["body"] == f"api_key={SECRET}" and origin.seen[1]["headers"]["Cookie"] == f"hashtag={SECRET}"


def test_same_origin_rule():
    assert http.same_origin("http://a.org/x", "http://a.org:80/y")
    assert http.same_origin("http://a.org/x", "https://a.org/y")  # an upgrade to https
    assert not http.same_origin("https://a.org/x", "http://a.org/y")  # never a downgrade
    assert not http.same_origin("https://a.org/x", "https://b.a.org/y")
    assert not http.same_origin("http://127.0.0.1:8000/x", "http://127.0.0.1:8001/y")


def test_a_host_asking_for_a_long_wait_is_paused_not_waited_for(replay, settings):
    settings.BHTOM_HTTP = {**settings.BHTOM_HTTP, "max_retry_after": 5.0, "retries": 3}
    replay.inject(path=GAIA_PATH, status=429, retry_after=10**9)
    client = HttpClient()
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"HTTP 429, asked us to wait \d+ s; paused for 3600 s"):
        client.get(replay.url + GAIA_PATH)
    with pytest.raises(CircuitOpen, match=r"asked us to wait \d+ s \(HTTP 429\); skipped for 3600 s more"):
        client.get(replay.url + GAIA_PATH)
    assert time.monotonic() - started < 1.0  # no sleeping in the worker
    assert len(replay.requests_to(GAIA_PATH)) == 1  # the second request never left


def test_one_throttling_host_does_not_stall_the_healthy_ones(replay, settings):
    """10 requests to a host answering 429 + Retry-After 1e9, 8 to a healthy host (0.2 s each), 4 workers."""
    settings.BHTOM_HTTP = {**settings.BHTOM_HTTP, "max_retry_after": 5.0, "retries": 2}
    settings.BHTOM_POLITENESS = {"default": {"max_concurrent": 4, "requests_per_second": 100}}
    healthy = ReplayServer(FIXTURES, latency=0.2).start()
    replay.inject(path=GAIA_PATH, status=429, retry_after=10**9)
    client = HttpClient()
    jobs: queue.SimpleQueue = queue.SimpleQueue()
    for i in range(10):  # interleaved as update_reduced_data does
        jobs.put(("throttled", replay.url + GAIA_PATH))
        if i < 8:
            jobs.put(("healthy", healthy.url + GAIA_PATH))
    finished: dict[str, list[float]] = {"throttled": [], "healthy": []}
    started = time.monotonic()

    def worker() -> None:
        while True:
            try:
                kind, url = jobs.get_nowait()
            except queue.Empty:
                return
            try:
                client.get(url)
            except FetchError:
                assert kind == "throttled"
            finished[kind].append(time.monotonic() - started)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        healthy.stop()
    assert len(finished["healthy"]) == 8 and len(finished["throttled"]) == 10
    # 8 healthy requests of 0.2 s on 4 workers: ~0.4 s when the throttled host holds no worker
    assert max(finished["healthy"]) < 1.5, finished
    # only the requests already under way when the host said "wait" reached it (at most its 4 slots)
    assert len(replay.requests_to(GAIA_PATH)) <= 4


def test_a_dripping_server_is_cut_off_at_the_total_deadline(settings):
    """One byte every 0.5 s (each well within the 3 s read timeout) for 40 bytes: 20 s without a deadline."""
    settings.BHTOM_HTTP = {**settings.BHTOM_HTTP, "total_timeout": 2.0, "retries": 0}

    def drip(handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "40")
        handler.end_headers()
        try:
            for _ in range(40):
                handler.wfile.write(b"x")
                handler.wfile.flush()
                time.sleep(0.5)
        except OSError:
            pass

    server = HostileServer(drip)
    started = time.monotonic()
    try:
        with pytest.raises(FetchError, match=r"no complete answer within 2 s \(total deadline\)"):
            HttpClient().get(server.url + "/slow.csv")
    finally:
        server.stop()
    assert 1.9 < time.monotonic() - started < 3.0


def test_the_default_total_deadline_is_well_under_the_running_lease():
    from bhtom_base.http import DEFAULTS
    from bhtom_base.update import running_lease

    assert DEFAULTS["total_timeout"] <= running_lease().total_seconds() / 4
