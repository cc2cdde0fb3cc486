"""docs/new_broker_tutorial.md stays true: its code is excerpts of tested files, its commands run."""
from __future__ import annotations

import re
import shlex
import textwrap
from pathlib import Path

import pytest

from tests.test_startbroker import project_copy, run  # noqa: F401  (fixture and helper)

ROOT = Path(__file__).resolve().parent.parent
TUTORIAL = (ROOT / "docs" / "new_broker_tutorial.md").read_text()
BLOCK = re.compile(r"<!-- (from: (?P<path>\S+)|command) -->\n```\w*\n(?P<code>.*?)```", re.DOTALL)
EXCERPTS = [(m["path"], m["code"]) for m in BLOCK.finditer(TUTORIAL) if m["path"]]
COMMANDS = [m["code"].strip() for m in BLOCK.finditer(TUTORIAL) if not m["path"]]


def test_every_code_block_is_checked():
    blocks = TUTORIAL.count("```") // 2
    unchecked = [b for b in re.findall(r"```\w*\n(.*?)```", TUTORIAL, re.DOTALL) if b.startswith("export ")]
    assert len(EXCERPTS) + len(COMMANDS) + len(unchecked) == blocks
    assert len(EXCERPTS) >= 10 and len(COMMANDS) == 3


@pytest.mark.parametrize("path, code", EXCERPTS, ids=[f"{p}:{i}" for i, (p, _) in enumerate(EXCERPTS)])
def test_excerpt_is_in_the_tested_file(path, code):
    source = (ROOT / path).read_text()
    assert code in source or textwrap.dedent(code) in source, f"tutorial block no longer matches {path}"


def test_the_export_line_names_a_real_setting(monkeypatch):
    from bhtom_base import conf

    monkeypatch.setenv("BHTOM_URL_GAIA", "http://127.0.0.1:8765")
    assert conf.survey_url("GAIA") == "http://127.0.0.1:8765"


@pytest.mark.slow
def test_the_tutorials_commands_work_in_a_fresh_copy(project_copy):  # noqa: F811
    scaffold, generated_tests, update = (shlex.split(command) for command in COMMANDS)
    assert scaffold[:3] == [".venv/bin/python", "manage.py", "startbroker"]
    result = run(scaffold[1:], project_copy)
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if "SkyPatrolXBroker" in line)
    tests = run(generated_tests[1:], project_copy)
    assert tests.returncode == 0 and "2 passed" in tests.stdout, tests.stdout[-2000:]
    settings_file = project_copy / "settings.py"
    settings_file.write_text(settings_file.read_text().replace("TOM_ALERT_CLASSES = [\n",
                                                               "TOM_ALERT_CLASSES = [\n" + line.strip() + "\n"))
    assert run(["manage.py", "migrate", "-v0"], project_copy).returncode == 0
    outcome = run(update[1:], project_copy)
    # no targets yet in the fresh database: a clean, successful run
    assert outcome.returncode == 0, outcome.stderr
    assert "0 updates" in outcome.stdout
