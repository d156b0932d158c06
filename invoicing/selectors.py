"""Read-only queries for the seller pages."""

from __future__ import annotations

from dataclasses import dataclass

from accounts.models import Tenant
from accounts.services import settings_for
from brickinvoice.errors import ErrorBox, ServiceError, describe
from marketplaces.models import Order

from .accounting import backend_for_tenant, health_for_tenant
from .models import Invoice
from .plan import PlanError, PlanPreview, build_plan, ineligibility_reason
from .rules import seller_rules_for
from .schedules import interval_of


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
        rows.append(
            Health(
                label=f"{store.get_marketplace_display()} — {store.name or 'store'}",
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
                label="Stores",
                ok=False,
                status="Not connected",
                hint="Connect your BrickLink or BrickOwl store.",
                url="/home/stores/",
            )
        )
    accounting = health_for_tenant(tenant)
    rows.append(Health(url="/home/accounting/connect", **vars(accounting)))
    return rows


def schedule_info(*, tenant: Tenant) -> dict:
    seller = settings_for(tenant)
    if interval_of(seller.sync_schedule) is None:
        return {"enabled": False}
    return {"enabled": True, "every": seller.get_sync_schedule_display(), "next": seller.next_sync_at}


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
