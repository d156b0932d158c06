"""Arm or clear the sandbox fault hooks (see sandbox.faults), or end Fatture tokens.

Examples::

    python manage.py sandbox_fault --operation fatture.issued_documents.create --mode error_after --count 2
    python manage.py sandbox_fault --operation fatture.issued_documents.create --mode timeout_after --delay 40
    python manage.py sandbox_fault --expire-tokens            # every access token ends now (refresh works)
    python manage.py sandbox_fault --revoke-tokens            # grants revoked: the seller must reconnect
    python manage.py sandbox_fault --clear
"""

from django.core.management.base import BaseCommand, CommandError

from sandbox.fatture_oauth import tokens_expire, tokens_revoke
from sandbox.faults import OPERATIONS, fault_inject, faults_clear
from sandbox.models import SandboxFault


class Command(BaseCommand):
    help = "Inject faults into the sandbox fakes, or clear them."

    def add_arguments(self, parser):
        parser.add_argument("--operation", choices=OPERATIONS)
        parser.add_argument("--mode", choices=SandboxFault.Mode.values)
        parser.add_argument("--count", type=int, default=1, help="How many next calls fail (default 1).")
        parser.add_argument("--delay", type=float, default=35.0, help="Seconds a timeout_after call stalls.")
        parser.add_argument("--clear", action="store_true", help="Remove every pending fault.")
        parser.add_argument("--expire-tokens", nargs="?", const="", default=None, metavar="EMAIL")
        parser.add_argument("--revoke-tokens", nargs="?", const="", default=None, metavar="EMAIL")

    def handle(self, *args, operation, mode, count, delay, clear, expire_tokens, revoke_tokens, **options):
        did = False
        if clear:
            self.stdout.write(f"{faults_clear()} fault(s) removed.")
            did = True
        if expire_tokens is not None:
            self.stdout.write(f"{tokens_expire(email=expire_tokens or None)} access token(s) expired.")
            did = True
        if revoke_tokens is not None:
            self.stdout.write(f"{tokens_revoke(email=revoke_tokens or None)} grant(s) revoked.")
            did = True
        if operation or mode:
            if not (operation and mode):
                raise CommandError("--operation and --mode go together.")
            fault = fault_inject(operation=operation, mode=mode, count=count, delay_seconds=delay)
            self.stdout.write(f"Armed: {fault}.")
            did = True
        if not did:
            for fault in SandboxFault.objects.filter(remaining__gt=0):
                self.stdout.write(str(fault))
