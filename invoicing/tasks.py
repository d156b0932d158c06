"""Celery tasks: ids in, one service call, retry policy beside the task (style §5).

Tasks call the services; the services never import this module. Where a service queues invoice
work it takes ``enqueue`` (``enqueue_invoice`` below) and calls it after commit.
"""

import logging

from celery import shared_task

from accounts.models import Tenant
from marketplaces.models import StoreConnection
from marketplaces.services import store_import_orders

from . import accounting, issuing, queueing, syncruns
from .models import SyncRun

logger = logging.getLogger(__name__)


def enqueue_invoice(invoice_id: int, account_id: int | None) -> None:
    """Send one invoice task."""
    invoice_order.delay(invoice_id, account_id)


# Idempotent by its conditional claim, so late acknowledgement is safe: a message redelivered
# after a worker died finds the claim (or, after the lease, the `uncertain` look-up) and never
# creates a second invoice. Soft limit well under the claim lease (10 min).
# ``company_id`` (when the queueing side knows it) lets a worker see that the company's quota is
# used up before it claims the invoice: a backlog waiting for the quota costs a cache read per
# wake-up, no SQL and no attempt, and its wake-ups are spread over the coming quota buckets.
@shared_task(bind=True, acks_late=True, max_retries=None, soft_time_limit=120, time_limit=180)
def invoice_order(self, invoice_id: int, company_id: int | None = None):
    if company_id:
        wait = accounting.wait_before_invoice(company_id)
        if wait > 0:
            # A new message rather than self.retry(): a backlog bounces often, and a Retry builds
            # and logs a traceback each time. This message is acknowledged when the task returns.
            invoice_order.apply_async((invoice_id, company_id), countdown=wait)
            return
    outcome = issuing.invoice_process(invoice_id=invoice_id)
    if outcome.retry_in:
        raise self.retry(countdown=outcome.retry_in)


# Imports can take minutes on a large BrickLink backfill (one call per order detail).
@shared_task(acks_late=True, soft_time_limit=1500, time_limit=1800)
def import_store_and_queue(store_id: int, run_id: int | None = None):
    store = StoreConnection.objects.select_related("tenant").get(id=store_id)
    run = SyncRun.objects.filter(id=run_id).first() if run_id else None
    message, imported, calls = "", 0, 0
    try:
        result = store_import_orders(store_id=store_id)
        imported, calls = result.orders_created + result.orders_updated, result.api_calls
        if result.stopped_reason:
            message = f"{store}: {result.stopped_reason}"
    except Exception as exc:  # the store's own status carries the detail; the run goes on
        logger.warning("import of store %s failed: %s", store_id, exc)
        message = f"{store}: import failed ({getattr(exc, 'code', 'internal_error')})."
    queueing.invoices_queue_eligible(tenant=store.tenant, store_id=store_id, sync_run=run, enqueue=enqueue_invoice)
    if run:
        syncruns.sync_run_store_done(run_id=run.id, orders_imported=imported, api_calls=calls, message=message)


# Cheap: it only fans out one import per store.
@shared_task(soft_time_limit=30, time_limit=60)
def sync_tenant(tenant_id: int, trigger: str = SyncRun.Trigger.SCHEDULE, run_id: int | None = None):
    tenant = Tenant.objects.get(id=tenant_id)
    run = (
        SyncRun.objects.filter(id=run_id).first() if run_id else syncruns.sync_run_start(tenant=tenant, trigger=trigger)
    )
    if run is None:
        return
    store_ids = list(tenant.stores.filter(status="active").values_list("id", flat=True))
    if not store_ids:
        queueing.invoices_queue_eligible(tenant=tenant, sync_run=run, enqueue=enqueue_invoice)
        syncruns.sync_run_maybe_finish(run_id=run.id)
    for store_id in store_ids:
        import_store_and_queue.delay(store_id, run.id)


# The safety net for lost messages (Redis restarted without persistence) and dead workers.
@shared_task(soft_time_limit=60, time_limit=90)
def requeue_stuck_invoices():
    return queueing.invoices_requeue_stuck(enqueue=enqueue_invoice)
