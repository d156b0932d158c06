"""Invoicing services: queue eligible orders, invoice one order exactly once, sync runs, schedules.

The exactly-once argument (design §5), in one place:
1. ``Invoice.order`` is unique: an order has at most one invoice row.
2. Work is claimed with a conditional UPDATE (pending/failed → claimed); a duplicate task or a
   redelivered message finds nothing to claim and stops.
3. ``uncertain`` is committed *before* the create call and cleared only when the outcome is known
   (an answer, or a 4xx that proves nothing was created). While it is set, the next attempt first
   searches Fatture for the order's marker and adopts the invoice it finds instead of creating one.
4. A worker that dies leaves the row claimed/submitting; after the lease it becomes claimable
   again (``invoices_requeue_stuck``), and point 3 applies.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time
import uuid
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import F, Q
from django.utils import timezone
from redis.exceptions import RedisError

from accounts.models import Tenant
from accounts.services import settings_for
from brickinvoice.errors import ServiceError, describe
from marketplaces.models import Order

from .models import CustomerLink, Invoice, SyncRun
from .plan import MappedProduct, PlanError, SellerRules, build_plan, ineligibility_reason

logger = logging.getLogger(__name__)

# Longer than the invoice task's hard time limit: a live task never loses its claim.
CLAIM_LEASE = timedelta(seconds=settings.INVOICE_CLAIM_LEASE_SECONDS)
RETRY_BACKOFF = [30, 60, 120, 300, 600, 1200, 1800, 3600]
MAX_AUTOMATIC_ATTEMPTS = len(RETRY_BACKOFF) + 1
CODE_PREFIX = {"bricklink": "BL", "brickowl": "BO"}

S = Invoice.State


# --- rules and mapping --------------------------------------------------------------------


def seller_rules_for(tenant: Tenant) -> SellerRules:
    s = settings_for(tenant)
    return SellerRules(
        country=str(s.country),
        margin_rule=s.margin_rule,
        invoiceable_statuses=tuple(s.invoiceable_statuses),
        cutoff_date=s.cutoff_date,
        invoice_date_policy=s.invoice_date_policy,
    )


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


# --- queueing -----------------------------------------------------------------------------


def invoices_queue_eligible(*, tenant: Tenant, store_id: int | None = None, sync_run: SyncRun | None = None) -> int:
    """Create the invoice rows of eligible orders and queue one task each, after commit."""
    from fatture.backend import company_of

    from .tasks import invoice_order

    company_id = company_of(tenant)
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
            transaction.on_commit(lambda i=invoice_id: invoice_order.delay(i, company_id))
    return len(queued)


def invoice_retry(*, invoice: Invoice) -> bool:
    """The seller's Retry button: a failed or held invoice goes back to the queue."""
    from .tasks import invoice_order

    with transaction.atomic():
        reopened = Invoice.objects.filter(id=invoice.id, state__in=[S.FAILED, S.NEEDS_ATTENTION, S.SKIPPED]).update(
            state=S.PENDING, next_attempt_at=None, attempts=0
        )
        if reopened:
            transaction.on_commit(lambda: invoice_order.delay(invoice.id, invoice.company_id))
    return bool(reopened)


def invoices_retry_all_failed(*, tenant: Tenant) -> int:
    invoices = Invoice.objects.filter(tenant=tenant, state__in=[S.FAILED, S.NEEDS_ATTENTION])
    return sum(invoice_retry(invoice=invoice) for invoice in invoices)


def invoices_requeue_stuck(*, now=None) -> int:
    """Safety net for lost messages and dead workers (beat, every few minutes)."""
    from .tasks import invoice_order

    now = now or timezone.now()
    stuck = Invoice.objects.filter(
        Q(state__in=[S.CLAIMED, S.SUBMITTING], claimed_at__lt=now - CLAIM_LEASE)
        | Q(state=S.FAILED, next_attempt_at__lte=now)
        | Q(state=S.PENDING, updated_at__lt=now - CLAIM_LEASE)
    ).values_list("id", "company_id")
    rows = list(stuck[:500])
    for invoice_id, company_id in rows:
        invoice_order.delay(invoice_id, company_id)
    return len(rows)


# --- one invoice --------------------------------------------------------------------------


