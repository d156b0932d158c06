"""Issuing one invoice exactly once: claim → submit → record, the per-order state machine.

The exactly-once argument (docs/architecture.md §5.1), in one place:
1. ``Invoice.order`` is unique: an order has at most one invoice row.
2. Work is claimed with a conditional UPDATE (pending/failed → claimed); a duplicate task or a
   redelivered message finds nothing to claim and stops.
3. ``uncertain`` is committed *before* the create call and cleared only when the outcome is known
   (an answer, or a 4xx that proves nothing was created). While it is set, the next attempt first
   searches the accounting package for the order's marker and adopts the document it finds
   instead of creating one.
   The look-up asks with the client and date that attempt *sent* (``sent_client_id``,
   ``sent_date``), never the current ones: a changed date policy or payment date between the two
   attempts must not hide the first invoice.
4. A worker that dies leaves the row claimed/submitting; after the lease the dispatcher hands it
   out again (queueing.py), and point 3 applies.

Failures are stored, never raised: a retry later is a ``next_attempt_at`` the dispatcher honours
(no message waits in the broker); waiting for the package's quota is not a failed attempt.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, replace
from datetime import datetime

from django.db import InterfaceError, OperationalError
from django.db.models import F, Max, Q
from django.utils import timezone
from django.utils.translation import gettext
from redis.exceptions import RedisError

from accounts.services import settings_for, settings_pin
from brickinvoice.errors import ServiceError
from brickinvoice.locks import company_write_lock
from marketplaces.models import Order

from .accounting import AccountingBackend, Document, DraftLine, InvoiceDraft, backend_for_tenant
from .customers import customer_data, customer_sync
from .decisions import DATA_HELD, decision_for, order_problems, skip_as_decided
from .einvoicing import EInvoiceChoice, buyer_entity, einvoice_choice, initial_state
from .failures import failure_changes
from .models import Invoice, InvoiceLine, OrderDecision
from .plan import InvoicePlan, PlanError, build_plan, ineligibility_reason, invoice_date_for
from .queueing import CLAIM_LEASE
from .register import register_sale
from .rules import seller_rules_for
from .syncruns import sync_run_count
from .taxcontext import buyer_for, tax_context

logger = logging.getLogger("invoicing.issuing")

RETRY_BACKOFF = [30, 60, 120, 300, 600, 1200, 1800, 3600]
MAX_AUTOMATIC_ATTEMPTS = len(RETRY_BACKOFF) + 1

S = Invoice.State


@dataclass
class InvoiceOutcome:
    """What happened: ``retry_in`` seconds until the stored next attempt (None: done or held)."""

    invoice: Invoice | None
    retry_in: float | None = None


def invoice_claim(*, invoice_id: int, now: datetime | None = None) -> bool:
    """Conditional update: only one worker ever holds an invoice (a redelivered or duplicate
    message finds nothing to claim). A claim older than the lease belongs to a dead worker."""
    now = now or timezone.now()
    claimable = Q(state__in=[S.PENDING, S.FAILED]) | Q(
        state__in=[S.CLAIMED, S.SUBMITTING], claimed_at__lt=now - CLAIM_LEASE
    )
    return bool(
        Invoice.objects.filter(claimable, id=invoice_id).update(
            state=S.CLAIMED, claimed_at=now, queued_at=None, attempts=F("attempts") + 1, next_attempt_at=None
        )
    )


def invoice_process(*, invoice_id: int) -> InvoiceOutcome:
    """Claim and invoice one order. Never raises for a business failure: it is stored instead."""
    if not invoice_claim(invoice_id=invoice_id):
        return InvoiceOutcome(None)
    invoice = Invoice.objects.select_related("order__store", "tenant").get(id=invoice_id)
    # One read for the dozen places that ask during this invoice, whether they start from the
    # invoice or from its order.
    settings_pin(invoice.tenant, shared_by=(invoice.order,))
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
            ServiceError(
                gettext("Redis was unreachable."), code="internal_unavailable", transient=True, retry_after=30
            ),
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
    order = invoice.order
    rules = seller_rules_for(invoice.tenant)
    reason = ineligibility_reason(order, rules, already_invoiced=False)
    if reason:
        Invoice.objects.filter(id=invoice.id).update(
            state=S.SKIPPED,
            error_code="",
            error_message=gettext("Not invoiced: %(reason)s.") % {"reason": reason},
            error_hint="",
            error_detail="",
        )
        sync_run_count(invoice)
        return
    decision = decision_for(order)
    if decision and decision.kind == OrderDecision.Kind.SKIP:
        skip_as_decided(invoice_id=invoice.id, decision=decision)
        sync_run_count(invoice)
        return
    as_computed = bool(decision and decision.kind == OrderDecision.Kind.INVOICE_AS_COMPUTED)
    dated_today = timezone.localdate() if decision and decision.kind == OrderDecision.Kind.DATE_TODAY else None
    problems = order_problems(order)
    if problems and not as_computed:
        raise PlanError(DATA_HELD, " ".join(problems))
    backend = backend_for_tenant(invoice.tenant)  # raises fatture_auth_failed / no_company_selected
    buyer = buyer_for(order)
    tax = tax_context(order=order, buyer=buyer, backend=backend, operation_date=invoice_date_for(order, rules))
    plan = build_plan(
        order,
        list(order.items.all()),
        rules,
        backend.slot_products(),
        tax,
        computed_total=as_computed,
        invoice_date=dated_today,
    )
    own_series = decision.numeration if decision and decision.kind == OrderDecision.Kind.OWN_SERIES else ""
    series = own_series or order.store.numeration
    if not invoice.uncertain:
        _check_date_order(invoice, plan, backend.company_id, series)
    refusal = backend.known_refusal(slots=plan.slots)
    if refusal is not None:
        raise refusal
    entity = buyer_entity(customer_data(order), buyer)
    choice = einvoice_choice(invoice=invoice, backend=backend, entity=entity)
    if choice.to_register and not invoice.uncertain:
        register_sale(invoice=invoice, plan=plan, backend=backend)
        sync_run_count(invoice)
        return
    marker = f"BrickInvoice order {order.public_id}"
    client_id = customer_sync(backend=backend, tenant=invoice.tenant, order=order)

    if invoice.uncertain:
        found = backend.find_invoice_for_order(
            marker=invoice.marker or marker,
            client_id=invoice.sent_client_id or client_id,
            date=invoice.sent_date or plan.invoice_date,
        )
        if found:
            logger.info("invoice %s: adopted existing document %s", invoice.id, found.id)
            _mark_issued(invoice, found, plan, backend, choice, series)
            return

    # Committed before the create call: what this attempt sends, for the look-up of a retry.
    Invoice.objects.filter(id=invoice.id).update(
        state=S.SUBMITTING,
        uncertain=True,
        marker=marker,
        company_id=backend.company_id,
        sent_client_id=client_id,
        sent_date=plan.invoice_date,
    )
    draft = invoice_draft(
        plan=plan, order=order, client_id=client_id, marker=marker, subject=backend.invoice_subject, series=series
    )
    draft = replace(
        draft,
        entity=entity,
        electronic=choice.electronic,
        payment_method=backend.payment_code(order.payment_method, settings_for(invoice.tenant).payment_method_codes),
    )
    try:
        with company_write_lock(backend.company_id):
            document = backend.create_invoice(draft)
    except ServiceError as exc:
        # Only the create call's own 4xx answer, or our own budget refusing to send it, proves that
        # nothing was created.
        refused = not exc.request_sent or (exc.status is not None and 400 <= exc.status < 500)
        explained = backend.explain_rejection(exc, slots=plan.slots)
        explained.create_refused = refused
        if explained is exc:
            raise
        raise explained from exc
    _mark_issued(invoice, document, plan, backend, choice, series)


def _check_date_order(invoice: Invoice, plan: InvoicePlan, company_id: int, series: str) -> None:
    """Within a numbering series a higher number never carries an earlier date (docs/tax.md §7.4):
    an invoice dated before the newest one already issued in its series waits for the seller
    (date it today, stating the operation date; or do not invoice it)."""
    newest = (
        Invoice.objects.filter(company_id=company_id, series=series, state=S.ISSUED)
        .exclude(id=invoice.id)
        .aggregate(newest=Max("invoice_date"))["newest"]
    )
    if newest and plan.invoice_date < newest:
        raise PlanError(
            "invoice_date_out_of_order",
            date=plan.invoice_date.isoformat(),
            newest=newest.isoformat(),
        )


def _mark_issued(
    invoice: Invoice,
    document: Document,
    plan: InvoicePlan,
    backend: AccountingBackend,
    choice: EInvoiceChoice,
    series: str,
) -> None:
    _store_lines(invoice, plan)
    fx = plan.fx
    Invoice.objects.filter(id=invoice.id).update(
        ei_state=initial_state(electronic=choice.electronic, tenant_mode=settings_for(invoice.tenant).einvoice_mode),
        ei_recipient=choice.recipient,
        warning=choice.warning,
        notes="\n".join(plan.notes),
        original_currency=plan.original_currency,
        original_total=plan.original_total,
        fx_rate=fx.rate if fx else None,
        fx_rate_date=fx.rate_date if fx else None,
        fx_source=fx.source if fx else "",
        stamp_duty=plan.stamp_duty,
        region=plan.region.value,
        series=series,
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
    sync_run_count(invoice)


def _store_lines(invoice: Invoice, plan: InvoicePlan) -> None:
    """The lines as issued: what a credit note reverses and the accountant's export lists."""
    if invoice.uncertain:  # an adopted document may follow an attempt that stored its lines
        InvoiceLine.objects.filter(invoice=invoice).delete()
    InvoiceLine.objects.bulk_create(
        InvoiceLine(
            invoice=invoice,
            position=position,
            slot=line.slot,
            product_id=line.product_id,
            product_name=line.product_name[:300],
            description=line.description[:500],
            treatment=line.treatment,
            vat_id=line.vat_id,
            vat_rate=line.vat_value,
            natura=line.natura,
            gross=line.gross_amount,
            original_gross=line.original_amount,
            destination_country=line.destination_country,
            destination_rate=line.destination_rate,
        )
        for position, line in enumerate(plan.lines)
    )


