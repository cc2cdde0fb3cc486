"""A small HTTP server on 127.0.0.1 that replays recorded survey responses.

It serves the files of a fixtures folder at the real endpoints' paths, so a
broker pointed at it (``BHTOM_URL_<NAME>=http://127.0.0.1:PORT``) behaves as
against the real survey. Each survey folder has a ``routes.json``::

    [{"method": "GET", "path": "/alerts/alert/Gaia14aaa/lightcurve.csv",
      "file": "Gaia14aaa.csv", "content_type": "text/csv"},
     {"path_regex": "^/cgi-bin/Gator/nph-query$", "query": {"catalog": "neowiser_p1bs_psd"},
      "file": "neowise.tbl"},
     {"method": "POST", "path": "/forcedphot/queue/", "handler": "module:function"}]

``query`` entries must all be present with equal values; the most specific
route wins; an unmatched request gets a 404. A ``handler`` is called with
``(method, path, query, body)`` and returns ``(status, headers, body)``.

Faults are injected per path prefix, from Python (``server.inject``) or over
HTTP (``POST /__replay__/faults`` with the same fields as :class:`Fault`,
``DELETE /__replay__/faults`` clears them): a status code (with
``Retry-After``), a delay, a truncated body, a connection reset mid-body, an
HTML error page with status 200, an empty body, or any body; ``times`` limits
how many requests a fault applies to. ``latency`` delays every response.
Every request is logged (``server.requests``, ``GET /__replay__/requests``) with its
method, path, query and headers, so tests can check what a broker sent.

    python -m bhtom_base.replay --fixtures tests/fixtures --port 8765 [--latency 0.1]
"""
from __future__ import annotations

import argparse
import importlib
import json
import mimetypes
import re
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

HTML_ERROR_PAGE = (
    b"<!DOCTYPE html><html><head><title>503 Service Temporarily Unavailable</title></head>"
    b"<body><h1>Service Temporarily Unavailable</h1><p>The server is down for maintenance.</p></body></html>"
)


@dataclass
class Route:
    path: str = ""
    path_regex: str = ""
    method: str = "GET"
    query: dict[str, str] = field(default_factory=dict)
    file: str = ""
    content_type: str = ""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    handler: str = ""
    base_dir: Path = Path(".")

    def matches(self, method: str, path: str, query: dict[str, str]) -> bool:
        if method != self.method.upper():
            return False
        if self.path and path != self.path:
            return False
        if self.path_regex and not re.search(self.path_regex, path):
            return False
        return all(query.get(key) == str(value) for key, value in self.query.items())

    def specificity(self) -> tuple[int, int]:
        return (len(self.query), 1 if self.path else 0)


@dataclass
class Fault:
    """What to do instead of (or to) the normal response, for requests under ``path``."""

    path: str = "/"
    status: int | None = None
    retry_after: int | None = None
    delay: float = 0.0
    truncate: int | None = None
    reset: bool = False
    html: bool = False
    empty: bool = False
    body: str | None = None
    content_type: str = ""
    times: int | None = None


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str] = field(default_factory=dict)


def load_routes(fixtures_dir: Path) -> list[Route]:
    routes: list[Route] = []
    for routes_file in sorted(Path(fixtures_dir).glob("*/routes.json")):
        for entry in json.loads(routes_file.read_text()):
            routes.append(Route(**entry, base_dir=routes_file.parent))
    return routes