class InvoiceOutcome:
    """What the task needs to know: retry later (and when), or done."""

    def __init__(self, invoice: Invoice | None, retry_in: float | None = None):
        self.invoice, self.retry_in = invoice, retry_in


def invoice_claim(*, invoice_id: int, now=None) -> bool:
    now = now or timezone.now()
    claimable = Q(state__in=[S.PENDING, S.FAILED]) | Q(
        state__in=[S.CLAIMED, S.SUBMITTING], claimed_at__lt=now - CLAIM_LEASE
    )
    return bool(
        Invoice.objects.filter(claimable, id=invoice_id).update(
            state=S.CLAIMED, claimed_at=now, attempts=F("attempts") + 1, next_attempt_at=None
        )
    )


def invoice_process(*, invoice_id: int) -> InvoiceOutcome:
    """Claim and invoice one order. Never raises for a business failure: it is stored instead."""
    if not invoice_claim(invoice_id=invoice_id):
        return InvoiceOutcome(None)
    invoice = Invoice.objects.select_related("order", "tenant").get(id=invoice_id)
    try:
        _invoice_submit(invoice)
    except PlanError as exc:
        _record_failure(invoice, exc.code, exc.detail, exc.params, permanent=True)
    except ServiceError as exc:
        logger.warning("invoice %s failed: %s", invoice.id, exc.code)
        return _record_service_error(invoice, exc)
    except RedisError as exc:
        # Redis (budgets, locks) went away mid-invoice: transient, and `uncertain` is kept as it
        # was (the create may have been sent), so the retry looks before it creates.
        logger.warning("invoice %s: Redis unavailable (%s)", invoice.id, type(exc).__name__)
        # A fixed text: the exception names our internal hosts, which the seller's page must not.
        return _record_service_error(
            invoice,
            ServiceError("Redis was unreachable.", code="internal_unavailable", transient=True, retry_after=30),
        )
    except (OperationalError, InterfaceError):
        # The database went away (restart, fail-over, dropped connection): nothing can be recorded
        # now. The claim stays; when its lease runs out the safety net requeues the invoice, and
        # `uncertain` makes that attempt look for a document before it creates one.
        logger.warning("invoice %s: database unavailable; left to the claim lease", invoice.id)
        raise
    except Exception:
        # A bug of ours: keep `uncertain` as it is, so a retry looks before it creates.
        logger.exception("invoice %s crashed", invoice.id)
        _record_failure(invoice, "internal_error", "", {}, permanent=True)
    return InvoiceOutcome(invoice)


def _invoice_submit(invoice: Invoice) -> None:
    from fatture.backend import backend_for_tenant

    order = invoice.order
    rules = seller_rules_for(invoice.tenant)
    reason = ineligibility_reason(order, rules, already_invoiced=False)
    if reason:
        Invoice.objects.filter(id=invoice.id).update(
            state=S.SKIPPED, error_code="", error_message=f"Not invoiced: {reason}.", error_hint="", error_detail=""
        )
        _sync_run_count(invoice, created=False, skipped=True)
        return
    backend = backend_for_tenant(invoice.tenant)  # raises fatture_auth_failed / no_company_selected
    mapping = {slot: MappedProduct(**product) for slot, product in backend.slot_products().items()}
    plan = build_plan(order, list(order.items.all()), rules, mapping)
    marker = f"BrickInvoice order {order.public_id}"
    client_id = customer_sync(backend=backend, tenant=invoice.tenant, order=order)

    if invoice.uncertain:
        found = backend.find_invoice_for_order(marker=marker, client_id=client_id, date=plan.invoice_date)
        if found:
            logger.info("invoice %s: adopted existing Fatture document %s", invoice.id, found.id)
            _mark_issued(invoice, found, plan, backend)
            return

    Invoice.objects.filter(id=invoice.id).update(
        state=S.SUBMITTING, uncertain=True, marker=marker, company_id=backend.company_id
    )
    draft = invoice_draft(plan=plan, order=order, client_id=client_id, marker=marker, subject=backend.invoice_subject)
    try:
        with company_write_lock(backend.company_id):
            document = backend.create_invoice(draft)
    except ServiceError as exc:
        # Only the create call's own 4xx answer, or our own budget refusing to send it, proves that
        # nothing was created.
        exc.create_refused = not getattr(exc, "request_sent", True) or (
            exc.status is not None and 400 <= exc.status < 500
        )
        if exc.status in (404, 422):
            explained = _explain_rejection(invoice.tenant, plan, exc)
            explained.create_refused = exc.create_refused
            raise explained from exc
        raise
    _mark_issued(invoice, document, plan, backend)


