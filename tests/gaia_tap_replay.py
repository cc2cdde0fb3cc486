"""Replay handler for the Gaia archive's TAP sync endpoint (``/tap-server/tap/sync``).

A recorded cone-search result is served when the ADQL cone contains the
position it was recorded for; any other well-formed cone search gets the empty
result; anything else gets a TAP error document with HTTP 400, as the archive does.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

FOLDER = Path(__file__).parent / "fixtures" / "gaia_dr3"
# (table, ra, dec) of the position a cone result was recorded for -> file
RECORDED = {("gaiadr3.gaia_source", 210.0, 35.0): "cone_dr3_ra210_dec35.vot"}
EMPTY = "cone_dr3_empty.vot"
_CONE = re.compile(
    r"FROM (gaiadr[0-9]\.gaia_source) WHERE 1 = CONTAINS\(POINT\('ICRS', ra, dec\), "
    r"CIRCLE\('ICRS', ([-+0-9.]+), ([-+0-9.]+), ([0-9.]+)\)\)"
)
_ERROR = """<?xml version="1.0" encoding="UTF-8"?>
<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">
<RESOURCE type="results"><INFO name="QUERY_STATUS" value="ERROR">Cannot parse query</INFO></RESOURCE>
</VOTABLE>
"""


def tap_sync(method: str, path: str, query: dict[str, str], body: bytes):
    cone = _CONE.search(query.get("QUERY", ""))
    if query.get("REQUEST") != "doQuery" or query.get("LANG") != "ADQL" or cone is None:
        return 400, {"Content-Type": "application/x-votable+xml"}, _ERROR.encode()
    table, ra, dec, radius = cone.group(1), float(cone.group(2)), float(cone.group(3)), float(cone.group(4))
    chosen = EMPTY
    for (recorded_table, recorded_ra, recorded_dec), name in RECORDED.items():
        offset = math.hypot((ra - recorded_ra) * math.cos(math.radians(dec)), dec - recorded_dec)
        if table == recorded_table and offset <= radius:
            chosen = name
    return 200, {"Content-Type": "application/x-votable+xml"}, (FOLDER / chosen).read_bytes()
