"""Load (or refresh) the demo logins, sandbox stores and orders, and the fake Fatture accounts.
Idempotent: running it twice leaves the same rows. ``make run`` calls it through ``rundemo``."""

from django.core.management.base import BaseCommand

from sandbox.demo import DEMO_LOGINS, demo_load


class Command(BaseCommand):
    help = "Load the demo data (idempotent): logins, sandbox BrickLink/BrickOwl stores, fake Fatture accounts."

    def handle(self, *args, **options):
        counts = demo_load()
        self.stdout.write(self.style.SUCCESS("Demo data loaded: " + ", ".join(f"{k}={v}" for k, v in counts.items())))
        for role, email, password in DEMO_LOGINS:
            self.stdout.write(f"  {role}: {email} / {password}")
        self.stdout.write("  Fake credentials to paste into the connect forms: /sandbox/")
