"""The one HTTP client all brokers use.

Timeouts on connect and read, retries with exponential back-off and jitter on
connection errors, 429 and 5xx (honouring ``Retry-After`` up to a cap), a
clear User-Agent, a maximum response size, a per-host limit on simultaneous
requests and on requests per second, and a per-host circuit breaker.

Settings (``settings.BHTOM_HTTP``): ``connect_timeout``, ``read_timeout``,
``retries``, ``backoff_factor``, ``max_retry_after``, ``max_response_bytes``,
``user_agent``, ``breaker_failures``, ``breaker_cooldown``, ``total_timeout``,
``max_host_pause``.

``total_timeout`` bounds one request from its start to the last byte of the
body (a server dripping bytes slower than the read timeout is cut off); keep it
well under ``BHTOM_RUNNING_LEASE_SECONDS``. A host that answers 429/503 with a
``Retry-After`` longer than ``max_retry_after`` is not waited for in a worker:
the request fails at once and the host is paused for the time it asked (at
most ``max_host_pause``), so its later requests fail fast and free their workers.

Redirects are followed here, not by requests: within one host (scheme and
port may only upgrade http -> https) as usual; to another host only for
GET/HEAD and without the caller's headers, cookies or body, so a credential
never reaches a host it was not meant for. A POST redirected to another host
is refused.

Politeness (``settings.BHTOM_POLITENESS``) is configured per ``DataSource`` name
and enforced per host: ``{"GAIA_DR3": {"max_concurrent": 2,
"requests_per_second": 1}, "default": {...}}``. A source's limits apply to the
host of its base URL (``BHTOM_URLS``); sources that share a host share one
gate, with the strictest of their limits. A ``host[:port]`` key is accepted
too, for endpoints that are not a source's base URL. Unconfigured hosts get
``"default"``, else :data:`POLITENESS_DEFAULTS`. The limits hold per process:
N worker processes may together send N times as much.
"""
from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from . import conf
from .errors import CircuitOpen, FetchError, ResponseTooLarge

DEFAULTS = {
    "connect_timeout": 5.0,
    "read_timeout": 60.0,
    "retries": 3,
    "backoff_factor": 1.0,
    "max_retry_after": 60.0,
    "max_response_bytes": 200 * 1024 * 1024,
    "user_agent": "bhtom-survey-brokers/1.0 (TOM Toolkit plugin)",
    "breaker_failures": 5,
    "breaker_cooldown": 300.0,
    "total_timeout": 300.0,
    "max_host_pause": 3600.0,
}
MAX_REDIRECTS = 5
POLITENESS_DEFAULTS = {"max_concurrent": 4, "requests_per_second": 5.0}
POLITENESS_FIELDS = ("max_concurrent", "requests_per_second")


def politeness_for_host(host: str) -> dict[str, float]:
    """The limits of one host: from every source whose base URL is on it, or the host itself."""
    configured: dict = conf.setting("BHTOM_POLITENESS") or {}
    urls: dict = conf.survey_urls()
    limits = {**POLITENESS_DEFAULTS, **configured.get("default", {})}
    matched = [value for key, value in configured.items()
               if key == host or (key in urls and urlsplit(urls[key]).netloc == host)]
    for name in POLITENESS_FIELDS:
        values = [float(entry[name]) for entry in matched if name in entry]
        if values:
            limits[name] = min(values)
    return limits


def http_settings() -> dict:
    """Every client option: ``BHTOM_HTTP[key]``, else ``BHTOM_HTTP_<KEY>``, else :data:`DEFAULTS`."""
    return {**conf.setting("BHTOM_HTTP"), **{key: conf.http_option(key, value) for key, value in DEFAULTS.items()}}


@dataclass
class Fetched:
    """A successful HTTP response, fully read."""

    url: str
    status: int
    content: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


_request_local = threading.local()  # the statuses the current request's caller handles itself


class HostThrottled(Exception):
    """The host asked for a longer wait (``Retry-After``) than a worker may sleep."""

    def __init__(self, seconds: float, status: int) -> None:
        super().__init__(seconds, status)
        self.seconds = seconds
        self.status = status