def _explain_rejection(tenant: Tenant, plan, exc: ServiceError) -> ServiceError:
    """A refused invoice whose mapped product was deleted in Fatture says so (Product {id} not found)."""
    from fatture.services import catalogue_cache_clear, mapping_check, mapping_for
    from fatture.slots import slot_label

    mappings = mapping_for(tenant=tenant)
    if mappings:
        catalogue_cache_clear(company_id=next(iter(mappings.values())).company_id)
    for issue in mapping_check(tenant=tenant):
        if issue.code == "product_not_found" and issue.slot in plan.slots:
            return ServiceError(
                exc.detail,
                code="product_not_found",
                status=exc.status,
                product_id=mappings[issue.slot].product_id,
                slot=slot_label(issue.slot),
            )
    return exc


def _mark_issued(invoice: Invoice, document, plan, backend) -> None:
    Invoice.objects.filter(id=invoice.id).update(
        state=S.ISSUED,
        uncertain=False,
        fatture_id=document.id,
        number=str(document.number or ""),
        numeration=document.numeration or "",
        view_url=backend.view_url(document.id),
        invoice_date=plan.invoice_date,
        total=plan.total,
        currency=plan.currency,
        issued_at=timezone.now(),
        company_id=backend.company_id,
        api_calls=F("api_calls") + backend.calls,
        error_code="",
        error_message="",
        error_hint="",
        error_detail="",
    )
    _sync_run_count(invoice, created=True)


def _record_service_error(invoice: Invoice, exc: ServiceError) -> InvoiceOutcome:
    # A 4xx answer to the create call proves it did nothing; a timeout or 5xx proves nothing, and
    # an error before the create (customer sync, look-up) leaves `uncertain` as it was.
    proven_not_created = getattr(exc, "create_refused", False)
    invoice.refresh_from_db(fields=["attempts", "uncertain"])
    # Waiting for the provider's quota is not a failed attempt: a big backlog must never run out of
    # attempts while it waits its turn, and it waits exactly as long as Retry-After says (plus a
    # little jitter, so the whole backlog does not wake at once).
    waiting_for_quota = exc.code == "fatture_quota"
    give_up = not waiting_for_quota and (not exc.transient or invoice.attempts >= MAX_AUTOMATIC_ATTEMPTS)
    retry_in = None
    if waiting_for_quota:
        retry_after = float(exc.retry_after or 60)
        retry_in = retry_after + random.uniform(0, min(retry_after, 30.0))
    elif not give_up:
        backoff = RETRY_BACKOFF[min(invoice.attempts - 1, len(RETRY_BACKOFF) - 1)]
        retry_in = max(float(exc.retry_after or 0), backoff)
    _record_failure(
        invoice,
        exc.code,
        exc.detail,
        exc.params,
        permanent=give_up,
        retry_in=retry_in,
        uncertain=False if proven_not_created else None,
        refund_attempt=waiting_for_quota,
    )
    return InvoiceOutcome(invoice, retry_in)


def _record_failure(
    invoice, code, detail, params, *, permanent, retry_in=None, uncertain=None, refund_attempt=False
) -> None:
    text = describe(code, **(params or {}))
    changes = dict(
        state=S.NEEDS_ATTENTION if permanent else S.FAILED,
        error_code=code,
        error_message=text.message,
        error_hint=text.hint,
        error_detail=(detail or "")[:2000],
        next_attempt_at=timezone.now() + timedelta(seconds=retry_in) if retry_in else None,
    )
    if uncertain is not None:
        changes["uncertain"] = uncertain
    if refund_attempt:
        changes["attempts"] = F("attempts") - 1
    Invoice.objects.filter(id=invoice.id).update(**changes)
    if permanent:
        _sync_run_count(invoice, created=False)


