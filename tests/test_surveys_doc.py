"""docs/surveys.md has one section per broker of TOM_ALERT_CLASSES, headed `## <pretty name> (`SOURCE`)`."""
from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings
from django.utils.module_loading import import_string

DOC = Path(__file__).resolve().parent.parent / "docs" / "surveys.md"


def _sections() -> dict[str, str]:
    text = DOC.read_text(encoding="utf-8")
    parts = re.split(r"^## ", text, flags=re.MULTILINE)[1:]
    return {part.splitlines()[0].strip(): part for part in parts}


def test_every_broker_has_its_section():
    sections = _sections()
    missing = []
    for path in settings.TOM_ALERT_CLASSES:
        source = import_string(path).data_source
        heading = f"{source.pretty_name} (`{source.name}`)"
        if heading not in sections:
            missing.append(f"## {heading}  ({path})")
    assert not missing, "docs/surveys.md lacks the sections:\n" + "\n".join(missing)


def test_each_section_states_time_and_links_the_surveys_documentation():
    for heading, body in _sections().items():
        if not re.search(r"\(`[A-Z0-9_]+`\)$", heading):  # the shared rules, not a survey's section
            continue
        assert "Time" in body or "time" in body, heading
        assert "http" in body, f"{heading}: no link to the survey's documentation"
