"""Read-only queries for the seller pages."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Min, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import SellerSettings, Tenant
from accounts.services import settings_for
from brickinvoice.errors import ErrorBox, ServiceError, describe
from marketplaces.models import Order
from taxes.thresholds import OSS_THRESHOLD

from . import decisions
from .accounting import backend_for_tenant, health_for_tenant
from .decisions import DATA_HELD
from .models import Invoice, OrderDecision
from .plan import InvoicePlan, PlanError, build_plan, ineligibility_reason
from .rules import seller_rules_for
from .schedules import interval_of, next_sync_at
from .taxcontext import eu_b2c_totals


@dataclass
class PlanPreview:
    """What the seller sees before creating anything (the order page)."""

    plan: InvoicePlan | None = None
    error: Exception | None = None
    error_text: ErrorBox | None = None
    ineligible: str | None = None
    warnings: list[str] = field(default_factory=list)


STORES_URL = "/home/stores/"
NO_STORE = _("Not connected")


@dataclass
class Health:
    label: str
    ok: bool
    status: str
    detail: str = ""
    hint: str = ""
    url: str = ""


def connection_health(*, tenant: Tenant) -> list[Health]:
    rows = []
    for store in tenant.stores.exclude(status="disconnected").order_by("marketplace"):
        ok = store.status == "active"
        error = getattr(store, "last_error_code", "")
        text = describe(error) if error else None
        name = store.name or _("store")
        rows.append(
            Health(
                label=f"{store.get_marketplace_display()} — {name}",
                ok=ok,
                status=store.get_status_display(),
                detail=text.message if text and not ok else "",
                hint=text.hint if text and not ok else "",
                url="/home/stores/",
            )
        )
    if not rows:
        rows.append(
            Health(
                label=str(_("Stores")),
                ok=False,
                status=str(NO_STORE),
                hint=str(_("Connect your BrickLink or BrickOwl store.")),
                url=STORES_URL,
            )
        )
    accounting = health_for_tenant(tenant)
    rows.append(Health(url="/home/accounting/connect", **vars(accounting)))
    return rows


def schedule_info(*, tenant: Tenant) -> dict:
    seller = settings_for(tenant)
    if interval_of(seller.sync_schedule) is None:
        return {"enabled": False}
    upcoming = next_sync_at(choice=seller.sync_schedule, phase=seller.sync_phase)
    return {"enabled": True, "every": seller.get_sync_schedule_display(), "next": upcoming}


def invoice_preview(*, order: Order) -> PlanPreview:
    """The invoice this order would get, computed without creating or sending anything."""
    preview = PlanPreview()
    rules = seller_rules_for(order.tenant)
    invoice = Invoice.objects.filter(order=order).first()
    preview.ineligible = ineligibility_reason(
        order, rules, already_invoiced=bool(invoice and invoice.state == Invoice.State.ISSUED)
    )
    try:
        backend = backend_for_tenant(order.tenant)
        preview.plan = build_plan(order, list(order.items.all()), rules, backend.slot_products())
    except PlanError as exc:
        preview.error = exc
        preview.error_text = ErrorBox.from_exception(exc)
    except ServiceError as exc:
        preview.error = exc
        preview.error_text = ErrorBox.from_exception(exc)
    for message in getattr(order, "data_errors", None) or []:
        preview.warnings.append(message)
    return preview


def sync_blocker(health: list[Health]) -> str:
    """Why "Sync now" cannot lead to an invoice yet ("" when it can): no store connected, or the
    accounting package not connected, without a company or with an incomplete mapping. The last
    row of ``connection_health`` is the accounting package's."""
    *stores, accounting = health
    if not any(row.url == STORES_URL and row.status != str(NO_STORE) for row in stores):
        return str(_("connect your BrickLink or BrickOwl store first."))
    if not accounting.ok:
        return f"{accounting.status} — {accounting.hint or accounting.detail}"
    return ""


@dataclass(frozen=True)
class RetryingSummary:
    """Invoices that retry by themselves (after an error, or when the quota allows): nothing for
    the seller to do, so they are counted apart from the ones that need an action."""

    count: int
    waiting_for_quota: int
    next_attempt_at: object


