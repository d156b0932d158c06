"""The invoice plan: a normalised order in, the invoice lines out. Pure functions, no I/O.

Rules (design §4, issue "Orders become invoices", italian-vat.md):

- Eligibility: the seller's status filter, never cancelled, on or after the cutoff date, not
  yet invoiced.
- Region from the shipping address (``regions.region_for``).
- Each lot goes to margin-scheme or standard goods by the seller's margin rule; all lots of a
  kind become one line ("LEGO parts, 123 pcs — BrickLink order 12345").
- Coupons and credits reduce the goods lines pro rata; shipping + insurance form the shipping
  line; etc1 + etc2 + other charges the handling line; tax collected by the marketplace is left
  out (it is not the seller's revenue).
- Amounts are gross (the invoice is sent with ``use_gross_prices``), rounded half-up to cents;
  the rounding residue goes on the largest line so that the invoice total equals what the buyer
  paid the seller, to the cent. A residue larger than rounding can explain is a data error: the
  order is held with a readable message instead of producing a wrong invoice.
- Shipping and handling use their mapped products. Their VAT follows the goods they accompany
  (italian-vat.md §10, art. 12 DPR 633/72): domestic orders keep the mapped product's own VAT;
  EU and export orders take the VAT type of that region's goods slot (e.g. 0 % N3.1 for an
  export), so a 22 % shipping line never lands on an export invoice. When an order has only
  margin goods, accessory charges take the margin slot's VAT (N5), a [PRACTICE] reading that the
  reference asks the accountant to confirm.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

from django.utils import timezone
from django.utils.translation import gettext

from accounts.choices import MarginRule, OrderStatus

from .accounting import MappedProduct
from .regions import Region, region_for


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


class ItemLike(Protocol):
    """What the plan reads of an order line (marketplaces.models.OrderItem satisfies it)."""

    condition: str
    quantity: int
    line_total: Decimal


CENT = Decimal("0.01")
ZERO = Decimal("0")
MARKETPLACE_LABELS = {"bricklink": "BrickLink", "brickowl": "BrickOwl"}


def money(value: Decimal | int | str | None) -> Decimal:
    """Round half-up to cents (design §5)."""
    return Decimal(value or 0).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class SellerRules:
    country: str = "IT"
    margin_rule: str = MarginRule.OFF
    invoiceable_statuses: Sequence[str] = (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.COMPLETED)
    cutoff_date: date | None = None
    invoice_date_policy: str = "payment_date"


@dataclass(frozen=True)
class PlanLine:
    slot: str
    product_id: int
    product_name: str
    vat_id: int
    vat_value: Decimal
    description: str
    gross_amount: Decimal
    quantity: int = 1


@dataclass(frozen=True)
class InvoicePlan:
    region: Region
    currency: str
    lines: tuple[PlanLine, ...]
    total: Decimal
    invoice_date: date
    description: str
    notes: tuple[str, ...] = ()  # statements printed on the invoice (choices, legal wording)

    @property
    def slots(self) -> list[str]:
        return [line.slot for line in self.lines]


class PlanError(Exception):
    """The order cannot be planned; ``code`` is in brickinvoice.errors.CATALOGUE."""

    def __init__(self, code: str, detail: str = "", **params: object):
        super().__init__(detail or code)
        self.code, self.detail, self.params = code, detail, params


# --- eligibility -------------------------------------------------------------------------


def ineligibility_reason(order: OrderLike, rules: SellerRules, *, already_invoiced: bool) -> str | None:
    """None if the order should be invoiced now, else a short reason for the dashboard."""
    if already_invoiced:
        return gettext("already invoiced")
    if order.status == OrderStatus.CANCELLED:
        return gettext("cancelled")
    if order.quarantined:
        return gettext("its marketplace data could not be read (see the order's problems)")
    if order.status not in set(rules.invoiceable_statuses):
        return gettext("status '%(status)s' is not in your invoiceable statuses") % {"status": order.status}
    if rules.cutoff_date and _as_date(order.ordered_at) < rules.cutoff_date:
        return gettext("placed before your cutoff date")
    return None


def _as_date(value: date | datetime) -> date:
    """The calendar date in the seller's time zone (settings.TIME_ZONE), for aware datetimes."""
    if isinstance(value, datetime):
        return (timezone.localtime(value) if timezone.is_aware(value) else value).date()
    return value


