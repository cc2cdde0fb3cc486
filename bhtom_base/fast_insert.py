"""``bulk_create`` for many rows that differ in a few columns only.

Django's ``bulk_create`` needs one model instance per row and prepares every
field of every one (most of the 108 s that queueing 160,000 pairs took).
:func:`insert_like` prepares the columns shared by every row once, from one
template instance, and only the ``varying`` ones per row, then sends
through Django's connection (inside the caller's transaction, if any) one
``INSERT ... SELECT ... FROM <one JSON array of rows>`` on PostgreSQL
(``json_array_elements``) and SQLite (``json_each``), one single-row
``INSERT`` run by ``executemany`` elsewhere.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from functools import partial

from django.db import connections, router, transaction
from django.db.models import Model
from django.db.models.constants import OnConflict
from django.db.models.fields import AutoFieldMixin


def insert_like(template: Model, varying: Sequence[str], rows: Iterable[Sequence],
                ignore_conflicts: bool = False, raw: Sequence[str] = ()) -> None:
    """INSERT one row per item of ``rows``: the ``varying`` fields' values, the rest as in ``template``.

    ``ignore_conflicts`` skips rows that break a unique constraint, as ``bulk_create`` does.
    ``raw`` names varying fields whose values are given as the database takes them
    (a JSONField's JSON text): not prepared again per row.
    An auto-increment primary key is left to the database; no ``save()`` or signal runs.
    """
    model = type(template)
    connection = connections[router.db_for_write(model)]
    fields = [f for f in model._meta.concrete_fields if not isinstance(f, AutoFieldMixin)]
    by_name = {f.name: f for f in fields} | {f.attname: f for f in fields}
    unknown = [name for name in varying if name not in by_name]
    if unknown:
        raise ValueError(f"{model.__name__} has no column {', '.join(unknown)}")
    if set(raw) - set(varying):
        raise ValueError(f"raw names columns not varying: {', '.join(sorted(set(raw) - set(varying)))}")
    varying_fields = [by_name[name] for name in varying]
    prepare = [_as_is if name in raw else partial(by_name[name].get_db_prep_save, connection=connection)
               for name in varying]
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
    # one transaction (a savepoint inside the caller's): all rows or none, and one commit
    # rather than one per row of executemany in autocommit
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            _insert_json_pg(cursor, connection, head, tail, fields, template_values, varying_fields, prepare, rows)
            return
        values = [[prep(value) for prep, value in zip(prepare, row, strict=True)] for row in rows]
        if connection.vendor == "sqlite" and _insert_json_each(cursor, head, tail, fields, template_values,
                                                               varying_fields, values):
            return
        _insert_values(cursor, fields, head, tail, template_values, varying_fields, values)


def _insert_json_pg(cursor, connection, head, tail, fields, template_values, varying_fields, prepare, rows) -> None:
    """PostgreSQL: one statement, the shared values once and the varying ones as one JSON array of rows.

    Each varying value goes as text (``->>``) cast to its column's type, so any column type works
    with either binding. One JSON text rather than one ``text[]`` per column for ``unnest``:
    psycopg escapes each array element in Python (a regex substitution per element), which took
    longer than the whole ``INSERT`` on the server for 160,000 task rows.
    """
    selected, params = [], []
    for field, value in zip(fields, template_values, strict=True):
        if field in varying_fields:
            selected.append(f"(v ->> {varying_fields.index(field)})::{field.db_type(connection)}")
        else:
            selected.append(f"%s::{field.db_type(connection)}")
            params.append(value)
    data = json.dumps([[_as_text(prep(value)) for prep, value in zip(prepare, row, strict=True)] for row in rows])
    cursor.execute(f"{head}SELECT {', '.join(selected)} FROM json_array_elements(%s::json) AS v{tail}",
                   [*params, data])


def _as_is(value):
    return value


def _as_text(value) -> str | int | None:
    """A prepared value as PostgreSQL text input (JSON adapters carry their object in ``obj``).

    None, str and int as they are: JSON carries them and ``->>`` gives their text.
    """
    if value is None or type(value) in (str, int):
        return value
    if hasattr(value, "obj") and hasattr(value, "dumps"):
        text = (value.dumps or json.dumps)(value.obj)
        return text.decode() if isinstance(text, bytes) else text
    return str(value)


def _insert_json_each(cursor, head, tail, fields, template_values, varying_fields, values) -> bool:
    """SQLite: one statement, the shared values once and the varying ones as one JSON array of rows.

    ``INSERT ... SELECT <shared values>, json_extract(value, '$[i]') ... FROM json_each(<rows>)``:
    SQLite's counterpart of ``unnest`` (JSON functions are built in since 3.38, the JSON1
    extension before). Binding 24 values per row with ``executemany`` took 4 times as long.
    False, and nothing done, when a varying value is not JSON's (str, int, float, None).
    """
    try:
        data = json.dumps(values, allow_nan=False)
    except (TypeError, ValueError):  # a Decimal, bytes, NaN...: bound one row at a time instead
        return False
    selected, params = [], []
    for field, value in zip(fields, template_values, strict=True):
        if field in varying_fields:
            selected.append(f"json_extract(value, '$[{varying_fields.index(field)}]')")
        else:
            selected.append("%s")
            params.append(value)
    cursor.execute(f"{head}SELECT {', '.join(selected)} FROM json_each(%s){tail}", [*params, data])
    return True


def _insert_values(cursor, fields, head, tail, template_values, varying_fields, values) -> None:
    """Other databases: one single-row ``INSERT`` run once per row with ``executemany``.

    The statement is prepared once and the driver binds each row's values (no
    variable limit to split around, no long SQL text to build), and Django's
    debug cursor (``DEBUG=True``) records it once instead of quoting every
    value of every row back into SQL text.
    """
    slots = [fields.index(f) for f in varying_fields]
    rows = []
    for row in values:
        full = list(template_values)
        for slot, value in zip(slots, row, strict=True):
            full[slot] = value
        rows.append(full)
    cursor.executemany(f"{head}VALUES ({', '.join(['%s'] * len(fields))}){tail}", rows)
