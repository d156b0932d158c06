"""Run the whole product on one machine: migrate, load the demo, start web + worker + beat.

The embedded default (docs/architecture.md §2): SQLite, a filesystem broker under ./var, sandbox third
parties mounted in the web process. Ctrl-C stops every child cleanly.
"""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from sandbox.demo import DEMO_LOGINS


class Command(BaseCommand):
    help = "Run web, Celery worker and beat on the embedded default, with the sandbox and demo data."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-worker", action="store_true", help="Only the web process.")

    def handle(self, *args, port, no_worker, **options):
        for folder in ("broker", "broker-done", "broker-control", "cache"):
            (settings.VAR_DIR / folder).mkdir(parents=True, exist_ok=True)
        call_command("migrate", interactive=False, verbosity=0)
        logins = self._load_demo()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        children = [
            subprocess.Popen(  # noqa: S603
                [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"], env=env
            )
        ]
        if not no_worker:
            children.append(
                subprocess.Popen(  # noqa: S603
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "brickinvoice",
                        "worker",
                        "--beat",
                        "--loglevel=INFO",
                        "--concurrency=2",
                        "-Q",
                        "default,marketplaces,fatture",
                        f"--schedule={settings.VAR_DIR / 'celerybeat-schedule'}",
                    ],
                    env=env,
                )
            )
        self.stdout.write(self.style.SUCCESS(f"\nBrickInvoice is running at http://127.0.0.1:{port}/"))
        for line in logins:
            self.stdout.write(f"  {line}")
        self.stdout.write("Press Ctrl-C to stop.\n")
        self._wait(children)

    def _load_demo(self) -> list[str]:
        call_command("load_demo", verbosity=0)
        return [f"{role}: {email} / {password}" for role, email, password in DEMO_LOGINS]

    def _wait(self, children):
        def stop(*_):
            # SIGTERM, not SIGINT: Ctrl-C in a terminal already sent SIGINT to every child, and a
            # second SIGINT turns Celery's warm shutdown (finish running tasks) into a cold one.
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 10
            for child in children:
                try:
                    child.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.kill()
            sys.exit(0)

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        stop()
