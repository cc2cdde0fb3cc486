"""``bulk_create`` for many rows that differ in a few columns only.

Django's ``bulk_create`` needs one model instance per row and prepares every
field of every one (most of the 108 s that queueing 160,000 pairs took).
:func:`insert_like` prepares the columns shared by every row once, from one
template instance, and only the ``varying`` ones per row, then sends one
``executemany`` through Django's connection (inside the caller's transaction,
if any).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import connections, router
from django.db.models import Model
from django.db.models.constants import OnConflict
from django.db.models.fields import AutoFieldMixin


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
    slots = [fields.index(f) for f in varying_fields]
    on_conflict = OnConflict.IGNORE if ignore_conflicts else None
    ops = connection.ops
    sql = (f"{ops.insert_statement(on_conflict=on_conflict)} {ops.quote_name(model._meta.db_table)} "
           f"({', '.join(ops.quote_name(f.column) for f in fields)}) VALUES ({', '.join(['%s'] * len(fields))}) "
           f"{ops.on_conflict_suffix_sql(fields, on_conflict, None, None)}")
    prepared = []
    for row in rows:
        values = list(template_values)
        for slot, field, value in zip(slots, varying_fields, row, strict=True):
            values[slot] = field.get_db_prep_save(value, connection)
        prepared.append(values)
    if prepared:
        with connection.cursor() as cursor:
            cursor.executemany(sql, prepared)
