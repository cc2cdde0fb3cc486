"""ATLAS forced photometry (``ATLAS``), bands c (cyan) and o (orange).

The forced photometry server (``{BHTOM_URL_ATLAS}/forcedphot/``) works as a
queue: POST ``/forcedphot/queue/`` (ra, dec, mjd_min) with the site's token
-> a task URL; GET the task until it has a ``finishtimestamp``; GET its
``result_url`` (a whitespace table ``###MJD m dm uJy duJy F err chi/N RA Dec
... mag5sig Sky Obs``); DELETE the task. A 429 "Request was throttled.
Expected available in N seconds." is honoured by waiting N seconds (within
the maximum wait). Polling interval and maximum wait are the settings
``BHTOM_ATLAS_POLL_INTERVAL`` and ``BHTOM_ATLAS_MAX_WAIT`` (seconds); the
token is ``ATLAS_TOKEN`` in the environment. An update waits for the server
for minutes, so it runs from ``update_reduced_data`` or as a background task,
never inside a web request: the TOM broker entry point
``process_reduced_data`` only queues the task.

Which images. The task asks for photometry on the reduced (input) images
(``use_reduced=True``), so a stored point is the object's total flux, for
every target a person has not marked as a transient: ``auto`` and ``total``
(the ``bhtom_brightness`` target extra) mean reduced images, because the
ATLAS server says nothing about whether a position holds a reference-image
source and most BHTOM targets (variable stars, microlensing sources) do;
``difference`` asks for difference images, where the flux is the transient's.
The server's own ``use_reduced`` in the task answer is checked against the
request. What a row becomes (detections, true limits, quality cuts, time at
mid-exposure, point id) is in :mod:`bhtom2.brokers.atlas_photometry`.
"""
from __future__ import annotations

import re
import time
from datetime import datetime
from urllib.parse import urlsplit

import astropy.units as u
from astropy.time import Time
from tom_targets.models import Target

from bhtom2.data_sources import DataSource
from bhtom_base import conf
from bhtom_base.brightness import brightness_choice
from bhtom_base.broker import BHTOMBroker
from bhtom_base.errors import FetchError, ParseError
from bhtom_base.http import Fetched
from bhtom_base.models import UpdateStatus
from bhtom_base.parsing import load_json_object
from bhtom_base.report import LightcurveUpdateReport

from .atlas_photometry import parse, uses_reduced_images

QUEUE_PATH = "/forcedphot/queue/"
FIRST_MJD = 57000.0  # before ATLAS's first survey images (2015)
__all__ = ["AtlasBroker", "parse", "throttle_seconds"]
_AVAILABLE_IN = re.compile(r"available in (\d+(?:\.\d+)?) (second|minute)", re.IGNORECASE)


def throttle_seconds(content: bytes, headers: dict[str, str]) -> float | None:
    """Seconds to wait from a 429: the body's "available in N seconds/minutes" (API guide), else Retry-After."""
    match = _AVAILABLE_IN.search(content[:2000].decode("utf-8", "replace"))
    if match:
        return float(match.group(1)) * (60 if match.group(2).lower() == "minute" else 1)
    retry_after = {key.lower(): value for key, value in headers.items()}.get("retry-after", "")
    try:
        return float(retry_after)
    except ValueError:
        return None


