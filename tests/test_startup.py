"""``manage.py update_reduced_data`` starts without importing the site's views (issue #16, part 4).

System checks resolve every URL pattern, which imports every view module of
the site (TOM's data services pull in ALeRCE's client, astroquery...): about
0.6 s added to every cron run and worker start. bench/bench_startup.py
measures the time; this test checks the cause in a real ``manage.py`` process.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import atexit, json, runpy, sys
atexit.register(lambda: print("MODULES " + json.dumps(sorted(m for m in sys.modules if m.endswith(".views")))))
if sys.argv[1:]:
    sys.argv = ["manage.py", *sys.argv[1:]]
    runpy.run_path("manage.py", run_name="__main__")
else:
    import django
    django.setup()
"""


def view_modules(tmp_path: Path, *command: str) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Run ``manage.py *command`` (or only ``django.setup()``) and list the ``*.views`` modules it imported."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "settings", "SQLITE_PATH": str(tmp_path / "db.sqlite3"),
           "LOG_LEVEL": "WARNING"}
    env.pop("DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-c", PROBE, *command], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    line = next(line for line in done.stdout.splitlines() if line.startswith("MODULES "))
    return done, set(json.loads(line.removeprefix("MODULES ")))


def test_update_command_imports_no_view_beyond_django_setup(tmp_path):
    _, after_setup = view_modules(tmp_path)
    done, after_command = view_modules(tmp_path, "update_reduced_data", "--source", "NO_SUCH_SOURCE")
    assert done.returncode == 1
    assert "Unknown source 'NO_SUCH_SOURCE'" in done.stderr
    assert after_command - after_setup == set()


def test_manage_py_check_still_resolves_the_urls(tmp_path):
    """The checks are skipped by the update command only: ``manage.py check`` imports the site's views."""
    done, after_check = view_modules(tmp_path, "check")
    assert done.returncode == 0, done.stderr
    assert {"tom_targets.views", "bhtom_base.views"} <= after_check
