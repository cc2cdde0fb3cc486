"""What the fleet benchmark replays: each source's first recorded scenario (``tests/fixtures/*/scenario.json``).

A scenario is the real recorded object ``check_surveys`` asks too: its survey
names become every fleet target's names, its settings (tokens, service choice)
the fleet's settings, its ``expected_points`` the points each pair must store,
and its folder is replayed by a server of its own (:func:`fixtures_for`).
Plain Python, no Django: ``fleet_settings`` and the benchmark read it before set-up.
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
# Query parameters that carry a position: the fleet's targets are not where the recordings were made.
POSITION_KEYS = {"RA", "Dec", "ra", "dec", "objstr", "POS"}
NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


def load_scenarios() -> dict[str, dict]:
    """Source name -> its first scenario (folder order), with ``folder`` added."""
    scenarios: dict[str, dict] = {}
    for path in sorted(FIXTURES.glob("*/scenario.json")):
        scenario = json.loads(path.read_text())
        scenarios.setdefault(scenario["source"], {**scenario, "folder": path.parent.name})
    return scenarios


SCENARIOS = load_scenarios()
# Every fleet target sits where the ATLAS answer was recorded: the replayed ATLAS queue knows results by position.
POSITION = (SCENARIOS["ATLAS"]["target"]["ra"], SCENARIOS["ATLAS"]["target"]["dec"])


def recorded_position(source: str) -> tuple[float, float]:
    target = SCENARIOS[source]["target"]
    return float(target["ra"]), float(target["dec"])


def _same_position(value: str, ra: float, dec: float) -> bool:
    numbers = [float(n) for n in NUMBER.findall(value)]
    return len(numbers) >= 2 and abs(numbers[0] - ra) < 1e-4 and abs(numbers[1] - dec) < 1e-4


def fixtures_for(source: str, folder: Path) -> Path:
    """A fixtures folder that replays ``source``'s recorded object for a request at any position.

    Routes that ask for a position keep only the recorded object's, without the
    position; file paths become absolute. Handlers are kept as they are.
    """
    scenario = SCENARIOS[source]
    ra, dec = recorded_position(source)
    original = FIXTURES / scenario["folder"]
    routes = []
    for route in json.loads((original / "routes.json").read_text()):
        position = {key: value for key, value in route.get("query", {}).items() if key in POSITION_KEYS}
        if position:
            if not _same_position(" ".join(str(value) for value in position.values()), ra, dec):
                continue
            route = {**route, "query": {k: v for k, v in route["query"].items() if k not in POSITION_KEYS}}
        if route.get("file"):
            route = {**route, "file": str((original / route["file"]).resolve())}
        routes.append(route)
    target = folder / source / scenario["folder"]
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    (target / "routes.json").write_text(json.dumps(routes, indent=1))
    return folder / source


def survey_names(sources: list[str]) -> dict[str, str]:
    """Every fleet target's survey names: the union of the scenarios' names."""
    names: dict[str, str] = {}
    for source in sources:
        names.update(SCENARIOS[source]["target"].get("names", {}))
    return names


def scenario_settings(sources: list[str]) -> dict:
    settings: dict = {}
    for source in sources:
        settings.update(SCENARIOS[source].get("settings", {}))
    return settings


def expected_points(sources: list[str]) -> dict[str, int]:
    return {source: int(SCENARIOS[source]["expected_points"]) for source in sources}
