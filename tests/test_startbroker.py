"""``manage.py startbroker`` in a temporary copy of the project: the generated broker's tests pass there."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bhtom_base.broker import BHTOMBroker

ROOT = Path(__file__).resolve().parent.parent


def test_template_implements_everything_the_base_class_requires():
    from bhtom2.brokers import new_broker_template as template

    broker_class = template.TemplateBroker
    assert issubclass(broker_class, BHTOMBroker)
    assert not getattr(broker_class, "__abstractmethods__", None)
    for method in ("fetch", "find_survey_name", "configuration_problem"):
        assert getattr(broker_class, method) is not getattr(BHTOMBroker, method), method
    assert broker_class.parse is template.parse
    frame = template.parse(b"mjd,mag,magerr,filter,limit\n60000.5,15.2,0.02,g,\n60001.5,,,r,19.5\n")
    assert frame["mag"].tolist()[0] == 15.2 and frame["limit"].tolist()[1] == 19.5
    assert str(frame["time"].iloc[0]) == "2023-02-25 12:00:00+00:00"


@pytest.fixture
def project_copy(tmp_path):
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        source = ROOT / name
        if source.is_file():
            destination = tmp_path / name
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination)
    return tmp_path


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "PYTEST_"))}
    env.pop("DATABASE_URL", None)
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_startbroker_generates_a_working_broker(project_copy):
    result = run(["manage.py", "startbroker", "SKY_PATROL_X", "--pretty", "SkyX", "--filters", "g,r",
                  "--url", "https://skyx.example.org", "--name-example", "SKYX-42"], project_copy)
    assert result.returncode == 0, result.stderr
    assert '"bhtom2.brokers.sky_patrol_x.SkyPatrolXBroker",' in result.stdout
    assert (project_copy / "bhtom2/brokers/sky_patrol_x.py").exists()
    assert "SKY_PATROL_X = SourceSpec(" in (project_copy / "bhtom2/data_sources.py").read_text()
    assert '"SKY_PATROL_X": "https://skyx.example.org"' in (project_copy / "bhtom2/settings_helpers.py").read_text()
    # the generated tests pass even before the settings line is added
    tests = run(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/brokers/test_sky_patrol_x.py"], project_copy)
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-3000:]
    assert "2 passed" in tests.stdout
    # registered, it joins the fault matrix and the property-based parser tests
    settings_file = project_copy / "settings.py"
    text = settings_file.read_text()
    line = '    "bhtom2.brokers.sky_patrol_x.SkyPatrolXBroker",\n'
    settings_file.write_text(text.replace("TOM_ALERT_CLASSES = [\n", "TOM_ALERT_CLASSES = [\n" + line))
    more = run(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_fault_matrix.py",
                "tests/test_parser_properties.py", "-k", "SKY_PATROL_X or sky_patrol_x or every_installed"],
               project_copy)
    assert more.returncode == 0, more.stdout[-3000:] + more.stderr[-3000:]
    assert " passed" in more.stdout and "failed" not in more.stdout


def test_startbroker_refuses_bad_names(project_copy):
    for args in (["GAIA", "--pretty", "Gaia", "--filters", "G"],
                 ["lower-case!", "--pretty", "X", "--filters", "g"],
                 ["NEW_ONE", "--pretty", "X'; import os", "--filters", "g"]):
        result = run(["manage.py", "startbroker", *args], project_copy)
        assert result.returncode != 0
        assert "CommandError" in result.stderr or "Error" in result.stderr
