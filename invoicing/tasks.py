"""Celery tasks: ids in, one service call, retry policy and time limits beside the task (docs/architecture.md
§10.2).

Tasks call the services; the services never import this module. Invoice work is handed out by the
dispatcher (invoicing/queueing.py): services only write rows, and ``kick_dispatcher`` asks for a
pass once the writing transaction has committed.
"""

from __future__ import annotations

import logging
import threading

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext

from accounts.models import Tenant
from marketplaces.models import Order, StoreConnection
from marketplaces.services import order_reread_request, store_import_orders
from marketplaces.tasks import import_store

from . import creditnotes, creditqueue, digest, einvoicing, issuing, queueing, register, schedules, syncruns
from .accounting import account_of
from .models import CreditNote, Invoice, SyncRun

logger = logging.getLogger(__name__)

# Set while a dispatcher pass runs in this thread. With eager tasks (tests, the demo without a
# broker) a pass runs the invoices it sends inline, and each of them asks for a pass again: that
# request becomes another turn of the running loop instead of a recursion.
_local = threading.local()


def send_invoice(invoice_id: int) -> None:
    invoice_order.delay(invoice_id)


# A retry due within this long gets a pass of its own; later ones are found by beat's passes.
SOON = 60.0


def _expires(countdown: float = 0.0) -> float:
    """A kicked pass that waited in the broker longer than beat's interval is dropped: beat's own
    pass, queued meanwhile, covers the company too. So a busy pool never lets kicks pile up (one
    per finished invoice) in the broker."""
    return countdown + settings.INVOICE_DISPATCH_EVERY_SECONDS


def _kick(task, company_id: int | None, countdown: float | None) -> None:
    """Queue a pass of a dispatcher ``task`` after the current transaction commits (at once outside
    one), or ``countdown`` seconds later (at most SOON: never near the broker's visibility
    timeout); either way it expires after beat's interval."""
    if countdown:
        countdown = min(countdown, SOON)
        transaction.on_commit(lambda: task.apply_async((company_id,), countdown=countdown, expires=_expires(countdown)))
    else:
        transaction.on_commit(lambda: task.apply_async((company_id,), expires=_expires()))


def kick_dispatcher(company_id: int | None = None, *, countdown: float | None = None) -> None:
    """Ask for an invoice dispatcher pass (``_kick``)."""
    _kick(dispatch_invoices, company_id, countdown)


# Idempotent by its conditional claim, so late acknowledgement is safe: a message redelivered
# after a worker died finds the claim (or, after the lease, the `uncertain` look-up) and never
# creates a second invoice. Soft limit well under the claim lease (10 min). No automatic Celery
# retry: a failure is stored with its next attempt, and the dispatcher sends it again when due.
# ``company_id`` is accepted for messages sent by earlier versions and otherwise unused.
@shared_task(acks_late=True, soft_time_limit=120, time_limit=180)
def invoice_order(invoice_id: int, company_id: int | None = None) -> None:
    outcome = issuing.invoice_process(invoice_id=invoice_id)
    if outcome.invoice is None:
        return
    if Invoice.objects.filter(id=invoice_id, ei_state=Invoice.EInvoice.TO_SEND).exists():
        einvoicing.einvoice_send(invoice_id=invoice_id)  # right away: the company's turn is now
    # The company's next invoice now that this one is done (its chain goes on); or, when this one
    # retries soon, a pass at that moment.
    if outcome.retry_in and outcome.retry_in <= SOON:
        kick_dispatcher(outcome.invoice.company_id, countdown=outcome.retry_in + 0.1)
    else:
        kick_dispatcher(outcome.invoice.company_id)


# Cheap: a few queries. Run by beat every few seconds and kicked whenever work appears.
@shared_task(soft_time_limit=60, time_limit=90)
def dispatch_invoices(company_id: int | None = None) -> int:
    if getattr(_local, "active", False):
        _local.again = True
        return 0
    _local.active = True
    try:
        total = 0
        while True:
            _local.again = False
            sent = queueing.dispatch(send=send_invoice, company_id=company_id)
            total += sent
            if not (_local.again and sent):
                return total
            company_id = None  # inline work asked for more: look at every company again
    finally:
        _local.active = False


# --- credit notes (invoicing/creditnotes.py, dispatched by invoicing/creditqueue.py) ----------------


def send_credit_note(credit_note_id: int) -> None:
    issue_credit_note.delay(credit_note_id)


def kick_credit_dispatcher(company_id: int | None = None, *, countdown: float | None = None) -> None:
    """Ask for a credit-note dispatcher pass (``_kick``)."""
    _kick(dispatch_credit_notes, company_id, countdown)


# Idempotent by its conditional claim and the `uncertain` look-up, like invoice_order: late
# acknowledgement is safe. The same limits as invoice_order, under the claim lease (checked at
# start-up for invoice_order). No Celery retry: failures are stored with their next attempt.
@shared_task(acks_late=True, soft_time_limit=120, time_limit=180)
def issue_credit_note(credit_note_id: int) -> None:
    outcome = creditnotes.credit_note_process(credit_note_id=credit_note_id)
    if outcome.credit_note is None:
        return
    if outcome.retry_in and outcome.retry_in <= SOON:
        kick_credit_dispatcher(outcome.credit_note.company_id, countdown=outcome.retry_in + 0.1)
    else:
        kick_credit_dispatcher(outcome.credit_note.company_id)