class ReplayServer:
    def __init__(self, fixtures_dir: Path | str, host: str = "127.0.0.1", port: int = 0,
                 latency: float = 0.0) -> None:
        self.fixtures_dir = Path(fixtures_dir)
        self.routes = load_routes(self.fixtures_dir)
        self.latency = latency
        self.faults: list[Fault] = []
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((host, port), _make_handler(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> ReplayServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="replay-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- faults and request log ------------------------------------------------

    def inject(self, fault: Fault | None = None, **fields) -> Fault:
        fault = fault or Fault(**fields)
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    def requests_to(self, path_prefix: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.path.startswith(path_prefix)]

    def take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if path.startswith(fault.path) and (fault.times is None or fault.times > 0):
                    if fault.times is not None:
                        fault.times -= 1
                    return fault
        return None

    def find_route(self, method: str, path: str, query: dict[str, str]) -> Route | None:
        candidates = [route for route in self.routes if route.matches(method, path, query)]
        return max(candidates, key=Route.specificity) if candidates else None


def _make_handler(server: ReplayServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "bhtom-replay/1.0"

        def log_message(self, format: str, *args) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_HEAD(self) -> None:
            self._handle("HEAD")

        def do_DELETE(self) -> None:
            self._handle("DELETE")

        def _handle(self, method: str) -> None:
            parts = urlsplit(self.path)
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if method == "POST" and self.headers.get("Content-Type", "").startswith(
                "application/x-www-form-urlencoded"
            ):
                query.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
            if parts.path.startswith("/__replay__/"):
                return self._control(method, parts.path, body)
            with server._lock:
                server.requests.append(Recorded(method, parts.path, query, dict(self.headers.items())))
            if server.latency:
                time.sleep(server.latency)
            fault = server.take_fault(parts.path)
            if fault is not None and self._apply_fault(fault):
                return
            route = server.find_route(method, parts.path, query)
            if route is None:
                return self._send(404, {"Content-Type": "text/plain"}, b"no recorded response for this request\n")
            if route.handler:
                status, headers, payload = _load_handler(route.handler)(method, parts.path, query, body)
                return self._send(status, headers, payload, fault=fault)
            payload = (route.base_dir / route.file).read_bytes()
            content_type = route.content_type or mimetypes.guess_type(route.file)[0] or "application/octet-stream"
            self._send(route.status, {"Content-Type": content_type, **route.headers}, payload, fault=fault)

        def _apply_fault(self, fault: Fault) -> bool:
            """Send the fault's response; True when nothing else should be sent."""
            if fault.delay:
                time.sleep(fault.delay)
            if fault.status is not None:
                headers = {"Content-Type": "text/plain"}
                if fault.retry_after is not None:
                    headers["Retry-After"] = str(fault.retry_after)
                self._send(fault.status, headers, f"injected HTTP {fault.status}\n".encode())
                return True
            if fault.html:
                self._send(200, {"Content-Type": "text/html"}, HTML_ERROR_PAGE)
                return True
            if fault.empty:
                self._send(200, {"Content-Type": "text/plain"}, b"")
                return True
            if fault.body is not None:
                self._send(200, {"Content-Type": fault.content_type or "text/plain"}, fault.body.encode())
                return True
            return False  # delay, truncate and reset act on the normal response

        def _send(self, status: int, headers: dict[str, str], payload: bytes, fault: Fault | None = None) -> None:
            if self.command == "HEAD":
                payload = b""
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if fault is not None and (fault.truncate is not None or fault.reset):
                cut = fault.truncate if fault.truncate is not None else len(payload) // 2
                self.wfile.write(payload[:cut])
                self.wfile.flush()
                if fault.reset:  # RST instead of FIN: "connection reset by peer"
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True
                return
            self.wfile.write(payload)

        def _control(self, method: str, path: str, body: bytes) -> None:
            if path == "/__replay__/faults" and method == "POST":
                server.inject(Fault(**json.loads(body or b"{}")))
            elif path == "/__replay__/faults" and method == "DELETE":
                server.clear_faults()
            elif path == "/__replay__/requests" and method == "GET":
                with server._lock:
                    data = json.dumps([asdict(r) for r in server.requests]).encode()
                return self._send(200, {"Content-Type": "application/json"}, data)
            elif path == "/__replay__/requests" and method == "DELETE":
                server.clear_requests()
            else:
                return self._send(404, {"Content-Type": "text/plain"}, b"unknown control path\n")
            self._send(200, {"Content-Type": "application/json"}, b"{}")

    return Handler


_handlers: dict[str, Callable] = {}


def _load_handler(spec: str) -> Callable:
    if spec not in _handlers:
        module, _, name = spec.partition(":")
        _handlers[spec] = getattr(importlib.import_module(module), name)
    return _handlers[spec]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixtures", default="tests/fixtures")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every response")
    args = parser.parse_args(argv)
    server = ReplayServer(args.fixtures, args.host, args.port, latency=args.latency)
    print(f"replaying {len(server.routes)} recorded responses from {args.fixtures} at {server.url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
