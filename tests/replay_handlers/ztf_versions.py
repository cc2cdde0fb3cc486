"""IRSA ZTF lightcurve answers in versions, for the reconcile sequence tests.

``VERSIONS[oid]`` (bytes) replaces the recorded file of that object id; like
IRSA, ``TIME=<mjd_start> <mjd_end>`` keeps only the epochs in that range, so
an incremental request sees only its window (and a late epoch older than the
window only arrives with a full fetch).
"""
from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "ztf_dr"
VERSIONS: dict[str, bytes] = {}


def serve(method, path, query, body):
    oid = query.get("ID", "")
    content = VERSIONS.get(oid)
    if content is None:
        content = (FIXTURES / f"id_{oid}.csv").read_bytes()
    window = query.get("TIME")
    if window:
        start, end = (float(value) for value in window.split())
        header, *rows = content.decode().splitlines()
        mjd = header.split(",").index("mjd")
        kept = [row for row in rows if start <= _number(row, mjd) <= end]
        content = ("\n".join([header, *kept]) + "\n").encode()
    return 200, {"Content-Type": "text/csv"}, content


def _number(row: str, index: int) -> float:
    try:
        return float(row.split(",")[index])
    except (IndexError, ValueError):
        return float("nan")
