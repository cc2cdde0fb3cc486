"""Run queued lightcurve updates: django-tasks' database worker, with several threads per process.

    manage.py update_worker --threads 8            # forever, under systemd/supervisor
    manage.py update_worker --threads 8 --batch    # until the queue is empty

An update spends most of its time waiting for a survey's answer, so one task at
a time per process (``db_worker``) leaves the machine idle: a worker process
with N threads runs N updates at once. Each thread runs django-tasks' worker
loop with its own database connection, kept between tasks; a task is claimed with
``SELECT ... FOR UPDATE SKIP LOCKED``, so each runs exactly once however many
threads, processes and machines share the queue. The politeness limits
(``BHTOM_POLITENESS``) hold per process, for all its threads together.

At start the work of dead workers is released (pairs left ``running`` past
their lease, task rows left RUNNING: :func:`bhtom_base.scheduling.release_dead_work`).
The first SIGINT/SIGTERM lets every thread finish its current update and stop;
a second stops at once. The exit status is 1 when a thread failed outside a task
(e.g. the database went away), so a supervisor restarts the worker.
"""
from __future__ import annotations

import os
import signal
import threading
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from django.db.utils import OperationalError
from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, tasks
from django_tasks.backends.database.backend import DatabaseBackend
from django_tasks.backends.database.management.commands.db_worker import Worker
from django_tasks.backends.database.models import DBTaskResult
from django_tasks.backends.database.utils import exclusive_transaction
from django_tasks.exceptions import InvalidTaskBackendError

from ...scheduling import release_dead_work


class ThreadWorker(Worker):
    """django-tasks' worker loop in a thread, keeping its database connection between tasks.

    The loop is django-tasks 0.6.1's (claim the oldest ready task in a short
    locked transaction, run it, repeat) except that the thread's connection is
    closed only when it broke: ``db_worker`` opens a new one for every task,
    which on PostgreSQL costs a server process start per update. The command's
    main thread handles the signals for all threads.
    """

    def configure_signals(self) -> None:
        pass

    def start(self) -> None:
        while self.running:
            ready = DBTaskResult.objects.ready().filter(backend_name=self.backend_name)
            if not self.process_all_queues:
                ready = ready.filter(queue_name__in=self.queue_names)
            task_result = None
            try:
                self.running_task = True
                with exclusive_transaction(ready.db):
                    try:
                        task_result = ready.get_locked()
                    except OperationalError as error:  # SQLite: the queue is locked by another worker
                        if "is locked" not in str(error):
                            raise
                    if task_result is not None:
                        task_result.claim()
                if task_result is not None:
                    self.run_task(task_result)
            finally:
                self.running_task = False
                _close_broken_connections()
            if self.batch and task_result is None:
                return
            if self.running and task_result is None:
                time.sleep(self.interval)


def _close_broken_connections() -> None:
    for connection in connections.all(initialized_only=True):
        if connection.in_atomic_block:  # a task left a transaction open: never carry it into the next
            connection.close()
        elif connection.errors_occurred and not connection.is_usable():
            connection.close()


class Command(BaseCommand):
    help = "Run queued lightcurve updates (TASKS_BACKEND=database) with several threads per process."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--threads", type=int, default=4, help="updates run at once by this process (default 4)")
        parser.add_argument("--queue-name", default="default",
                            help="queues to process, comma separated; '*' for all (default: default)")
        parser.add_argument("--interval", type=float, default=1.0,
                            help="seconds to wait when the queue is empty (default 1)")
        parser.add_argument("--batch", action="store_true", help="run until the queue is empty, then exit")
        parser.add_argument("--backend", default=DEFAULT_TASK_BACKEND_ALIAS, dest="backend_name",
                            help="the django-tasks backend (default: %(default)s)")

    def handle(self, *args, threads: int, queue_name: str, interval: float, batch: bool, backend_name: str,
               **options) -> None:
        if threads < 1:
            raise CommandError("--threads must be at least 1")
        if interval < 0:
            raise CommandError("--interval must not be negative")
        try:
            backend = tasks[backend_name]
        except InvalidTaskBackendError as error:
            raise CommandError(str(error)) from None
        if not isinstance(backend, DatabaseBackend):
            raise CommandError(f"update_worker runs the database backend's queue; TASKS_BACKEND={backend_name!r} "
                               "is not django-tasks' DatabaseBackend (set TASKS_BACKEND=database)")
        workers = [ThreadWorker(queue_names=queue_name.split(","), interval=interval, batch=batch,
                                backend_name=backend_name, startup_delay=False) for _ in range(threads)]
        failures: list[BaseException] = []

        def run(worker: ThreadWorker) -> None:
            try:
                worker.start()
            except BaseException as error:  # noqa: BLE001 - reported by the main thread, which exits 1
                failures.append(error)
                for other in workers:
                    other.running = False

        stop_requests = 0

        def stop(signum, frame) -> None:
            nonlocal stop_requests
            stop_requests += 1
            if stop_requests > 1:
                os._exit(1)
            self.stderr.write(f"{signal.strsignal(signum)}: finishing the running updates (again to stop at once)")
            for worker in workers:
                worker.running = False

        # before anything else, so a signal during the start-up below stops the worker cleanly too
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, stop)
        pairs, rows = release_dead_work()
        if pairs or rows:
            self.stderr.write(f"released the work of dead workers: {pairs} pairs, {rows} task rows marked failed")
        started = [threading.Thread(target=run, args=(worker,), name=f"update-worker-{i}", daemon=True)
                   for i, worker in enumerate(workers)]
        for thread in started:
            thread.start()
        for thread in started:
            while thread.is_alive():
                thread.join(0.5)  # wake up now and then: signals are handled by this thread
        if failures:
            raise CommandError(f"a worker thread stopped: {type(failures[0]).__name__}: {failures[0]}")
