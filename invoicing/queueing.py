"""Which orders need an invoice, and putting their invoice work in the queue: eligibility, queueing
a sync's invoices, the seller's retries, and the safety net that requeues lost work.

Nothing here imports the tasks: the caller passes ``enqueue(invoice_id, account_id)`` (normally
``invoicing.tasks.enqueue_invoice``), which sends one message; work created inside a transaction
is sent only after it commits.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Tenant
from marketplaces.models import Order

from .accounting import account_of
from .models import Invoice, SyncRun
from .rules import seller_rules_for

# (invoice id, accounting account id or None) → one task message, sent now.
Enqueue = Callable[[int, int | None], None]

# Longer than the invoice task's hard time limit: a live task never loses its claim.
CLAIM_LEASE = timedelta(seconds=settings.INVOICE_CLAIM_LEASE_SECONDS)
REQUEUE_BATCH = 500

S = Invoice.State


def eligible_orders(*, tenant: Tenant, store_id: int | None = None):
    """Orders that should have an invoice and have none yet (or one that was skipped)."""
    rules = seller_rules_for(tenant)
    orders = Order.objects.filter(tenant=tenant, status__in=list(rules.invoiceable_statuses)).exclude(
        status="cancelled"
    )
    if store_id:
        orders = orders.filter(store_id=store_id)
    if rules.cutoff_date:
        orders = orders.filter(ordered_at__date__gte=rules.cutoff_date)
    return orders.filter(Q(invoice__isnull=True) | Q(invoice__state__in=[S.PENDING, S.SKIPPED]))


def invoices_queue_eligible(
    *, tenant: Tenant, enqueue: Enqueue, store_id: int | None = None, sync_run: SyncRun | None = None
) -> int:
    """Create the invoice rows of eligible orders and queue one task each, after commit."""
    account_id = account_of(tenant)
    with transaction.atomic():
        # A few statements for the whole batch, not a get-or-create per order: a first sync of a
        # large store queues thousands of orders.
        order_ids = list(eligible_orders(tenant=tenant, store_id=store_id).values_list("id", flat=True))
        Invoice.objects.bulk_create(
            [Invoice(tenant=tenant, order_id=order_id, sync_run=sync_run) for order_id in order_ids],
            ignore_conflicts=True,
        )
        waiting = Invoice.objects.filter(order_id__in=order_ids, state__in=[S.PENDING, S.SKIPPED])
        queued = list(waiting.values_list("id", flat=True))
        waiting.filter(id__in=queued).update(state=S.PENDING, sync_run=sync_run)
        if sync_run and queued:
            SyncRun.objects.filter(id=sync_run.id).update(invoices_queued=F("invoices_queued") + len(queued))
        for invoice_id in queued:
            transaction.on_commit(partial(enqueue, invoice_id, account_id))
    return len(queued)


def invoice_retry(*, invoice: Invoice, enqueue: Enqueue) -> bool:
    """The seller's Retry button: a failed or held invoice goes back to the queue."""
    with transaction.atomic():
        reopened = Invoice.objects.filter(id=invoice.id, state__in=[S.FAILED, S.NEEDS_ATTENTION, S.SKIPPED]).update(
            state=S.PENDING, next_attempt_at=None, attempts=0
        )
        if reopened:
            transaction.on_commit(lambda: enqueue(invoice.id, invoice.company_id))
    return bool(reopened)


def invoices_retry_all_failed(*, tenant: Tenant, enqueue: Enqueue) -> int:
    invoices = Invoice.objects.filter(tenant=tenant, state__in=[S.FAILED, S.NEEDS_ATTENTION])
    return sum(invoice_retry(invoice=invoice, enqueue=enqueue) for invoice in invoices)


def invoices_requeue_stuck(*, enqueue: Enqueue, now=None) -> int:
    """Safety net for lost messages and dead workers (beat, every few minutes)."""
    now = now or timezone.now()
    stuck = Invoice.objects.filter(
        Q(state__in=[S.CLAIMED, S.SUBMITTING], claimed_at__lt=now - CLAIM_LEASE)
        | Q(state=S.FAILED, next_attempt_at__lte=now)
        | Q(state=S.PENDING, updated_at__lt=now - CLAIM_LEASE)
    ).values_list("id", "company_id")
    rows = list(stuck[:REQUEUE_BATCH])
    for invoice_id, company_id in rows:
        enqueue(invoice_id, company_id)
    return len(rows)


def invoice_now(*, order: Order, enqueue: Enqueue) -> bool:
    """'Invoice this order now' from the preview page: queue it unless it is issued or in flight."""
    with transaction.atomic():
        invoice, _ = Invoice.objects.get_or_create(order=order, defaults={"tenant": order.tenant})
        reopened = Invoice.objects.filter(
            id=invoice.id, state__in=[S.PENDING, S.SKIPPED, S.FAILED, S.NEEDS_ATTENTION]
        ).update(state=S.PENDING, next_attempt_at=None)
        if reopened:
            transaction.on_commit(lambda: enqueue(invoice.id, invoice.company_id))
    return bool(reopened)
