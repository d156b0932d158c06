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

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from .accounting import wait_before_invoice
from .creditmodels import CreditNote
from .queueing import CLAIM_LEASE, QUEUED_LEASE
from .queueing import in_flight as invoices_in_flight

Send = Callable[[int], None]
K = CreditNote.State


@dataclass(frozen=True)
class Head:
    """The oldest open credit note of one company: the only one that may be in flight."""

    id: int
    company_id: int
    state: str
    queued_at: datetime | None


_HEADS_SQL = """
SELECT id, company_id, state, queued_at FROM (
    SELECT c.id, c.company_id, c.state, c.queued_at, c.claimed_at, c.next_attempt_at,
           ROW_NUMBER() OVER (PARTITION BY c.company_id ORDER BY c.created_at, c.id) AS rank
    FROM invoicing_creditnote c
    WHERE c.state IN ('pending', 'claimed', 'submitting', 'failed') AND c.company_id IS NOT NULL {company_filter}
) heads
WHERE rank = 1
  AND (queued_at IS NULL OR queued_at < %(queued_stale)s)
  AND (
        (state IN ('pending', 'failed') AND (next_attempt_at IS NULL OR next_attempt_at <= %(now)s))
     OR (state IN ('claimed', 'submitting') AND claimed_at < %(claim_stale)s)
  )
ORDER BY ((company_id + %(salt)s) * 2654435761) %% 4294967296
LIMIT %(limit)s
"""


def _due_heads(*, now: datetime, company_id: int | None, limit: int) -> list[Head]:
    """Heads that are due, in an order that rotates on every pass (fair across companies)."""
    params: dict[str, datetime | int] = {
        "now": now,
        "queued_stale": now - QUEUED_LEASE,
        "claim_stale": now - CLAIM_LEASE,
        "salt": random.randrange(1 << 30),
        "limit": limit,
    }
    company_filter = ""
    if company_id is not None:
        company_filter, params["company_id"] = "AND c.company_id = %(company_id)s", company_id
    with connection.cursor() as cursor:
        cursor.execute(_HEADS_SQL.format(company_filter=company_filter), params)
        return [Head(*row) for row in cursor.fetchall()]


def in_flight(*, now: datetime) -> int:
    """Credit-note messages in flight or credit notes being worked on, across every tenant."""
    return CreditNote.objects.filter(
        Q(state__in=[K.PENDING, K.FAILED], queued_at__gte=now - QUEUED_LEASE)
        | Q(state__in=[K.CLAIMED, K.SUBMITTING], claimed_at__gte=now - CLAIM_LEASE)
    ).count()


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
    for head in _due_heads(now=now, company_id=company_id, limit=capacity):
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