def retrying_summary(*, tenant: Tenant) -> RetryingSummary:
    rows = Invoice.objects.filter(tenant=tenant).filter(
        Q(state=Invoice.State.FAILED) | Q(state=Invoice.State.PENDING, error_code="fatture_quota")
    )
    aggregate = rows.aggregate(
        count=Count("id"),
        quota=Count("id", filter=Q(error_code="fatture_quota")),
        next=Min("next_attempt_at"),
    )
    return RetryingSummary(aggregate["count"], aggregate["quota"], aggregate["next"])


DATE_HELD = "invoice_date_out_of_order"


@dataclass(frozen=True)
class Question:
    """What an order asks the seller (invoicing/decisions.py), with the answers it allows."""

    code: str
    problems: list[str]
    choices: tuple[str, ...]


def order_question(*, order: Order) -> Question | None:
    """The open question of an order: held for its data (invoice as computed, skip, read again),
    or unreadable (skip, read again). None when nothing is asked."""
    invoice = Invoice.objects.filter(order=order).first()
    if invoice is not None and invoice.state in (Invoice.State.ISSUED, Invoice.State.SKIPPED):
        return None
    K = OrderDecision.Kind
    problems = decisions.order_problems(order)
    if order.quarantined or (invoice and invoice.error_code == "order_data_invalid"):
        return Question("order_data_invalid", problems, (K.SKIP, K.REREAD))
    if invoice is not None and invoice.state == Invoice.State.NEEDS_ATTENTION and invoice.error_code == DATA_HELD:
        return Question(DATA_HELD, problems or [invoice.error_detail], (K.INVOICE_AS_COMPUTED, K.SKIP, K.REREAD))
    if invoice is not None and invoice.state == Invoice.State.NEEDS_ATTENTION and invoice.error_code == DATE_HELD:
        error = invoice.error
        return Question(DATE_HELD, [error.message if error else ""], (K.DATE_TODAY, K.OWN_SERIES, K.SKIP))
    return None


# Show the threshold warning from this share of EUR 10,000 on.
OSS_WARN_SHARE = Decimal("0.8")


@dataclass(frozen=True)
class OssPosition:
    """The EU-wide distance sales to private buyers of this and last year against EUR 10,000
    (docs/tax.md §3.2): what BrickInvoice invoiced plus what the seller declared from elsewhere."""

    current_year: Decimal
    previous_year: Decimal
    threshold: Decimal
    opted_in: bool

    @property
    def destination_vat(self) -> bool:
        return self.opted_in or self.previous_year > self.threshold or self.current_year > self.threshold

    @property
    def near(self) -> bool:
        return not self.destination_vat and self.current_year >= self.threshold * OSS_WARN_SHARE

    @property
    def percent(self) -> int:
        return min(100, int(self.current_year * 100 / self.threshold))


def oss_position(seller: SellerSettings) -> OssPosition:
    this_year, last_year = eu_b2c_totals(tenant_id=seller.tenant_id, year=timezone.localdate().year)
    return OssPosition(
        current_year=this_year + seller.oss_prior_current_year,
        previous_year=last_year + seller.oss_prior_previous_year,
        threshold=OSS_THRESHOLD,
        opted_in=seller.oss_opted_in,
    )


@dataclass(frozen=True)
class EInvoiceSummary:
    """The dashboard's SdI section: how many e-invoices are in each state, and those refused."""

    counts: list[tuple[str, int, str]]
    refused: list[Invoice]

    def __bool__(self) -> bool:
        return any(n for _, n, _ in self.counts)


def einvoice_summary(*, tenant: Tenant, limit: int = 10) -> EInvoiceSummary:
    EI = Invoice.EInvoice
    rows = Invoice.objects.filter(tenant=tenant).exclude(ei_state=EI.NONE)
    by_state = dict(rows.order_by().values_list("ei_state").annotate(n=Count("id")))
    counts = [
        (str(label), by_state.get(value, 0), value) for value, label in EI.choices if value and by_state.get(value)
    ]
    refused = list(
        rows.filter(ei_state__in=[EI.REJECTED, EI.INVALID])
        .select_related("order")
        .order_by("ei_rejected_at", "id")[:limit]
    )
    return EInvoiceSummary(counts=counts, refused=refused)
