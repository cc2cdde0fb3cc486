"""Shared test fixtures: the replay server and settings pointing every survey at it."""
from __future__ import annotations

from pathlib import Path

import pytest

from bhtom2.data_sources import SOURCE_NAMES
from bhtom_base.replay import ReplayServer

FIXTURES = Path(__file__).parent / "fixtures"


def fixture_bytes(relative: str) -> bytes:
    return (FIXTURES / relative).read_bytes()


@pytest.fixture(scope="session")
def replay_server():
    server = ReplayServer(FIXTURES).start()
    yield server
    server.stop()


@pytest.fixture
def replay(replay_server, settings):
    """The replay server, with every survey's base URL pointed at it and no faults left over."""
    from bhtom_base.http import get_client

    replay_server.clear_faults()
    replay_server.clear_requests()
    replay_server.latency = 0.0
    settings.BHTOM_URLS = {name: replay_server.url for name in SOURCE_NAMES}
    get_client().breaker.reset()
    yield replay_server
    replay_server.clear_faults()
    replay_server.latency = 0.0
    get_client().breaker.reset()


@pytest.fixture
def closed_port_url():
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def pytest_addoption(parser):
    parser.addoption("--remote-data", action="store_true", default=False,
                     help="also run the tests marked remote_data, which ask the real survey services")


def pytest_collection_modifyitems(config, items):
    """Tests marked remote_data reach the internet: skipped unless --remote-data is given (astropy's convention)."""
    if config.getoption("--remote-data"):
        return
    skip = pytest.mark.skip(reason="asks the real survey services; run with --remote-data")
    for item in items:
        if "remote_data" in item.keywords:
            item.add_marker(skip)