# Cheap: a few queries. Run by beat every few seconds and kicked whenever credit-note work appears.
@shared_task(soft_time_limit=60, time_limit=90)
def dispatch_credit_notes(company_id: int | None = None) -> int:
    if getattr(_local, "credit_active", False):  # eager: a pass asked for inside a pass is a new turn
        _local.credit_again = True
        return 0
    _local.credit_active = True
    try:
        total = 0
        while True:
            _local.credit_again = False
            sent = creditqueue.dispatch(send=send_credit_note, company_id=company_id)
            total += sent
            if not (_local.credit_again and sent):
                return total
            company_id = None
    finally:
        _local.credit_active = False


# Imports can take minutes on a large BrickLink backfill (one call per order detail).
@shared_task(acks_late=True, soft_time_limit=1500, time_limit=1800)
def import_store_and_queue(store_id: int, run_id: int | None = None) -> None:
    store = StoreConnection.objects.select_related("tenant").get(id=store_id)
    run = SyncRun.objects.filter(id=run_id).first() if run_id else None
    message, imported, calls = "", 0, 0
    try:
        result = store_import_orders(store_id=store_id)
        imported, calls = result.orders_created + result.orders_updated, result.api_calls
        # An import already running (e.g. the one right after connecting) is joined, not an error:
        # its end queues the invoices of what it imported (receivers.queue_after_import).
        if result.stopped_reason and not result.already_running:
            message = f"{store.display_name}: {result.stopped_reason}"
    except Exception as exc:  # the store's own status carries the detail; the run goes on
        logger.exception("import of store %s failed", store_id)
        message = gettext("%(store)s: import failed (%(code)s).") % {
            "store": store.display_name,
            "code": getattr(exc, "code", "internal_error"),
        }
    queueing.invoices_queue_eligible(tenant=store.tenant, store_id=store_id, sync_run=run)
    kick_dispatcher(account_of(store.tenant))
    if run:
        syncruns.sync_run_store_done(run=run, store=store, orders_imported=imported, api_calls=calls, message=message)


# Cheap when it only fans out one import per store. A tenant without a connected store has its
# already imported orders queued here, in one transaction: 20,000 of them took longer than 30 s on
# a busy worker (bench/whale_bench.py), and the time limit rolled every one back at every sync.
# So the same limits as the passes over every tenant below.
@shared_task(soft_time_limit=540, time_limit=600)
def sync_tenant(tenant_id: int, trigger: str = SyncRun.Trigger.SCHEDULE, run_id: int | None = None) -> None:
    tenant = Tenant.objects.get(id=tenant_id)
    run = (
        SyncRun.objects.filter(id=run_id).first() if run_id else syncruns.sync_run_start(tenant=tenant, trigger=trigger)
    )
    if run is None:
        return
    # Stores that need attention are tried too: credentials that work again recover by themselves.
    store_ids = list(tenant.stores.exclude(status="disconnected").values_list("id", flat=True))
    if not store_ids:
        queueing.invoices_queue_eligible(tenant=tenant, sync_run=run)
        kick_dispatcher(account_of(tenant))
        syncruns.sync_run_maybe_finish(run_id=run.id)
    for store_id in store_ids:
        import_store_and_queue.delay(store_id, run.id)


# One beat entry for every tenant's schedule: claims the tenants whose sync is due.
@shared_task(soft_time_limit=50, time_limit=60)
def dispatch_syncs() -> int:
    due = schedules.syncs_claim_due()
    for tenant_id in due:
        sync_tenant.delay(tenant_id, SyncRun.Trigger.SCHEDULE)
    return len(due)


# The seller asked to read one order again: mark it, then import its store (the import's end
# queues the invoice again through receivers.queue_after_import).
@shared_task(soft_time_limit=30, time_limit=60)
def reread_order(order_id: int) -> None:
    order = Order.objects.filter(id=order_id).first()
    if order is not None:
        order_reread_request(order=order)
        import_store.delay(order.store_id)


# E-invoices waiting to be sent (a retry, a fix) and the status of those at SdI: cheap passes.
@shared_task(soft_time_limit=240, time_limit=300)
def einvoices_send_due() -> int:
    due = einvoicing.einvoices_due_to_send()
    for invoice_id in due:
        send_einvoice.delay(invoice_id)
    credit_notes = einvoicing.einvoices_due_to_send(model=CreditNote)
    for credit_note_id in credit_notes:
        send_einvoice.delay(0, credit_note_id=credit_note_id)
    return len(due) + len(credit_notes)


@shared_task(acks_late=True, soft_time_limit=120, time_limit=180)
def send_einvoice(invoice_id: int, credit_note_id: int = 0) -> str:
    return einvoicing.einvoice_send(invoice_id=invoice_id, credit_note_id=credit_note_id)


@shared_task(soft_time_limit=540, time_limit=600)
def einvoices_track() -> int:
    return einvoicing.einvoices_track()


# Closed days' corrispettivi receipts, recorded once each.
@shared_task(soft_time_limit=540, time_limit=600)
def receipts_record_due() -> int:
    due = register.receipts_due()
    for receipt_id in due:
        register.receipt_record(receipt_id=receipt_id)
    return len(due)


# Once a day: owners hear about the orders that need them. A mail-server hiccup retries.
@shared_task(autoretry_for=(OSError,), retry_backoff=300, max_retries=3, soft_time_limit=600, time_limit=660)
def send_daily_digests() -> int:
    return digest.digests_send()


# The safety net for lost messages (Redis restarted without persistence) and dead workers: rows
# whose message was lost become due again, and the dispatcher hands them out fairly.
@shared_task(soft_time_limit=60, time_limit=90)
def requeue_stuck_invoices() -> int:
    released = queueing.invoices_release_lost()
    dispatch_invoices.delay()
    return released
