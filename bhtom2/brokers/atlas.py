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

Points. A point with flux S/N (``uJy/duJy``) of at least 5 is a detection
(``m``, ``dm``); below that it is a non-detection stored as the 5-sigma
limiting magnitude ``mag5sig`` (consistent with the server's own 5-sigma
limit). Rows with a non-zero ``err`` flag, an unknown filter or no valid
limit are left out and counted.

Times. ``MJD`` is the UTC MJD of the exposure (no barycentric correction);
it is taken as UTC as given.
"""
from __future__ import annotations

import re
import time
from datetime import datetime
from urllib.parse import urlsplit

import astropy.units as u
import numpy as np
import pandas as pd
from astropy.time import Time
from django.conf import settings
from tom_targets.models import Target

from bhtom2.data_sources import DataSource
from bhtom_base.broker import BHTOMBroker
from bhtom_base.errors import FetchError, ParseError
from bhtom_base.http import Fetched
from bhtom_base.lightcurve import ParseContext, make_lightcurve
from bhtom_base.models import UpdateStatus
from bhtom_base.parsing import decode_text, load_json_object, reject_html
from bhtom_base.report import LightcurveUpdateReport
from bhtom_base.times import mjd_to_utc

QUEUE_PATH = "/forcedphot/queue/"
DETECTION_SNR = 5.0
FIRST_MJD = 57000.0  # before ATLAS's first survey images (2015)
BANDS = ("c", "o")
REQUIRED = ("MJD", "m", "dm", "uJy", "duJy", "F", "mag5sig")
_AVAILABLE_IN = re.compile(r"available in (\d+(?:\.\d+)?) second", re.IGNORECASE)


def parse(content: bytes, context: ParseContext | None = None) -> pd.DataFrame:
    """An ATLAS forced photometry result text -> standard frame, columns found by header name."""
    text = decode_text(content, what="ATLAS forced photometry result")
    reject_html(text, what="ATLAS forced photometry result")
    lines = [line for line in text.splitlines() if line.strip()]
    header_at = next((i for i, line in enumerate(lines[:5])
                      if {"MJD", "uJy"} <= set(line.lstrip("#").split())), None)
    if header_at is None:
        raise ParseError("not an ATLAS forced photometry result: no '###MJD m dm uJy duJy F ...' header")
    names = lines[header_at].lstrip("#").split()
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        raise ParseError(f"ATLAS forced photometry result lacks columns {missing}")
    rows = [line.split() for line in lines[header_at + 1:]]
    complete = [row for row in rows if len(row) == len(names)]
    skipped: dict[str, int] = {}
    if len(complete) < len(rows):
        skipped["unparseable row"] = len(rows) - len(complete)
    frame = pd.DataFrame(complete, columns=names, dtype=object)
    number = {name: pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)
              for name in ("MJD", "m", "dm", "uJy", "duJy", "mag5sig")}
    flag = pd.to_numeric(frame["err"], errors="coerce").to_numpy(dtype=float) if "err" in names else None
    band = frame["F"].astype(str).to_numpy()
    keep = np.isfinite(number["MJD"])
    _count(skipped, "unreadable MJD", ~keep)
    unknown_band = keep & ~np.isin(band, BANDS)
    _count(skipped, "unknown filter", unknown_band)
    keep &= ~unknown_band
    if flag is not None:
        flagged = keep & (flag != 0)
        _count(skipped, "error flag set", flagged)
        keep &= ~flagged
    with np.errstate(divide="ignore", invalid="ignore"):  # a zero or missing duJy is no measurement
        snr = np.where(number["duJy"] > 0, number["uJy"] / number["duJy"], np.nan)
    significant = keep & (snr >= DETECTION_SNR)
    detection = significant & np.isfinite(number["m"]) & (number["m"] > 0) & np.isfinite(number["dm"])
    # e.g. 2.5e11 +- 1.4e10 uJy with m = -4.6: a failed fit, neither a detection nor a limit
    _count(skipped, "implausible detection (m <= 0)", significant & ~detection)
    limit_ok = np.isfinite(number["mag5sig"]) & (number["mag5sig"] > 0)
    non_detection = keep & ~significant
    no_limit = non_detection & ~limit_ok
    _count(skipped, "non-detection without a valid mag5sig", no_limit)
    non_detection &= limit_ok
    selected = detection | non_detection
    is_detection = detection[selected]
    return make_lightcurve(
        time=mjd_to_utc(number["MJD"][selected]),
        mag=np.where(is_detection, number["m"][selected], np.nan),
        mag_err=np.where(is_detection, number["dm"][selected], np.nan),
        band=band[selected],
        limit=np.where(is_detection, np.nan, number["mag5sig"][selected]),
        skipped=skipped,
    )


def _count(skipped: dict[str, int], reason: str, mask: np.ndarray) -> None:
    count = int(np.count_nonzero(mask))
    if count:
        skipped[reason] = skipped.get(reason, 0) + count


def throttle_seconds(content: bytes, headers: dict[str, str]) -> float | None:
    """Seconds to wait from a 429: the body's "available in N seconds", else Retry-After."""
    match = _AVAILABLE_IN.search(content[:2000].decode("utf-8", "replace"))
    if match:
        return float(match.group(1))
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
        return str(getattr(settings, "BHTOM_ATLAS_TOKEN", "") or "").strip()

    def configuration_problem(self) -> str | None:
        return None if self.token else "ATLAS_TOKEN is not set"

    @property
    def poll_interval(self) -> float:
        return float(getattr(settings, "BHTOM_ATLAS_POLL_INTERVAL", 10.0))

    @property
    def max_wait(self) -> float:
        return float(getattr(settings, "BHTOM_ATLAS_MAX_WAIT", 600.0))

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
        """Queue a task, wait for it, read its result and delete it; no result is an empty list."""
        deadline = time.monotonic() + self.max_wait
        mjd_min = Time(since).utc.mjd if since is not None else FIRST_MJD
        task_url = self._queue(float(target.ra), float(target.dec), mjd_min, deadline)
        try:
            result_url = self._wait_for_result(task_url, deadline)
            if result_url is None:  # finished with nothing to measure
                return []
            return [self.http.get(result_url, headers=self._headers())]
        finally:
            self._delete(task_url)

    def _queue(self, ra: float, dec: float, mjd_min: float, deadline: float) -> str:
        data = {"ra": f"{ra:.6f}", "dec": f"{dec:.6f}", "mjd_min": f"{mjd_min:.5f}", "send_email": "False"}
        while True:
            response = self.http.post(f"{self.base_url}{QUEUE_PATH}", data=data, headers=self._headers(),
                                      accept_status=(200, 201, 429))
            if response.status != 429:
                break
            self._wait_throttled(response, deadline, "queueing")
        return self._own_url(_json(response.content, "ATLAS queue answer").get("url"), "task")

    def _wait_for_result(self, task_url: str, deadline: float) -> str | None:
        while True:
            response = self.http.get(task_url, headers=self._headers(), accept_status=(200, 429))
            if response.status == 429:
                self._wait_throttled(response, deadline, "polling")
                continue
            task = _json(response.content, "ATLAS task")
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
