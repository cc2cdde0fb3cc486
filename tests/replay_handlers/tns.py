"""TNS API POST routes for the replay server: the object/search answer chosen by the posted ``data``."""
from __future__ import annotations

import json
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "tns"
OBJECTS = {
    "2021abc": "CONSTRUCTED_tns_get_object_2021abc.json",
    "1999gy": "tns_get_object_1999gy_photometry.json",
}
SEARCHES = {("150.100000", "2.200000"): "CONSTRUCTED_tns_get_search_2021abc.json"}
RECEIVED: list[dict] = []


def _answer(name: str):
    return 200, {"Content-Type": "application/json"}, (FIXTURES / name).read_bytes()


def _data(query: dict) -> dict | None:
    if not query.get("api_key"):
        return None
    try:
        return json.loads(query.get("data", ""))
    except ValueError:
        return None


def get_object(method, path, query, body):
    data = _data(query)
    if data is None:
        return 401, {"Content-Type": "application/json"}, b'{"id_code": 401, "id_message": "Unauthorized"}'
    RECEIVED.append(data)
    return _answer(OBJECTS.get(str(data.get("objname")), "CONSTRUCTED_tns_get_object_not_found.json"))


def search(method, path, query, body):
    data = _data(query)
    if data is None:
        return 401, {"Content-Type": "application/json"}, b'{"id_code": 401, "id_message": "Unauthorized"}'
    RECEIVED.append(data)
    return _answer(SEARCHES.get((data.get("ra"), data.get("dec")), "CONSTRUCTED_tns_get_search_no_results.json"))