class CappedRetry(Retry):
    """A ``Retry`` that sleeps at most ``max_retry_after`` for a Retry-After.

    A longer Retry-After raises :class:`HostThrottled` instead of sleeping: the
    worker is freed and the client pauses the host. Not when the caller accepts
    that status (ATLAS's queue handles its own 429s): then the capped wait applies.
    """

    max_retry_after: float = DEFAULTS["max_retry_after"]

    def sleep_for_retry(self, response=None) -> bool:  # type: ignore[override]
        wanted = super().get_retry_after(response) if response is not None else None
        accepted = getattr(_request_local, "accept_status", ())
        if wanted is not None and float(wanted) > self.max_retry_after and response.status not in accepted:
            raise HostThrottled(float(wanted), response.status)
        return super().sleep_for_retry(response)

    def get_retry_after(self, response):  # type: ignore[override]
        value = super().get_retry_after(response)
        if value is None:
            return None
        return min(float(value), self.max_retry_after)

    def new(self, **kw):  # keep the cap on the copies urllib3 makes per attempt
        retry = super().new(**kw)
        retry.max_retry_after = self.max_retry_after
        return retry


class HostGate:
    """Per-host politeness: at most N requests at once and R requests per second.

    Request starts are spaced at least ``1/R`` apart (reserved under a lock, so
    threads never start in a burst); the wait happens holding a slot.
    """

    def __init__(self, max_concurrent: int, requests_per_second: float) -> None:
        self.limits = (max(1, int(max_concurrent)), float(requests_per_second))
        self.semaphore = threading.BoundedSemaphore(max(1, int(max_concurrent)))
        self.interval = 1.0 / requests_per_second if requests_per_second > 0 else 0.0
        self._lock = threading.Lock()
        self._next_start = 0.0

    def __enter__(self) -> HostGate:
        self.semaphore.acquire()
        if self.interval:
            with self._lock:
                now = time.monotonic()
                start = max(now, self._next_start)
                self._next_start = start + self.interval
            if start > now:
                time.sleep(start - now)
        return self

    def __exit__(self, *exc) -> None:
        self.semaphore.release()


