"""Property-based: no input makes a parser raise anything but its documented ``ParseError``.

Parsers and their real fixtures are listed in each survey's ``scenario.json``
(``"parsers": [{"function": "module:function", "files": [...]}]``).
"""
from __future__ import annotations

import importlib
import json
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bhtom_base.errors import ParseError
from bhtom_base.lightcurve import COLUMNS

FIXTURES = Path(__file__).parent / "fixtures"
PARSERS = [
    (folder.name, entry["function"], [folder / name for name in entry["files"]])
    for folder in sorted(FIXTURES.iterdir())
    if (folder / "scenario.json").exists()
    for entry in json.loads((folder / "scenario.json").read_text()).get("parsers", [])
]
IDS = [f"{function}" for _, function, _ in PARSERS]


def load(function: str):
    module, _, name = function.partition(":")
    return getattr(importlib.import_module(module), name)


def check(parse, content: bytes) -> None:
    try:
        result = parse(content)
    except ParseError as error:
        assert str(error), "a ParseError must say what is wrong"
        return
    assert isinstance(result, pd.DataFrame)
    if set(COLUMNS) <= set(result.columns):  # a lightcurve: its times are UTC timestamps
        assert str(result["time"].dtype) == "datetime64[ns, UTC]"


COMMON = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.mark.parametrize("folder, function, files", PARSERS, ids=IDS)
@COMMON
@given(data=st.binary(max_size=4096))
def test_arbitrary_bytes(folder, function, files, data):
    check(load(function), data)


@pytest.mark.parametrize("folder, function, files", PARSERS, ids=IDS)
@COMMON
@given(choice=st.data())
def test_real_fixtures_with_lines_cut_or_corrupted(folder, function, files, choice):
    content = choice.draw(st.sampled_from(files)).read_bytes()
    lines = content.split(b"\n")
    operations = choice.draw(st.lists(st.tuples(st.sampled_from(["cut", "corrupt", "truncate", "duplicate"]),
                                                st.integers(min_value=0, max_value=max(0, len(lines) - 1)),
                                                st.binary(max_size=40)), max_size=6))
    for operation, index, noise in operations:
        if not lines:
            break
        index = min(index, len(lines) - 1)
        if operation == "cut":
            del lines[index]
        elif operation == "corrupt":
            line = lines[index]
            position = len(line) // 2
            lines[index] = line[:position] + noise + line[position + len(noise):]
        elif operation == "truncate":
            lines = lines[: index + 1]
            lines[-1] = lines[-1][: len(lines[-1]) // 2]
        else:
            lines.insert(index, lines[index])
    check(load(function), b"\n".join(lines))


@pytest.mark.parametrize("folder, function, files", PARSERS, ids=IDS)
def test_untouched_fixtures_parse(folder, function, files):
    for path in files:
        load(function)(path.read_bytes())