class AtlasBroker(BHTOMBroker):
    """ATLAS forced photometry (``ATLAS``); needs ``ATLAS_TOKEN``."""

    data_source = DataSource.ATLAS
    update_cadence = 1 * u.day
    incremental = True  # fetch() asks only from since on; a weekly full fetch catches late data
    facility_name = "ATLAS"
    observer_name = "ATLAS"
    needs_survey_name = False

    parse = staticmethod(parse)

    # -- configuration ---------------------------------------------------------

    @property
    def token(self) -> str:
        return str(conf.setting("BHTOM_ATLAS_TOKEN") or "").strip()

    def configuration_problem(self) -> str | None:
        return None if self.token else "ATLAS_TOKEN is not set"

    @property
    def poll_interval(self) -> float:
        return float(conf.setting("BHTOM_ATLAS_POLL_INTERVAL"))

    @property
    def max_wait(self) -> float:
        return float(conf.setting("BHTOM_ATLAS_MAX_WAIT"))

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.token}", "Accept": "application/json"}

    def process_reduced_data(self, target: Target, alert=None) -> LightcurveUpdateReport:
        """The TOM broker interface (callable from a web view): queue the update as a task, never wait here.

        With the default immediate task backend the task still runs at once; with
        ``TASKS_BACKEND=database`` a ``db_worker`` runs it.
        """
        from bhtom_base.tasks import update_target_source

        update_target_source.enqueue(target.pk, self.name)
        return LightcurveUpdateReport(target_name=target.name, source=self.name, status=UpdateStatus.QUEUED)

    # -- queue, poll, result ------------------------------------------------------

    def fetch(self, target: Target, survey_name: str, since: datetime | None) -> list[Fetched]:
        """Queue a task, wait for it, read its result and delete it; no result is an empty list.

        The images measured follow the target's brightness choice (the same rule ``parse``
        reads from the context): reduced images unless the target is a transient.
        """
        deadline = time.monotonic() + self.max_wait
        mjd_min = Time(since).utc.mjd if since is not None else FIRST_MJD
        reduced = uses_reduced_images(brightness_choice(target))
        task_url = self._queue(float(target.ra), float(target.dec), mjd_min, reduced, deadline)
        try:
            result_url = self._wait_for_result(task_url, reduced, deadline)
            if result_url is None:  # finished with nothing to measure
                return []
            return [self.http.get(result_url, headers=self._headers())]
        finally:
            self._delete(task_url)

    def _queue(self, ra: float, dec: float, mjd_min: float, reduced: bool, deadline: float) -> str:
        data = {"ra": f"{ra:.6f}", "dec": f"{dec:.6f}", "mjd_min": f"{mjd_min:.5f}",
                "use_reduced": str(reduced), "send_email": "False"}
        while True:
            response = self.http.post(f"{self.base_url}{QUEUE_PATH}", data=data, headers=self._headers(),
                                      accept_status=(200, 201, 429))
            if response.status != 429:
                break
            self._wait_throttled(response, deadline, "queueing")
        return self._own_url(_json(response.content, "ATLAS queue answer").get("url"), "task")

    def _wait_for_result(self, task_url: str, reduced: bool, deadline: float) -> str | None:
        while True:
            response = self.http.get(task_url, headers=self._headers(), accept_status=(200, 429))
            if response.status == 429:
                self._wait_throttled(response, deadline, "polling")
                continue
            task = _json(response.content, "ATLAS task")
            _check_images(task, reduced)
            if task.get("finishtimestamp"):
                if task.get("result_url"):
                    return self._own_url(task["result_url"], "result")
                message = str(task.get("error_msg") or "").strip()
                if "no data" in message.lower():
                    return None
                raise FetchError(f"ATLAS task finished without a result: {message[:200] or 'no message'}")
            if time.monotonic() + self.poll_interval > deadline:
                raise FetchError(f"ATLAS task not finished within {self.max_wait:g} s (still queued: {task_url})")
            time.sleep(self.poll_interval)

    def _wait_throttled(self, response, deadline: float, doing: str) -> None:
        wait = throttle_seconds(response.content, response.headers)
        wait = self.poll_interval if wait is None else wait
        if time.monotonic() + wait > deadline:
            raise FetchError(f"HTTP 429 (throttled) from ATLAS while {doing}: available in {wait:g} s, "
                             f"beyond the maximum wait of {self.max_wait:g} s")
        self.logger.info("ATLAS throttled while %s; waiting %g s", doing, wait)
        time.sleep(wait)

    def _own_url(self, url: object, what: str) -> str:
        """The server's URL re-based on the configured ATLAS host: the token never goes elsewhere."""
        path = urlsplit(str(url or "")).path
        if not path.startswith("/forcedphot/") and not path.startswith("/static/"):
            raise ParseError(f"ATLAS answer has no usable {what} URL ({str(url)[:100]!r})")
        return f"{self.base_url}{path}"

    def _delete(self, task_url: str) -> None:
        try:
            self.http.request("DELETE", task_url, headers=self._headers(), accept_status=(200, 204, 404))
        except FetchError as error:  # the server forgets old tasks anyway
            self.logger.info("ATLAS: could not delete %s (%s)", task_url, error)


def _json(content: bytes, what: str) -> dict:
    return load_json_object(content, what=what)


def _images(reduced: bool) -> str:
    return "reduced" if reduced else "difference"


def _check_images(task: dict, reduced: bool) -> None:
    """The task's own ``use_reduced`` must be what was asked: the rows mean different things."""
    said = task.get("use_reduced")
    if said is None:
        return
    if isinstance(said, str):
        said = said.strip().lower() in ("true", "1", "yes")
    if bool(said) != reduced:
        raise FetchError(f"ATLAS task measured {_images(bool(said))} images where {_images(reduced)} images "
                         "were asked; its photometry would mean something else")