class CircuitBreaker:
    """Skip a host for ``cooldown`` seconds after ``failures`` failures in a row."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: dict[str, int] = {}
        self._open_until: dict[str, float] = {}
        self._reasons: dict[str, str] = {}

    def check(self, host: str) -> None:
        with self._lock:
            until = self._open_until.get(host, 0.0)
            reason = self._reasons.get(host, "failed repeatedly")
        if until > time.monotonic():
            raise CircuitOpen(f"{host} {reason}; skipped for {until - time.monotonic():.0f} s more")

    def pause(self, host: str, seconds: float, reason: str) -> None:
        """Skip the host for ``seconds`` (it asked us to wait), whatever its failure count."""
        with self._lock:
            until = time.monotonic() + seconds
            if until > self._open_until.get(host, 0.0):
                self._open_until[host] = until
                self._reasons[host] = reason

    def record(self, host: str, ok: bool) -> None:
        config = http_settings()
        with self._lock:
            if ok:
                self._failures.pop(host, None)
                self._open_until.pop(host, None)
                self._reasons.pop(host, None)
                return
            count = self._failures.get(host, 0) + 1
            self._failures[host] = count
            if count >= int(config["breaker_failures"]):
                self._open_until[host] = time.monotonic() + float(config["breaker_cooldown"])
                self._reasons[host] = "failed repeatedly"

    def state(self) -> dict[str, float]:
        """Hosts currently skipped, with the seconds left."""
        now = time.monotonic()
        with self._lock:
            return {host: until - now for host, until in self._open_until.items() if until > now}

    def reset(self) -> None:
        with self._lock:
            self._failures.clear()
            self._open_until.clear()
            self._reasons.clear()


class HttpClient:
    """Thread-safe; one instance per process is enough (see :func:`get_client`)."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._gates: dict[str, HostGate] = {}
        self._gates_lock = threading.Lock()
        self.breaker = CircuitBreaker()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        config = http_settings()
        key = (config["retries"], config["backoff_factor"], config["max_retry_after"])
        if session is None or getattr(self._local, "key", None) != key:
            retry = CappedRetry(
                total=int(config["retries"]),
                connect=int(config["retries"]),
                read=int(config["retries"]),
                status=int(config["retries"]),
                backoff_factor=float(config["backoff_factor"]),
                backoff_jitter=float(config["backoff_factor"]) / 2,
                status_forcelist=(429, 500, 502, 503, 504),
                allowed_methods=frozenset({"GET", "HEAD"}),
                respect_retry_after_header=True,
                raise_on_status=False,
            )
            retry.max_retry_after = float(config["max_retry_after"])
            session = requests.Session()
            adapter = HTTPAdapter(max_retries=retry, pool_maxsize=16)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.headers["User-Agent"] = config["user_agent"]
            self._local.session = session
            self._local.key = key
        return session

    def gate(self, host: str) -> HostGate:
        """The host's gate; a new one when its configured limits changed."""
        politeness = politeness_for_host(host)
        limits = (max(1, int(politeness["max_concurrent"])), float(politeness["requests_per_second"]))
        with self._gates_lock:
            gate = self._gates.get(host)
            if gate is None or gate.limits != limits:
                gate = HostGate(*limits)
                self._gates[host] = gate
            return gate

    def request(
        self,
        method: str,
        url: str,
        *,
        params: dict | None = None,
        data: dict | bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: tuple[float, float] | None = None,
        accept_status: tuple[int, ...] = (200,),
        max_bytes: int | None = None,
    ) -> Fetched:
        """Perform one request; raise :class:`FetchError` with a clear message on failure."""
        config = http_settings()
        host = urlsplit(url).netloc
        self.breaker.check(host)
        timeout = timeout or (float(config["connect_timeout"]), float(config["read_timeout"]))
        limit = int(max_bytes or config["max_response_bytes"])
        deadline = Deadline(float(config["total_timeout"]))
        _request_local.accept_status = accept_status
        try:
            with self.gate(host), deadline:
                response = self._send(method, url, params=params, data=data, headers=headers,
                                      timeout=timeout, deadline=deadline)
                try:
                    deadline.watch(response)
                    content = _read_capped(response, limit)
                finally:
                    response.close()
                deadline.check(host)
        except ResponseTooLarge:
            self.breaker.record(host, ok=True)
            raise
        except HostThrottled as throttled:
            pause = min(throttled.seconds, float(config["max_host_pause"]))
            self.breaker.pause(host, pause, f"asked us to wait {throttled.seconds:g} s (HTTP {throttled.status})")
            raise FetchError(f"{host}: HTTP {throttled.status}, asked us to wait {throttled.seconds:g} s; "
                             f"paused for {pause:.0f} s") from None
        except FetchError:
            self.breaker.record(host, ok=False)
            raise
        except requests.exceptions.RequestException as error:
            self.breaker.record(host, ok=False)
            if deadline.expired:
                raise deadline.error(host) from None
            raise _fetch_error(host, error, timeout) from None
        if response.status_code not in accept_status:
            transient = response.status_code >= 500 or response.status_code == 429
            self.breaker.record(host, ok=not transient)
            message = f"{host}: HTTP {response.status_code} {response.reason or ''}".rstrip()
            if transient and int(config["retries"]) > 0:
                message += f" (still, after {int(config['retries'])} retries)"
            raise FetchError(message)
        self.breaker.record(host, ok=True)
        return Fetched(url=response.url, status=response.status_code, content=content,
                       headers=dict(response.headers))

    def _send(self, method: str, url: str, *, params, data, headers, timeout, deadline: Deadline
              ) -> requests.Response:
        """Send, following at most :data:`MAX_REDIRECTS` redirects without leaking credentials."""
        session = self._session()
        asked = method
        response = session.request(method, url, params=params, data=data, headers=headers, timeout=timeout,
                                   stream=True, allow_redirects=False)
        for _ in range(MAX_REDIRECTS):
            if not response.is_redirect:
                return response
            deadline.check(urlsplit(url).netloc)
            location = urljoin(response.url, response.headers["location"])
            response.close()
            if response.status_code in (301, 302, 303) and method not in ("GET", "HEAD"):
                method, data = "GET", None  # what browsers do: the body is not sent again
            if not same_origin(url, location):
                if asked not in ("GET", "HEAD"):
                    raise FetchError(f"{urlsplit(url).netloc}: refused to follow a {asked} redirect to "
                                     f"another host ({urlsplit(location).netloc})")
                session = _anonymous_session(session)
                headers, data = None, None  # nothing the caller gave (credentials) goes to the new host
            url = location
            response = session.request(method, url, data=data, headers=headers, timeout=timeout,
                                       stream=True, allow_redirects=False)
        response.close()
        raise FetchError(f"{urlsplit(url).netloc}: more than {MAX_REDIRECTS} redirects")

    def get(self, url: str, **kwargs) -> Fetched:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs) -> Fetched:
        return self.request("POST", url, **kwargs)


def same_origin(url: str, other: str) -> bool:
    """Same host and port (the default port of each scheme counts); http -> https allowed, not back."""
    first, second = urlsplit(url), urlsplit(other)
    default = {"http": 80, "https": 443}
    if first.hostname != second.hostname or (first.scheme, second.scheme) == ("https", "http"):
        return False
    first_port = first.port or default.get(first.scheme)
    second_port = second.port or default.get(second.scheme)
    upgraded = (first.scheme, first_port, second.scheme, second_port) == ("http", 80, "https", 443)
    return first_port == second_port or upgraded


