"""TOM's CSV target import, one transaction per row: a refused row creates nothing.

TOM's ``import_targets`` creates the target, then its extras, and on an error
only records it: a row with a bad survey name became a target without its
survey names (valid ones in the same row dropped too), reported as not created,
and re-importing the fixed file then failed on the unique name. Here every row
goes through TOM's own function on its own, inside a savepoint that is rolled
back when the row fails, and survey names are checked first so the message
says which column is wrong. The result has TOM's shape (``targets``,
``errors``), so the count TOM shows is the number really created.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from functools import cache

from django.db import transaction

from . import survey_name_hooks


class _RowRefused(Exception):
    """Rolls a row's savepoint back."""


def _one_row_csv(header: list[str], row: dict) -> io.StringIO:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, dialect=csv.excel)
    writer.writeheader()
    writer.writerow({key: value for key, value in row.items() if key in header})
    buffer.seek(0)
    return buffer


def _survey_name_problems(row: dict) -> list[str]:
    problems = (survey_name_hooks.survey_name_error(key, value) for key, value in row.items())
    return [problem for problem in problems if problem]


def import_targets_per_row(target_stream: Iterable[str], tom_import_targets) -> dict:
    """Like TOM's ``import_targets``, with each row all or nothing."""
    reader = csv.DictReader(target_stream, dialect=csv.excel)
    header = list(reader.fieldnames or [])
    targets, errors = [], []
    for index, row in enumerate(reader):
        line = index + 2  # the header is line 1
        problems = _survey_name_problems(row)
        if problems:
            errors.append(f"Error on line {line}: {'; '.join(problems)}. Nothing of this row was created.")
            continue
        try:
            with transaction.atomic():
                result = tom_import_targets(_one_row_csv(header, row))
                if result["errors"]:
                    raise _RowRefused("; ".join(result["errors"]))
        except _RowRefused as refused:
            detail = str(refused).replace("Error on line 2: ", "")
            errors.append(f"Error on line {line}: {detail}. Nothing of this row was created.")
            continue
        targets.extend(result["targets"])
    return {"targets": targets, "errors": errors}


@cache  # once per process: the hooks wrap TOM Toolkit's own functions
def install() -> None:
    """Route TOM's import view (and anything calling ``tom_targets.utils.import_targets``) through here."""
    from tom_targets import utils, views

    original = utils.import_targets

    def import_targets(target_stream):
        return import_targets_per_row(target_stream, original)

    import_targets.__doc__ = import_targets_per_row.__doc__
    utils.import_targets = import_targets
    views.import_targets = import_targets
