"""Handing credit-note work to the workers: a small dispatcher pass of its own, on the pattern of
the invoices' (invoicing/queueing.py).

Why its own pass rather than one queue for both kinds of document: invoices and credit notes are
numbered in separate series of the accounting package (``type`` invoice / credit_note), each of
which must keep numbers in date order (docs/tax.md §7.4). Each pass keeps **one document of its
kind in flight per company**, the oldest first, so each series is issued in order; the two kinds
never wait for each other (a backlog of thousands of invoices does not delay a refund's credit
note), and ``company_write_lock`` still lets only one write at a time reach a company. The
bound on messages in flight and the company's quota are shared: the pass counts the invoices in
flight too and asks the same quota turn before sending.

Work waits in the database: a credit note waiting for its turn, the quota or a retry is a row with
a ``next_attempt_at`` and no message. ``queued_at`` marks a row whose message is in flight (the
claim clears it); a message lost with its broker leaves ``queued_at`` behind, and after
``INVOICE_QUEUED_LEASE_SECONDS`` the row is due again. A dead worker's claim is due again after
the claim lease. Nothing here imports the tasks: ``dispatch`` takes ``send(credit_note_id)``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .accounting import wait_before_invoice
from .creditmodels import CreditNote
from .queueing import Head, due_heads, in_flight_of
from .queueing import in_flight as invoices_in_flight

Send = Callable[[int], None]
K = CreditNote.State


def in_flight(*, now: datetime) -> int:
    """Credit-note messages in flight or credit notes being worked on, across every tenant."""
    return in_flight_of(CreditNote, now=now)


def _wait_for_quota(head: Head, wait: float, now: datetime) -> None:
    later = now + timedelta(seconds=wait)
    CreditNote.objects.filter(id=head.id, state=K.FAILED).update(next_attempt_at=later)
    # The code only: the page words it in the reader's language (ErrorBox.from_row).
    CreditNote.objects.filter(id=head.id, state=K.PENDING).update(
        next_attempt_at=later, error_code="fatture_quota", error_message="", error_hint=""
    )


def dispatch(*, send: Send, company_id: int | None = None, now: datetime | None = None) -> int:
    """One pass: a message for each due head, within the shared in-flight bound and each company's
    quota. ``company_id`` limits the pass to one company (a finished task continuing its chain)."""
    now = now or timezone.now()
    capacity = settings.INVOICE_DISPATCH_MAX_IN_FLIGHT - invoices_in_flight(now=now) - in_flight(now=now)
    if capacity <= 0:
        return 0
    sent = 0
    for head in due_heads(CreditNote, "created_at", now=now, company_id=company_id, limit=capacity):
        wait = wait_before_invoice(head.company_id)
        if wait > 0:
            _wait_for_quota(head, wait, now)
            continue
        claimed = CreditNote.objects.filter(id=head.id, state=head.state, queued_at=head.queued_at).update(
            queued_at=now
        )
        if claimed:
            transaction.on_commit(partial(send, head.id))
            sent += 1
    return sent