def _anonymous_session(session: requests.Session) -> requests.Session:
    """A session with the same retries and User-Agent but no cookies: for another host."""
    fresh = requests.Session()
    for prefix, adapter in session.adapters.items():
        fresh.mount(prefix, adapter)
    fresh.headers["User-Agent"] = session.headers["User-Agent"]
    return fresh


class Deadline:
    """The total time one request may take, connect to last byte.

    A timer shuts the socket of the response being read when the time is up, so
    a server dripping one byte at a time (each within the read timeout) cannot
    hold a worker. While headers are awaited only the read timeout applies;
    the deadline is checked again after them.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._response: requests.Response | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.cancel()
        with self._lock:
            self._response = None

    def watch(self, response: requests.Response) -> None:
        with self._lock:
            self._response = response
            expired = self.expired
        if expired:
            self._cut(response)

    def check(self, host: str) -> None:
        if self.expired:
            raise self.error(host)

    def error(self, host: str) -> FetchError:
        return FetchError(f"{host}: no complete answer within {self.seconds:g} s (total deadline)")

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            response = self._response
        if response is not None:
            self._cut(response)

    @staticmethod
    def _cut(response: requests.Response) -> None:
        try:
            response.raw.shutdown()
        except (ValueError, RuntimeError, OSError):
            pass  # already finished or released: nothing left to interrupt


def _fetch_error(host: str, error: requests.exceptions.RequestException, timeout: tuple[float, float]
                 ) -> FetchError:
    if isinstance(error, requests.exceptions.RetryError):
        return FetchError(f"{host}: gave up after retries ({_reason(error)})")
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return FetchError(f"{host}: connection timed out")
    if isinstance(error, requests.exceptions.ReadTimeout):
        return FetchError(f"{host}: no answer within {timeout[1]:g} s (read timeout)")
    if isinstance(error, requests.exceptions.ConnectionError):
        return FetchError(f"{host}: connection failed ({_reason(error)})")
    return FetchError(f"{host}: request failed ({_reason(error)})")


def _read_capped(response: requests.Response, limit: int) -> bytes:
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ResponseTooLarge(f"response of {int(declared):,} bytes exceeds the limit of {limit:,} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_content(chunk_size=256 * 1024):
            size += len(chunk)
            if size > limit:
                raise ResponseTooLarge(f"response exceeds the limit of {limit:,} bytes")
            chunks.append(chunk)
    except requests.exceptions.ChunkedEncodingError as error:
        incomplete = re.search(r"IncompleteRead\((\d+) bytes read, (\d+) more expected\)", str(error))
        if incomplete:
            got, missing = int(incomplete.group(1)), int(incomplete.group(2))
            raise requests.exceptions.ConnectionError(
                f"truncated body: {got:,} of {got + missing:,} bytes"
            ) from None
        raise requests.exceptions.ConnectionError(f"connection broken mid-body: {_reason(error)}") from None
    except requests.exceptions.ContentDecodingError as error:
        raise requests.exceptions.ConnectionError(f"undecodable body: {_reason(error)}") from None
    body = b"".join(chunks)
    if declared and declared.isdigit() and len(body) < int(declared):
        raise requests.exceptions.ConnectionError(
            f"truncated body: {len(body):,} of {int(declared):,} bytes"
        )
    return body


def _reason(error: BaseException) -> str:
    """The innermost useful message of a requests/urllib3 error, without object reprs."""
    current: BaseException | None = error
    message = str(error)
    seen = 0
    while current is not None and seen < 6:
        args = getattr(current, "args", ())
        if args and isinstance(args[0], BaseException):
            current = args[0]
        elif getattr(current, "reason", None) is not None and isinstance(current.reason, BaseException):
            current = current.reason
        else:
            break
        message = str(current)
        seen += 1
    if "Connection refused" in message:
        return "connection refused"
    if "reset by peer" in message.lower():
        return "connection reset by peer"
    return message[:300]


_client: HttpClient | None = None
_client_lock = threading.Lock()


def get_client() -> HttpClient:
    global _client
    with _client_lock:
        if _client is None:
            _client = HttpClient()
        return _client


def base_url(source_name: str, default: str | None = None) -> str:
    """The configured base URL of a survey (``settings.BHTOM_URLS``, ``BHTOM_URL_<NAME>``, the real service).

    ``default``: the real service's URL for a name that is not a data source (a second service of one).
    """
    url = conf.survey_url(source_name) or default
    if not url:
        raise FetchError(f"no base URL configured for {source_name} (BHTOM_URL_{source_name})")
    return url
