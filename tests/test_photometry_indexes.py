"""Migration 0005: the photometry table has the per-target indexes the plugin's queries need."""
from __future__ import annotations

import pytest
from django.db import connection

TABLE = "tom_dataproducts_photometryreduceddatum"


@pytest.mark.django_db
def test_per_target_indexes_exist_with_their_columns():
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, TABLE)
    assert constraints["bhtom_phot_target_time"]["columns"] == ["target_id", "timestamp"]
    assert constraints["bhtom_phot_target_source_time"]["columns"] == ["target_id", "source_name", "timestamp"]
    assert constraints["bhtom_phot_target_time"]["index"] is True


@pytest.mark.django_db(transaction=True)  # CREATE INDEX CONCURRENTLY cannot run inside a transaction
def test_migration_can_be_reversed_and_applied_again():
    from django.core.management import call_command

    def names() -> set[str]:
        with connection.cursor() as cursor:
            return set(connection.introspection.get_constraints(cursor, TABLE))

    call_command("migrate", "bhtom_base", "0004", verbosity=0)
    try:
        assert "bhtom_phot_target_time" not in names()
    finally:
        call_command("migrate", "bhtom_base", verbosity=0)
    assert {"bhtom_phot_target_time", "bhtom_phot_target_source_time"} <= names()