def invoice_draft(*, plan, order: Order, client_id: int, marker: str, subject: str):
    """The accounting-neutral draft the backend turns into its own request."""
    from fatture.documents import DraftLine, InvoiceDraft

    paid = order.paid_at or order.ordered_at
    return InvoiceDraft(
        client_id=client_id,
        entity=customer_data(order),
        date=plan.invoice_date,
        currency=plan.currency,
        visible_subject=subject or plan.description,
        marker=marker,
        total=plan.total,
        paid_date=timezone.localtime(paid).date() if timezone.is_aware(paid) else paid.date(),
        lines=tuple(
            DraftLine(
                product_id=line.product_id,
                name=line.product_name,
                description=line.description,
                # Fatture's gross_price is a unit price (README §7.2) and a plan line's amount is
                # the line total: one unit of the whole amount, so no qty x price can drift.
                gross_price=line.gross_amount,
                vat_id=line.vat_id,
                quantity=1,
            )
            for line in plan.lines
        ),
    )


# --- customers ----------------------------------------------------------------------------


def customer_code(order: Order) -> str:
    username = (order.buyer_username or order.buyer_email or order.buyer_name or "unknown").strip()
    return f"{CODE_PREFIX.get(order.marketplace, order.marketplace.upper())}-{username}"[:120]


def customer_data(order: Order) -> dict:
    """The client record we want in Fatture for this buyer."""
    name = (order.ship_name or order.buyer_name or order.buyer_username or "").strip()
    return {
        "code": customer_code(order),
        "name": name or customer_code(order),
        "email": order.buyer_email or "",
        "address_street": ", ".join(filter(None, [order.ship_address1, order.ship_address2])),
        "address_postal_code": order.ship_postal_code or "",
        "address_city": order.ship_city or "",
        "address_province": order.ship_state or "",
        "country_iso": order.ship_country or "",
    }


def _hash(data: dict) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def customer_sync(*, backend, tenant: Tenant, order: Order) -> int:
    """The Fatture client id for this buyer: no call when known and unchanged, one when changed."""
    data = customer_data(order)
    digest = _hash(data)
    lookup = CustomerLink.objects.filter(tenant=tenant, company_id=backend.company_id, code=data["code"])
    link = lookup.first()
    if link and link.data_hash == digest:
        return link.fatture_client_id
    # Two orders of one new buyer invoiced at the same time must not create the client twice: one
    # worker at a time per buyer; whoever waited reads the map again (one query, only then).
    key = f"fatture-customer-lock:{backend.company_id}:{hashlib.sha256(data['code'].encode()).hexdigest()[:32]}"
    with cache_lock(key, wait=30.0, hold=60, busy="Another invoice of this buyer is updating the client.") as waited:
        if waited:
            link = lookup.first()
            if link and link.data_hash == digest:
                return link.fatture_client_id
        client_id = backend.sync_customer(data, known_client_id=link.fatture_client_id if link else None)
        # One upsert statement (INSERT … ON CONFLICT DO UPDATE), safe against a concurrent worker.
        CustomerLink.objects.bulk_create(
            [
                CustomerLink(
                    tenant=tenant,
                    company_id=backend.company_id,
                    code=data["code"],
                    fatture_client_id=client_id,
                    data_hash=digest,
                    updated_at=timezone.now(),
                )
            ],
            update_conflicts=True,
            unique_fields=["tenant", "company_id", "code"],
            update_fields=["fatture_client_id", "data_hash", "updated_at"],
        )
    return client_id


# --- locks across workers -------------------------------------------------------------------


@contextmanager
def cache_lock(key: str, *, wait: float, hold: int, busy: str):
    """A lock in the shared cache (``cache.add`` is an atomic SET NX on Redis); yields whether it
    had to wait. ``hold`` bounds how long a dead worker can keep it; after ``wait`` seconds the
    caller gets a transient error and its task retries."""
    token = uuid.uuid4().hex
    deadline = time.monotonic() + wait
    waited = False
    while not cache.add(key, token, timeout=hold):
        waited = True
        if time.monotonic() > deadline:
            raise ServiceError(busy, code="fatture_unavailable", transient=True, retry_after=5)
        time.sleep(0.05)
    try:
        yield waited
    finally:
        if cache.get(key) == token:
            cache.delete(key)


