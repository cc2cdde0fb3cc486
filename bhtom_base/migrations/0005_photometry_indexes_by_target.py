"""Indexes on TOM's photometry table for the questions this plugin asks of one target.

TOM Toolkit indexes the table by ``target_id`` and by ``timestamp`` separately. A
target's newest point (the target list's summary, ``ORDER BY timestamp DESC
LIMIT 1``) then walks the timestamp index of every target backwards until it
meets one of this target's rows, and a pair's stored points (reconcile, the
incremental start) are read among all of the target's sources. These two
indexes answer both from the target's own entries:

* ``(target_id, timestamp)``: newest point, counts, the plot's time-ordered read;
* ``(target_id, source_name, timestamp)``: one survey's points of one target.

On PostgreSQL they are built ``CONCURRENTLY`` (the migration is not atomic), so
a site with millions of rows keeps writing while they build.
"""
from django.db import migrations

TABLE = "tom_dataproducts_photometryreduceddatum"
INDEXES = {
    "bhtom_phot_target_time": "(target_id, timestamp)",
    "bhtom_phot_target_source_time": "(target_id, source_name, timestamp)",
}


def create(apps, schema_editor):
    concurrently = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
    for name, columns in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX {concurrently}IF NOT EXISTS {name} ON {TABLE} {columns}")


def drop(apps, schema_editor):
    concurrently = "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX {concurrently}IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("bhtom_base", "0004_ztf_dr_stable_band_names"),
        ("tom_dataproducts", "0020_remove_astrometryreduceddatum_unique_astrometry_and_more"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