def invoice_date_for(order: OrderLike, rules: SellerRules) -> date:
    if rules.invoice_date_policy == "payment_date" and order.paid_at:
        return _as_date(order.paid_at)
    return _as_date(order.ordered_at)


# --- slots and amounts -------------------------------------------------------------------


def is_margin_lot(condition: str, margin_rule: str) -> bool:
    if margin_rule == MarginRule.ALL:
        return True
    return margin_rule == MarginRule.USED and (condition or "").lower() == "used"


def goods_slot(kind: str, region: Region) -> str:
    return f"{kind}_{region.value}"


def _allocate(total: Decimal, weights: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """Split ``total`` over keys proportionally to ``weights`` (unrounded)."""
    weight_sum = sum(weights.values(), ZERO)
    if not weights:
        return {}
    if weight_sum == 0:
        share = total / len(weights)
        return {k: share for k in weights}
    return {k: total * w / weight_sum for k, w in weights.items()}


def _goods_amounts(
    order: OrderLike, items: Iterable[ItemLike], margin_rule: str
) -> tuple[dict[str, Decimal], dict[str, int]]:
    """Gross goods amount per kind ('std' / 'margin') after coupons and credits, and piece counts."""
    weights: dict[str, Decimal] = {}
    pieces: dict[str, int] = {}
    for item in items:
        kind = "margin" if is_margin_lot(item.condition, margin_rule) else "std"
        weights[kind] = weights.get(kind, ZERO) + Decimal(item.line_total or 0)
        pieces[kind] = pieces.get(kind, 0) + int(item.quantity or 0)
    subtotal = Decimal(order.items_subtotal or 0)
    if not weights and subtotal:
        weights, pieces = {"std": subtotal}, {"std": 0}
    goods = _allocate(subtotal, weights)
    discount = Decimal(order.credit or 0) + Decimal(order.coupon or 0)
    for kind, share in _allocate(discount, {k: v for k, v in goods.items()}).items():
        goods[kind] -= share
    return goods, pieces


def build_plan(
    order: OrderLike,
    items: Sequence[ItemLike],
    rules: SellerRules,
    mapping: Mapping[str, MappedProduct],
    *,
    computed_total: bool = False,
) -> InvoicePlan:
    """The invoice lines for ``order``; raises PlanError with a catalogue code when it cannot.

    ``computed_total``: the seller chose to invoice the amounts as computed from the order's parts
    although they do not add up to what the marketplace says was paid (invoicing/decisions.py);
    the invoice then states that choice in its notes."""
    try:
        region = region_for(country=order.ship_country, postcode=order.ship_postal_code, seller_country=rules.country)
    except ValueError as exc:
        detail = gettext("Shipping country is missing or unknown (%(error)s).") % {"error": exc}
        raise PlanError("order_data_invalid", detail) from exc

    goods, pieces = _goods_amounts(order, items, rules.margin_rule)
    label = gettext("%(marketplace)s order %(number)s") % {
        "marketplace": MARKETPLACE_LABELS.get(order.marketplace, order.marketplace),
        "number": order.marketplace_order_id,
    }
    raw_lines: list[tuple[str, str, Decimal]] = []  # (slot, description, unrounded amount)
    for kind in ("std", "margin"):
        if kind in goods and (goods[kind] != 0 or pieces.get(kind)):
            what = gettext("LEGO parts") if kind == "std" else gettext("Used LEGO parts (margin scheme)")
            count = gettext(", %(n)s pcs") % {"n": pieces[kind]} if pieces.get(kind) else ""
            raw_lines.append((goods_slot(kind, region), f"{what}{count} — {label}", goods[kind]))
    shipping = Decimal(order.shipping or 0) + Decimal(order.insurance or 0)
    handling = Decimal(order.etc1 or 0) + Decimal(order.etc2 or 0) + Decimal(order.additional_charges or 0)
    if shipping:
        with_insurance = gettext(" and insurance") if order.insurance else ""
        what = gettext("Shipping")
        raw_lines.append(("shipping", f"{what}{with_insurance} — {label}", shipping))
    if handling:
        what = gettext("Handling and other charges")
        raw_lines.append(("handling", f"{what} — {label}", handling))

    paid = money(order.amount_paid_to_seller)
    computed = sum((money(amount) for _, _, amount in raw_lines), ZERO)
    target = computed if computed_total else paid
    amounts = _reconcile([amount for _, _, amount in raw_lines], target, order)
    currency = (order.currency or "EUR").upper()
    notes: tuple[str, ...] = ()
    if computed_total and computed != paid:
        notes = (
            f"Importo fatturato calcolato dalle voci dell'ordine ({computed} {currency}); il totale indicato "
            f"dal marketplace ({paid} {currency}) comprende importi non fatturati dal venditore.",
        )
    accessory_vat = _accessory_vat_source(raw_lines, region, mapping)
    lines = []
    for (slot, description, _), amount in zip(raw_lines, amounts, strict=True):
        product = _mapped(mapping, slot)
        vat = accessory_vat if slot in ("shipping", "handling") and accessory_vat else product
        lines.append(
            PlanLine(
                slot=slot,
                product_id=product.product_id,
                product_name=product.name,
                vat_id=vat.vat_id,
                vat_value=vat.vat_value,
                description=description,
                gross_amount=amount,
            )
        )
    if not lines:
        raise PlanError("order_data_invalid", gettext("The order has no amounts to invoice."))
    return InvoicePlan(
        region=region,
        currency=currency,
        lines=tuple(lines),
        total=sum((line.gross_amount for line in lines), ZERO),
        invoice_date=invoice_date_for(order, rules),
        description=label,
        notes=notes,
    )


def _mapped(mapping: Mapping[str, MappedProduct], slot: str) -> MappedProduct:
    product = mapping.get(slot)
    if product is None:
        raise PlanError("slot_not_mapped", slot=slot)
    return product


def _accessory_vat_source(
    raw_lines: list[tuple[str, str, Decimal]], region: Region, mapping: Mapping[str, MappedProduct]
) -> MappedProduct | None:
    """The product whose VAT shipping/handling lines take; None keeps their own (module docstring)."""
    slots = {slot for slot, _, _ in raw_lines}
    std, margin = goods_slot("std", region), goods_slot("margin", region)
    source = margin if margin in slots and std not in slots else std
    if source == std and region == Region.DOMESTIC:
        return None
    return _mapped(mapping, source)


def _reconcile(amounts: list[Decimal], target: Decimal, order: OrderLike) -> list[Decimal]:
    """Round every amount to cents, then move the residue onto the largest line."""
    rounded = [money(a) for a in amounts]
    residue = target - sum(rounded, ZERO)
    if residue == 0:
        return rounded
    # Each 4-dp component rounds by at most half a cent; allow that per component, plus a cent.
    tolerance = CENT * (len(amounts) + 2)
    if not rounded or abs(residue) > tolerance:
        raise PlanError(
            "order_data_held",
            gettext(
                "The order's amounts add up to %(computed)s %(currency)s but the buyer paid %(paid)s %(currency)s; "
                "it was not invoiced so that no wrong invoice is issued."
            )
            % {"computed": sum(rounded, ZERO), "paid": target, "currency": order.currency},
        )
    largest = max(range(len(rounded)), key=lambda i: abs(rounded[i]))
    rounded[largest] += residue
    return rounded


@dataclass
class PlanPreview:
    """What the seller sees before creating anything (the 'test with a sample order' page)."""

    plan: InvoicePlan | None = None
    error: Exception | None = None
    error_text: object | None = None  # brickinvoice.errors.ErrorText for the template
    ineligible: str | None = None
    warnings: list[str] = field(default_factory=list)
