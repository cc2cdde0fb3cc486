"""The partial index on django-tasks' queue table that workers' claims use (``bhtom_base.task_queue_index``)."""
from __future__ import annotations

import pytest
from django.db import connection

from bhtom_base.task_queue_index import INDEX, TABLE, ensure_ready_index

pytestmark = pytest.mark.django_db


def test_the_ready_index_exists_after_migrate_on_the_ready_rows_in_claim_order():
    with connection.cursor() as cursor:
        assert TABLE in connection.introspection.table_names(cursor)
        constraints = connection.introspection.get_constraints(cursor, TABLE)
    assert constraints[INDEX]["columns"] == ["priority", "run_after"]
    assert constraints[INDEX]["index"] is True
    assert ensure_ready_index() is True  # idempotent


def test_the_claim_query_can_use_it():
    """django-tasks' own "next ready task" query is answered from the index, not a scan and sort of the table."""
    from django_tasks.backends.database.models import DBTaskResult

    query = DBTaskResult.objects.ready().select_for_update(skip_locked=True)[:1]
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = " ".join(str(row) for row in cursor.fetchall())
    assert INDEX in plan, plan
    assert "Sort" not in plan and "TEMP B-TREE" not in plan.upper(), plan