def _record_service_error(invoice: Invoice, exc: ServiceError) -> InvoiceOutcome:
    # A 4xx answer to the create call proves it did nothing; a timeout or 5xx proves nothing, and
    # an error before the create (customer sync, look-up) leaves `uncertain` as it was.
    proven_not_created = exc.create_refused
    invoice.refresh_from_db(fields=["attempts", "uncertain"])
    # Waiting for the provider's quota is not a failed attempt: a big backlog must never run out of
    # attempts while it waits its turn, and it waits exactly as long as Retry-After says (plus a
    # little jitter, so the companies do not all wake at once). It waits as a pending invoice.
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
        state=S.PENDING if waiting_for_quota else None,
    )
    return InvoiceOutcome(invoice, retry_in)


def _record_failure(
    invoice: Invoice,
    code: str,
    detail: str,
    params: dict[str, object] | None,
    *,
    permanent: bool,
    retry_in: float | None = None,
    uncertain: bool | None = None,
    refund_attempt: bool = False,
    state: str | None = None,
) -> None:
    changes = failure_changes(
        code,
        detail,
        params,
        state=state or (S.NEEDS_ATTENTION if permanent else S.FAILED),
        retry_in=retry_in,
        uncertain=uncertain,
        refund_attempt=refund_attempt,
    )
    Invoice.objects.filter(id=invoice.id).update(**changes)
    sync_run_count(invoice)


def invoice_draft(
    *, plan: InvoicePlan, order: Order, client_id: int, marker: str, subject: str, series: str = ""
) -> InvoiceDraft:
    """The accounting-neutral draft the backend turns into its own request."""
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
        notes="\n".join(plan.notes),
        stamp_duty=plan.stamp_duty,
        numeration=series,
        lines=tuple(
            DraftLine(
                product_id=line.product_id,
                name=line.product_name,
                description=line.description,
                # The package's unit price (docs/providers/fatture-in-cloud.md §7.2) and a plan
                # line's amount is the line total: one unit of the whole amount, so no qty x price
                # can drift.
                gross_price=line.gross_amount,
                vat_id=line.vat_id,
                quantity=1,
            )
            for line in plan.lines
        ),
    )
