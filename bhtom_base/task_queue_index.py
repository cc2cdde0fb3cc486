"""An index on django-tasks' queue table for the workers' "next ready task" question.

A worker claims its next task with ``WHERE status = 'NEW' AND (run_after IS NULL
OR run_after <= now) ORDER BY priority DESC, run_after DESC NULLS LAST LIMIT 1
FOR UPDATE SKIP LOCKED``. django-tasks 0.6 indexes nothing but the id, so every
claim reads and sorts the whole table, finished rows included (until pruned):
with 160,000 queued updates each claim costs tens of milliseconds of database
CPU, 160,000 times. A partial index on the ready rows in that order lets the
claim take the first unlocked entry.

The table belongs to django-tasks' database backend, installed on some sites
only, and may be created after this app's migrations: the index is created
(``IF NOT EXISTS``) after every ``migrate`` where the table exists.
"""
from __future__ import annotations

from django.db import connections

TABLE = "django_tasks_database_dbtaskresult"
INDEX = "bhtom_tasks_ready"
# SQLite orders NULLs first, so its DESC already puts them last (and it has no NULLS LAST in an index)
ORDER = {"sqlite": "priority DESC, run_after DESC"}
DEFAULT_ORDER = "priority DESC, run_after DESC NULLS LAST"


def ensure_ready_index(using: str = "default", **kwargs) -> bool:
    """Create the index where the queue table exists; True when it exists afterwards."""
    connection = connections[using]
    with connection.cursor() as cursor:
        if TABLE not in connection.introspection.table_names(cursor):
            return False
        order = ORDER.get(connection.vendor, DEFAULT_ORDER)
        cursor.execute(f"CREATE INDEX IF NOT EXISTS {INDEX} ON {TABLE} ({order}) WHERE status = 'NEW'")
    return True
