"""The corrispettivi register for Italian private buyers (docs/tax.md §1.2): an online mail-order
sale to an Italian consumer needs no invoice unless the buyer asks for one, but its takings are
registered. With that policy, such a sale (whose buyer gave no codice fiscale) is not invoiced:
its amounts by VAT type join its day's receipt for its payment account, which is recorded in the
package once the day is over.

Exactly once per day and payment account: one ``DailyReceipt`` row per (tenant, company, day,
account) (a unique constraint); recording it is claimed with a conditional update, ``uncertain`` is
committed before the call, and a look-up by marker comes before any retry after an uncertain
outcome. A recorded receipt is never re-created: a sale that arrives after its day was recorded
joins the next open day's receipt.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from brickinvoice.errors import ServiceError, describe

from .accounting import AccountingBackend, RegisterDraft, backend_for_tenant
from .models import DailyReceipt, Invoice, RegisterEntry
from .plan import InvoicePlan, PlanError

logger = logging.getLogger("invoicing.register")

R = DailyReceipt.State
DEFAULT_ACCOUNT = "Marketplace"
CLAIM_LEASE = timedelta(minutes=10)
RETRY_AFTER = [300, 900, 3600, 6 * 3600]


def _open_receipt(*, tenant_id: int, company_id: int, day: date, account: str) -> DailyReceipt:
    """The day's open receipt for the account, or the next open day's once the day is recorded."""
    today = timezone.localdate()
    for candidate in (day, max(day, today), today + timedelta(days=1)):
        try:
            with transaction.atomic():
                receipt, _created = DailyReceipt.objects.get_or_create(
                    tenant_id=tenant_id, company_id=company_id, day=candidate, account=account
                )
        except IntegrityError:
            receipt = DailyReceipt.objects.get(
                tenant_id=tenant_id, company_id=company_id, day=candidate, account=account
            )
        if receipt.state == R.OPEN:
            return receipt
    raise ServiceError("No open register day.", code="internal_error", transient=True, retry_after=60)


def register_sale(*, invoice: Invoice, plan: InvoicePlan, backend: AccountingBackend) -> DailyReceipt:
    """Put the sale of an Italian private buyer in its day's receipt instead of invoicing it; the
    invoice row says where it went (not invoiced, for the accountant)."""
    if not backend.capabilities().receipts:
        raise PlanError("receipts_not_in_plan")
    order = invoice.order
    account = (order.payment_method or DEFAULT_ACCOUNT).strip()[:100]
    with transaction.atomic():
        receipt = _open_receipt(
            tenant_id=invoice.tenant_id, company_id=backend.company_id, day=plan.invoice_date, account=account
        )
        lines = [
            {"vat_id": line.vat_id, "vat_rate": str(line.vat_value), "gross": str(line.gross_amount)}
            for line in plan.lines
        ]
        entry, created = RegisterEntry.objects.get_or_create(
            order=order, defaults={"receipt": receipt, "lines": lines, "total": plan.total}
        )
        if created:
            DailyReceipt.objects.filter(id=entry.receipt_id).update(total=F("total") + plan.total)
        day = formats.date_format(entry.receipt.day, "SHORT_DATE_FORMAT")
        Invoice.objects.filter(id=invoice.id).update(
            state=Invoice.State.SKIPPED,
            error_code="",
            error_message=_(
                "Recorded in the corrispettivi register of %(day)s (%(account)s): an Italian private buyer, no invoice."
            )
            % {"day": day, "account": entry.receipt.account},
            error_hint="",
            error_detail="",
        )
    return entry.receipt


def _lines(receipt: DailyReceipt) -> tuple[tuple[int, Decimal, Decimal], ...]:
    """The day's takings summed per VAT type."""
    totals: dict[tuple[int, Decimal], Decimal] = defaultdict(Decimal)
    for entry_lines in receipt.entries.values_list("lines", flat=True):
        for line in entry_lines:
            totals[(int(line["vat_id"]), Decimal(line["vat_rate"]))] += Decimal(line["gross"])
    return tuple((vat_id, rate, gross) for (vat_id, rate), gross in sorted(totals.items()))


def _claim(receipt_id: int, now: datetime) -> bool:
    closed = Q(state__in=[R.OPEN, R.FAILED], day__lt=timezone.localdate()) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    stale = Q(state__in=[R.CLAIMED, R.SUBMITTING], claimed_at__lt=now - CLAIM_LEASE)
    return bool(
        DailyReceipt.objects.filter(closed | stale, id=receipt_id).update(
            state=R.CLAIMED, claimed_at=now, attempts=F("attempts") + 1
        )
    )


def receipt_record(*, receipt_id: int, now: datetime | None = None) -> str:
    """Record one closed day's receipt in the package, exactly once; returns its new state."""
    now = now or timezone.now()
    if not _claim(receipt_id, now):
        return ""
    receipt = DailyReceipt.objects.select_related("tenant").get(id=receipt_id)
    try:
        return _record(receipt, backend_for_tenant(receipt.tenant))
    except ServiceError as exc:
        return _failed(receipt, exc, now)


def _record(receipt: DailyReceipt, backend: AccountingBackend) -> str:
    lines = _lines(receipt)
    if not lines:
        DailyReceipt.objects.filter(id=receipt.id).update(state=R.ISSUED)
        return R.ISSUED
    if receipt.uncertain:
        found = backend.find_register_entry(day=receipt.day, marker=receipt.marker)
        if found is not None:
            return _issued(receipt, found.id, found.number)
    DailyReceipt.objects.filter(id=receipt.id).update(state=R.SUBMITTING, uncertain=True)
    draft = RegisterDraft(
        day=receipt.day,
        account=receipt.account,
        marker=receipt.marker,
        lines=lines,
        description=_("Online sales to private buyers in Italy"),
    )
    document = backend.create_register_entry(draft)
    return _issued(receipt, document.id, document.number)


def _issued(receipt: DailyReceipt, fatture_id: int, number: str) -> str:
    DailyReceipt.objects.filter(id=receipt.id).update(
        state=R.ISSUED, uncertain=False, fatture_id=fatture_id, number=number, error_code="", error_message=""
    )
    return R.ISSUED


def _failed(receipt: DailyReceipt, exc: ServiceError, now: datetime) -> str:
    refused = exc.status is not None and 400 <= exc.status < 500 and exc.code != "fatture_quota"
    state = R.NEEDS_ATTENTION if (refused or not exc.transient) else R.FAILED
    wait = max(float(exc.retry_after or 0), RETRY_AFTER[min(receipt.attempts, len(RETRY_AFTER) - 1)])
    changes: dict[str, object] = {
        "state": state,
        "error_code": exc.code,
        "error_message": f"{describe(exc.code).message} {exc.detail}".strip()[:2000],
        "next_attempt_at": now + timedelta(seconds=wait) if state == R.FAILED else None,
    }
    if refused:
        changes["uncertain"] = False
    DailyReceipt.objects.filter(id=receipt.id).update(**changes)
    logger.warning("receipt %s: %s", receipt.id, exc.code)
    return state


def receipts_due(*, now: datetime | None = None, limit: int = 200) -> list[int]:
    """Closed days' receipts waiting to be recorded (and stale claims of dead workers)."""
    now = now or timezone.now()
    closed = Q(state__in=[R.OPEN, R.FAILED], day__lt=timezone.localdate()) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    stale = Q(state__in=[R.CLAIMED, R.SUBMITTING], claimed_at__lt=now - CLAIM_LEASE)
    return list(DailyReceipt.objects.filter(closed | stale).order_by("day").values_list("id", flat=True)[:limit])
