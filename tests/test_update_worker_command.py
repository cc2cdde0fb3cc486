"""``manage.py update_worker`` refuses what it cannot run, with a clear message (any database)."""
from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command


def test_update_worker_refuses_a_backend_without_a_queue(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    with pytest.raises(CommandError, match="TASKS_BACKEND=database"):
        call_command("update_worker", "--batch")


def test_update_worker_refuses_zero_threads():
    with pytest.raises(CommandError, match="--threads must be at least 1"):
        call_command("update_worker", "--threads", "0", "--batch")
