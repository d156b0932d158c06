"""The daily e-mail to a tenant's owners listing the orders that need them (held invoices,
invoices that need an action, orders whose marketplace data could not be read)."""

from __future__ import annotations

from django.db.models import Q
from django.urls import reverse
from django.utils.functional import lazy

from accounts.models import Tenant
from accounts.notifications import notify_tenant_owners
from marketplaces.models import Order

from .models import Invoice

DIGEST_LIMIT = 50  # orders listed in one e-mail; the total says how many there are


def _needing_action(tenant: Tenant):
    return Order.objects.filter(tenant=tenant).filter(
        Q(invoice__state=Invoice.State.NEEDS_ATTENTION) | Q(quarantined=True)
    )


def _problem(invoice: Invoice | None, order: Order) -> str:
    error = invoice.error if invoice else None
    shown = error.message if error else (invoice.error_message if invoice else "")
    return (str(shown) if shown else "; ".join(order.data_errors or []))[:300]


def digest_for(tenant: Tenant) -> dict:
    """The digest's context (accounts/notifications.py contract): orders with their problem and
    the page that resolves it."""
    orders = _needing_action(tenant).select_related("invoice").order_by("-ordered_at")
    rows = []
    for order in orders[:DIGEST_LIMIT]:
        invoice = getattr(order, "invoice", None)
        rows.append(
            {
                "number": order.marketplace_order_id,
                "marketplace": order.get_marketplace_display(),
                # Worded when each owner's e-mail is rendered, in that owner's language.
                "problem": lazy(_problem, str)(invoice, order),
                "url": reverse("invoicing:order_preview", args=[order.public_id]),
            }
        )
    return {"orders": rows, "total": orders.count()}


def digests_send() -> int:
    """One e-mail per tenant that has something to act on (never an empty digest)."""
    tenant_ids = set(
        Invoice.objects.filter(state=Invoice.State.NEEDS_ATTENTION).values_list("tenant_id", flat=True).distinct()
    ) | set(Order.objects.filter(quarantined=True).values_list("tenant_id", flat=True).distinct())
    sent = 0
    for tenant in Tenant.objects.filter(id__in=tenant_ids):
        context = digest_for(tenant)
        if context["orders"]:
            sent += notify_tenant_owners(tenant=tenant, kind="daily_digest", context=context)
    return sent
