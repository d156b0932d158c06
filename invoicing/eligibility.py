"""Whether an order should be invoiced now, and the date its invoice carries. Pure, no I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.choices import OrderStatus


class OrderLike(Protocol):
    """What the plan reads of an order (marketplaces.models.Order satisfies it)."""

    marketplace: str
    marketplace_order_id: str
    status: str
    ordered_at: datetime
    paid_at: datetime | None
    ship_country: str
    ship_postal_code: str
    currency: str
    items_subtotal: Decimal
    shipping: Decimal
    insurance: Decimal
    etc1: Decimal
    etc2: Decimal
    additional_charges: Decimal
    credit: Decimal
    coupon: Decimal
    amount_paid_to_seller: Decimal
    quarantined: bool


@dataclass(frozen=True)
class SellerRules:
    country: str = "IT"
    margin_rule: str = "off"
    invoiceable_statuses: Sequence[str] = (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.COMPLETED)
    cutoff_date: date | None = None
    invoice_date_policy: str = "payment_date"
    # The seller's line description templates by kind (invoicing.linetexts); empty: our wording.
    line_texts: Mapping[str, str] = field(default_factory=dict)


def ineligibility_reason(order: OrderLike, rules: SellerRules, *, already_invoiced: bool) -> str | None:
    """None if the order should be invoiced now, else a short reason for the dashboard."""
    if already_invoiced:
        return _("already invoiced")
    if order.status == OrderStatus.CANCELLED:
        return _("cancelled")
    if order.quarantined:
        return _("its marketplace data could not be read (see the order's problems)")
    if order.status not in set(rules.invoiceable_statuses):
        return _("status '%(status)s' is not in your invoiceable statuses") % {"status": order.status}
    if rules.cutoff_date and as_local_date(order.ordered_at) < rules.cutoff_date:
        return _("placed before your start date")
    return None


def as_local_date(value: date | datetime) -> date:
    """The calendar date in the seller's time zone (settings.TIME_ZONE), for aware datetimes."""
    if isinstance(value, datetime):
        return (timezone.localtime(value) if timezone.is_aware(value) else value).date()
    return value


def invoice_date_for(order: OrderLike, rules: SellerRules) -> date:
    """The operation date: when the buyer paid (the taxable event for goods paid before they ship,
    docs/tax.md §1.4) or when the order was placed, by the seller's policy."""
    if rules.invoice_date_policy == "payment_date" and order.paid_at:
        return as_local_date(order.paid_at)
    return as_local_date(order.ordered_at)
