"""Django set-up shared by the benchmarks: a fresh migrated SQLite database in a temporary folder."""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TMP = Path(tempfile.mkdtemp(prefix="bhtom-bench-"))
TEMPLATE = TMP / "template.sqlite3"


def setup(settings_module: str = "settings") -> None:
    """Configure Django on a migrated template database (``TEMPLATE``), quietly."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module)
    if "DATABASE_URL" not in os.environ:
        os.environ["SQLITE_PATH"] = str(TEMPLATE)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def fresh_database(name: str) -> Path:
    """Point Django's connection at a fresh copy of the migrated template."""
    from django.db import connection

    connection.close()
    path = TMP / f"{name}.sqlite3"
    shutil.copyfile(TEMPLATE, path)
    connection.settings_dict["NAME"] = str(path)
    return path


def cleanup() -> None:
    shutil.rmtree(TMP, ignore_errors=True)
