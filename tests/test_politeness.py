"""Politeness: per-source limits resolved to hosts; a host's gate caps concurrency and request rate."""
from __future__ import annotations

import threading
import time

from bhtom_base.http import HostGate, get_client, politeness_for_host


def test_limits_are_configured_per_source_and_shared_by_sources_on_one_host(settings):
    settings.BHTOM_URLS = {"GAIA_DR2": "https://gea.esac.esa.int", "GAIA_DR3": "https://gea.esac.esa.int",
                           "ZTF": "https://irsa.ipac.caltech.edu"}
    settings.BHTOM_POLITENESS = {
        "default": {"max_concurrent": 3, "requests_per_second": 7},
        "GAIA_DR2": {"max_concurrent": 4, "requests_per_second": 1},
        "GAIA_DR3": {"max_concurrent": 2, "requests_per_second": 3},
        "other.example.org:8080": {"max_concurrent": 9},
    }
    assert politeness_for_host("gea.esac.esa.int") == {"max_concurrent": 2, "requests_per_second": 1}
    assert politeness_for_host("irsa.ipac.caltech.edu") == {"max_concurrent": 3, "requests_per_second": 7}
    assert politeness_for_host("other.example.org:8080") == {"max_concurrent": 9, "requests_per_second": 7}
    gate = get_client().gate("gea.esac.esa.int")
    assert gate.limits == (2, 1.0) and get_client().gate("gea.esac.esa.int") is gate
    settings.BHTOM_POLITENESS = {"GAIA_DR3": {"max_concurrent": 1, "requests_per_second": 2}}
    assert get_client().gate("gea.esac.esa.int").limits == (1, 2.0)  # a changed setting takes effect


def test_a_gate_never_lets_more_requests_through_than_allowed():
    gate = HostGate(max_concurrent=2, requests_per_second=0)
    inside, most, lock = 0, 0, threading.Lock()

    def request():
        nonlocal inside, most
        with gate:
            with lock:
                inside += 1
                most = max(most, inside)
            time.sleep(0.05)
            with lock:
                inside -= 1

    threads = [threading.Thread(target=request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == 2


def test_a_gate_spaces_request_starts_by_the_rate():
    gate = HostGate(max_concurrent=10, requests_per_second=20)
    starts, lock = [], threading.Lock()

    def request():
        with gate:
            with lock:
                starts.append(time.monotonic())

    threads = [threading.Thread(target=request) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    gaps = differences(sorted(starts))
    assert len(gaps) == 5 and min(gaps) >= 0.05 * 0.95  # at most 20 per second, never a burst


def differences(values):
    return [b - a for a, b in zip(values, values[1:], strict=False)]
