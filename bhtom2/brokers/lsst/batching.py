"""One request for several objects when updates run at the same time (``update_reduced_data --workers``).

Fink takes a comma-separated list of diaObjectIds. The first update that needs
an endpoint opens a batch and waits ``BHTOM_LSST_BATCH_WINDOW`` seconds; the
updates of other objects that arrive meanwhile join it (up to
``BHTOM_LSST_BATCH_SIZE`` ids); then one request is sent, its answer is split
by object and each update parses only its own records. A failure of the shared
request fails every update of the batch with the same message, and nothing is
written for any of them. A window of 0 sends every request on its own.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bhtom_base.errors import BrokerError, FetchError
from bhtom_base.http import Fetched


@dataclass
class _Batch:
    ids: list[str] = field(default_factory=list)
    closed: bool = False
    done: threading.Event = field(default_factory=threading.Event)
    url: str = ""
    parts: dict[str, bytes] = field(default_factory=dict)
    error: Exception | None = None


class RequestBatcher:
    """Process-wide: broker instances live for one update, batches span many."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[str, _Batch] = {}

    def fetch(
        self,
        key: str,
        object_id: str,
        send: Callable[[list[str]], Fetched],
        split: Callable[[bytes], dict[str, bytes]],
        *,
        window: float,
        max_size: int,
        empty: bytes,
        wait_limit: float = 900.0,
    ) -> Fetched:
        """This object's part of a (possibly shared) request to ``key``; ``empty`` when the answer has none."""
        with self._lock:
            batch = self._open.get(key)
            leader = batch is None or batch.closed or len(batch.ids) >= max_size
            if leader:
                batch = _Batch()
                self._open[key] = batch
            if object_id not in batch.ids:
                batch.ids.append(object_id)
        if leader:
            self._lead(key, batch, send, split, window)
        elif not batch.done.wait(wait_limit):
            raise FetchError(f"no answer to the shared request within {wait_limit:g} s")
        if isinstance(batch.error, BrokerError):
            raise type(batch.error)(str(batch.error)) from None
        if batch.error is not None:
            raise BrokerError(f"unexpected {type(batch.error).__name__}: {batch.error}"[:1000]) from None
        return Fetched(url=batch.url, status=200, content=batch.parts.get(object_id, empty))

    def _lead(self, key: str, batch: _Batch, send, split, window: float) -> None:
        try:
            if window > 0:
                time.sleep(window)
            with self._lock:
                batch.closed = True
                if self._open.get(key) is batch:
                    del self._open[key]
            response = send(list(batch.ids))
            batch.url = response.url
            batch.parts = split(response.content)
        except Exception as error:  # noqa: BLE001 - handed to every update of the batch
            batch.error = error
        finally:
            batch.done.set()


batcher = RequestBatcher()
