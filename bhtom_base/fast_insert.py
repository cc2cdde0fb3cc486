"""``bulk_create`` for many rows that differ in a few columns only.

Django's ``bulk_create`` needs one model instance per row and prepares every
field of every one (most of the 108 s that queueing 160,000 pairs took).
:func:`insert_like` prepares the columns shared by every row once, from one
template instance, and only the ``varying`` ones per row, then sends
through Django's connection (inside the caller's transaction, if any) one
``INSERT ... SELECT ... FROM unnest(<one array per varying column>)`` on
PostgreSQL, multi-row ``INSERT ... VALUES`` statements elsewhere.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from django.db import connections, router
from django.db.models import Model
from django.db.models.constants import OnConflict
from django.db.models.fields import AutoFieldMixin

MAX_ROWS_PER_STATEMENT = 1000


def insert_like(template: Model, varying: Sequence[str], rows: Iterable[Sequence],
                ignore_conflicts: bool = False) -> None:
    """INSERT one row per item of ``rows``: the ``varying`` fields' values, the rest as in ``template``.

    ``ignore_conflicts`` skips rows that break a unique constraint, as ``bulk_create`` does.
    An auto-increment primary key is left to the database; no ``save()`` or signal runs.
    """
    model = type(template)
    connection = connections[router.db_for_write(model)]
    fields = [f for f in model._meta.concrete_fields if not isinstance(f, AutoFieldMixin)]
    by_name = {f.name: f for f in fields} | {f.attname: f for f in fields}
    unknown = [name for name in varying if name not in by_name]
    if unknown:
        raise ValueError(f"{model.__name__} has no column {', '.join(unknown)}")
    varying_fields = [by_name[name] for name in varying]
    template_values = [None if f in varying_fields else f.get_db_prep_save(f.pre_save(template, add=True), connection)
                       for f in fields]
    on_conflict = OnConflict.IGNORE if ignore_conflicts else None
    ops = connection.ops
    head = (f"{ops.insert_statement(on_conflict=on_conflict)} {ops.quote_name(model._meta.db_table)} "
            f"({', '.join(ops.quote_name(f.column) for f in fields)}) ")
    tail = f" {ops.on_conflict_suffix_sql(fields, on_conflict, None, None)}"
    rows = list(rows)
    if not rows:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            _insert_unnest(cursor, connection, head, tail, fields, template_values, varying_fields, rows)
        else:
            _insert_values(cursor, connection, head, tail, fields, template_values, varying_fields, rows)


def _insert_unnest(cursor, connection, head, tail, fields, template_values, varying_fields, rows) -> None:
    """PostgreSQL: one statement, the shared values once and each varying column as one array (``unnest``).

    Arrays go as text and are cast to the column's type, so any column type works with either binding.
    """
    selected, params = [], []
    for field, value in zip(fields, template_values, strict=True):
        if field in varying_fields:
            selected.append(f"v.c{varying_fields.index(field)}::{field.db_type(connection)}")
        else:
            selected.append(f"%s::{field.db_type(connection)}")
            params.append(value)
    columns = [[_as_text(field.get_db_prep_save(row[i], connection)) for row in rows]
               for i, field in enumerate(varying_fields)]
    arrays = ", ".join(["%s::text[]"] * len(columns))
    aliases = ", ".join(f"c{i}" for i in range(len(columns)))
    cursor.execute(f"{head}SELECT {', '.join(selected)} FROM unnest({arrays}) AS v({aliases}){tail}",
                   params + columns)


def _as_text(value) -> str | None:
    """A prepared value as PostgreSQL text input (JSON adapters carry their object in ``obj``)."""
    if value is None:
        return None
    if hasattr(value, "obj") and hasattr(value, "dumps"):
        text = (value.dumps or json.dumps)(value.obj)
        return text.decode() if isinstance(text, bytes) else text
    return str(value)


def _insert_values(cursor, connection, head, tail, fields, template_values, varying_fields, rows) -> None:
    """Other databases: multi-row ``VALUES``, as many rows per statement as the driver takes."""
    slots = [fields.index(f) for f in varying_fields]
    prepared = []
    for row in rows:
        values = list(template_values)
        for slot, field, value in zip(slots, varying_fields, row, strict=True):
            values[slot] = field.get_db_prep_save(value, connection)
        prepared.append(values)
    one_row = f"({', '.join(['%s'] * len(fields))})"
    batch = max(1, min(MAX_ROWS_PER_STATEMENT, connection.ops.bulk_batch_size(fields, prepared)))
    for start in range(0, len(prepared), batch):
        chunk = prepared[start:start + batch]
        cursor.execute(f"{head}VALUES {', '.join([one_row] * len(chunk))}{tail}",
                       [value for values in chunk for value in values])
