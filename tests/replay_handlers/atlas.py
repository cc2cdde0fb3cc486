"""The ATLAS forced photometry queue for the replay server: queue -> poll (pending, then done) -> result.

Tasks are numbered; each remembers which recorded result file its (ra, dec)
maps to. ``THROTTLE`` makes the next N queue POSTs or task polls answer 429
with ATLAS's (Django REST framework's) "Expected available in N seconds."
``PENDING_POLLS`` is how many polls answer "not finished yet" first. Call
``reset()`` between tests.
"""
from __future__ import annotations

import itertools
import json
import re
import threading
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "atlas"
HOST = "https://fallingstar-data.com"
# (ra, dec) as the broker sends them -> the recorded result for that position and whether it was
# measured on reduced images (use_reduced). The task answer says which images were measured, as
# the real server's does: a recording replays as what it is, whatever the request asked for.
RESULTS = {
    ("123.847540", "-38.989830"): ("atlas_forcedphot_job211831_ASASSN-21qj.txt", True),
    ("342.459600", "51.263400"): ("atlas_forcedphot_skyportal_docstring_5rows.txt", False),
}
NO_DATA = "no data"

_lock = threading.Lock()
_ids = itertools.count(1000)
TASKS: dict[int, dict] = {}
THROTTLE = {"queue": 0, "poll": 0}
THROTTLE_SECONDS = 1
PENDING_POLLS = 1
QUEUED: list[dict] = []
DELETED: list[int] = []


def reset() -> None:
    global PENDING_POLLS, THROTTLE_SECONDS, _ids
    with _lock:
        _ids = itertools.count(1000)
        TASKS.clear()
        QUEUED.clear()
        DELETED.clear()
        THROTTLE.update(queue=0, poll=0)
        PENDING_POLLS = 1
        THROTTLE_SECONDS = 1


def _json(status: int, payload: dict, headers: dict | None = None):
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(payload).encode()


def _throttled(kind: str):
    with _lock:
        if THROTTLE[kind] <= 0:
            return None
        THROTTLE[kind] -= 1
    detail = f"Request was throttled. Expected available in {THROTTLE_SECONDS} seconds."
    return _json(429, {"detail": detail}, {"Retry-After": str(THROTTLE_SECONDS)})


def queue(method, path, query, body):
    throttled = _throttled("queue")
    if throttled:
        return throttled
    if not all(key in query for key in ("ra", "dec", "mjd_min")):
        return _json(400, {"detail": "ra, dec and mjd_min are required"})
    with _lock:
        task_id = next(_ids)
        asked_reduced = str(query.get("use_reduced", "false")).lower() in ("true", "1")
        result, reduced = RESULTS.get((query["ra"], query["dec"]), (NO_DATA, asked_reduced))
        TASKS[task_id] = {"polls": 0, "result": result, "use_reduced": reduced}
        QUEUED.append(dict(query))
    return _json(201, {"url": f"{HOST}/forcedphot/queue/{task_id}/", "id": task_id})


def task(method, path, query, body):
    task_id = int(re.search(r"/queue/(\d+)/", path).group(1))
    if method == "DELETE":
        with _lock:
            DELETED.append(task_id)
            TASKS.pop(task_id, None)
        return 204, {}, b""
    throttled = _throttled("poll")
    if throttled:
        return throttled
    with _lock:
        state = TASKS.get(task_id)
        if state is None:
            return _json(404, {"detail": "Not found."})
        state["polls"] += 1
        done = state["polls"] > PENDING_POLLS
    info = {"url": f"{HOST}/forcedphot/queue/{task_id}/", "id": task_id, "timestamp": "2022-06-09T12:00:00Z",
            "starttimestamp": "2022-06-09T12:00:05Z" if done else None,
            "finishtimestamp": "2022-06-09T12:01:00Z" if done else None, "result_url": None, "error_msg": None,
            "use_reduced": state["use_reduced"]}
    if done and state["result"] == NO_DATA:
        info["error_msg"] = "No data returned"
    elif done:
        info["result_url"] = f"{HOST}/forcedphot/static/results/job{task_id}.txt"
    return _json(200, info)


def result(method, path, query, body):
    task_id = int(re.search(r"/job(\d+)\.txt$", path).group(1))
    with _lock:
        state = TASKS.get(task_id)
    if state is None or state["result"] == NO_DATA:
        return 404, {"Content-Type": "text/plain"}, b"Not found\n"
    return 200, {"Content-Type": "text/plain"}, (FIXTURES / state["result"]).read_bytes()
