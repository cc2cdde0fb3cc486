"""Fink LSST API for the replay server: ``diaObjectId`` may list several objects, as on the real service.

The answer is the records of every listed object that has a fixture file, in the
order asked (an unknown object adds nothing, as Fink answers ``[]`` for it).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "lsst_fink"
_ID = re.compile(r"[0-9]{1,20}")


def _answer(kind: str, query: dict) -> tuple[int, dict, bytes]:
    ids = [part.strip() for part in query.get("diaObjectId", "").split(",") if part.strip()]
    if not ids or not all(_ID.fullmatch(part) for part in ids):
        return 400, {"Content-Type": "text/plain"}, b"{'status': 'error', 'text': 'diaObjectId is required'}"
    records: list = []
    for object_id in ids:
        path = FIXTURES / f"CONSTRUCTED_fink_{kind}_{object_id}.json"
        if path.exists():
            records.extend(json.loads(path.read_text()))
    return 200, {"Content-Type": "application/json"}, json.dumps(records).encode()


def sources(method, path, query, body):
    return _answer("sources", query)


def forced(method, path, query, body):
    return _answer("fp", query)