@contextmanager
def company_write_lock(company_id: int, *, wait: float = 60.0, hold: int = 120):
    """One invoice write at a time per Fatture company, across every worker."""
    with cache_lock(
        f"fatture-write-lock:{company_id}",
        wait=wait,
        hold=hold,
        busy="Another invoice for this company is being written.",
    ):
        yield


# --- sync runs ----------------------------------------------------------------------------


def sync_run_start(*, tenant: Tenant, trigger: str) -> SyncRun | None:
    """A new run, unless one is already running (the button and the schedule never overlap)."""
    stale = timezone.now() - timedelta(hours=2)
    SyncRun.objects.filter(tenant=tenant, state=SyncRun.State.RUNNING, started_at__lt=stale).update(
        state=SyncRun.State.FAILED, finished_at=timezone.now(), message="Stopped: took longer than two hours."
    )
    if SyncRun.objects.filter(tenant=tenant, state=SyncRun.State.RUNNING).exists():
        return None
    stores = tenant.stores.filter(status="active").count()
    return SyncRun.objects.create(tenant=tenant, trigger=trigger, stores_total=stores)


def _sync_run_count(invoice: Invoice, *, created: bool, skipped: bool = False) -> None:
    run_id = invoice.sync_run_id  # set when the invoice was queued, before this attempt loaded it
    if not run_id:
        return
    field = "invoices_created" if created else ("invoices_queued" if skipped else "invoices_failed")
    delta = -1 if skipped else 1
    SyncRun.objects.filter(id=run_id).update(**{field: F(field) + delta})
    sync_run_maybe_finish(run_id=run_id)


def sync_run_maybe_finish(*, run_id: int) -> None:
    run = SyncRun.objects.filter(id=run_id, state=SyncRun.State.RUNNING).first()
    if not run or run.stores_done < run.stores_total:
        return
    if run.invoices_created + run.invoices_failed < run.invoices_queued:
        return
    state = SyncRun.State.FAILED if run.invoices_failed or run.message else SyncRun.State.FINISHED
    SyncRun.objects.filter(id=run_id, state=SyncRun.State.RUNNING).update(state=state, finished_at=timezone.now())


def sync_run_store_done(*, run_id: int, orders_imported: int, api_calls: int, message: str = "") -> None:
    changes = dict(
        stores_done=F("stores_done") + 1,
        orders_imported=F("orders_imported") + orders_imported,
        api_calls=F("api_calls") + api_calls,
    )
    if message:
        changes["message"] = message
    SyncRun.objects.filter(id=run_id).update(**changes)
    sync_run_maybe_finish(run_id=run_id)


# --- schedules ----------------------------------------------------------------------------


SCHEDULES = {"15min": (15, "minutes"), "hourly": (1, "hours"), "daily": (1, "days")}


def sync_schedule_apply(*, tenant: Tenant) -> None:
    """Create, change or remove the tenant's periodic sync to match its settings."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    name = f"sync-tenant-{tenant.public_id}"
    choice = settings_for(tenant).sync_schedule
    if choice not in SCHEDULES:
        PeriodicTask.objects.filter(name=name).delete()
        return
    every, period = SCHEDULES[choice]
    interval, _ = IntervalSchedule.objects.get_or_create(every=every, period=period)
    PeriodicTask.objects.update_or_create(
        name=name,
        defaults={
            "task": "invoicing.tasks.sync_tenant",
            "interval": interval,
            "enabled": True,
            "kwargs": json.dumps({"tenant_id": tenant.id, "trigger": SyncRun.Trigger.SCHEDULE}),
            "queue": settings.CELERY_TASK_DEFAULT_QUEUE,
        },
    )


def invoice_now(*, order: Order) -> bool:
    """'Invoice this order now' from the preview page: queue it unless it is issued or in flight."""
    from .tasks import invoice_order

    with transaction.atomic():
        invoice, _ = Invoice.objects.get_or_create(order=order, defaults={"tenant": order.tenant})
        reopened = Invoice.objects.filter(
            id=invoice.id, state__in=[S.PENDING, S.SKIPPED, S.FAILED, S.NEEDS_ATTENTION]
        ).update(state=S.PENDING, next_attempt_at=None)
        if reopened:
            transaction.on_commit(lambda: invoice_order.delay(invoice.id, invoice.company_id))
    return bool(reopened)
