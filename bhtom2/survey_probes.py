"""One well-known object per survey, asked by ``manage.py check_surveys``.

Each is the object of a response recorded from the real service
(``tests/fixtures/<survey>/``, see each ``PROVENANCE.md``), so the check asks
the live service the very question whose answer the parser was written for,
and the replay server can answer it offline. ``recorded_points`` is how many
usable points that recorded answer gave; a live answer has at least as many
for a survey that only grows.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class WellKnownObject:
    name: str
    ra: float
    dec: float
    survey_names: dict[str, str] = field(default_factory=dict)
    recorded_points: int = 0


WELL_KNOWN_OBJECTS: dict[str, WellKnownObject] = {
    "GAIA": WellKnownObject("Gaia14aaa", 200.25961, 45.53943, {"GAIA": "Gaia14aaa"}, 28),
    "GAIA_DR3": WellKnownObject("Gaia-4", 283.5, 20.4, {"GAIA_DR3": "1457486023639239296"}, 182),
    "GAIA_DR2": WellKnownObject("long-format source", 10.0, -60.0, {"GAIA_DR2": "5813181197970338560"}, 3),
    "ZTF": WellKnownObject("ZTF18abbuksn", 313.7733232785203, 39.09800386874637, {"ZTF": "ZTF18abbuksn"}, 14),
    "ZTF_DR8": WellKnownObject(
        "WD0139+5245", 24.77652, 52.76029,
        {"ZTF_DR8": "775104100001769,775204100022187,1776110100007378,1776210100011121"}, 1358,
    ),
    "ANTARES": WellKnownObject("ZTF20aafqubg", 50.848047, 37.4677681, {"ANTARES": "ANT2020nb5h6"}, 33),
    "AAVSO": WellKnownObject("Gaia20fnr", 90.26701, -18.9677, {"AAVSO": "GAIA20FNR"}, 2),
    "ASASSN": WellKnownObject(
        "ASASSN-V J060000.76-310027.8", 90.003167, -31.007722,
        {"ASASSN": "03ce0bc8-42ef-48f4-a463-ce657f0bf77a"}, 85,
    ),
    "CPCS": WellKnownObject("Gaia19drz", 284.9, 1.2, {"CPCS": "ivo://Gaia19drz"}, 3),
    "ATLAS": WellKnownObject("ASASSN-21qj", 123.84754, -38.98983, {}, 1018),
    "TNS": WellKnownObject("AT2021abc", 150.1, 2.2, {"TNS": "2021abc"}, 4),
    "NEOWISE": WellKnownObject("Gaia20fnr", 90.26701, -18.9677, {}, 561),
    "ALLWISE": WellKnownObject("Gaia20fnr", 90.26701, -18.9677, {}, 68),
    "OGLE_EWS": WellKnownObject("OB140939", 268.23354, -29.63647, {"OGLE_EWS": "OGLE-2014-BLG-0939"}, 485),
    "KMT_NET": WellKnownObject("KB180003", 268.23354, -29.63647, {"KMT_NET": "KMT-2018-BLG-0003"}, 699),
    "CRTS": WellKnownObject("CSS J091153+381732", 137.97214, 38.29239, {}, 172),
}
