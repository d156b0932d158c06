"""The order's money, split into what the invoice lines carry. Pure functions, no I/O.

- Each lot goes to margin-scheme or standard goods by the seller's margin rule; all lots of a kind
  become one amount. Coupons and credits reduce the goods pro rata (docs/tax.md §10: discounts
  reduce the taxable amount).
- Shipping + insurance form the shipping charge; etc1 + etc2 + other charges the handling charge;
  tax collected by the marketplace is left out: it is not the seller's revenue (docs/tax.md §6).
- Amounts are gross, rounded half-up to cents (docs/architecture.md §5.4); the rounding residue goes on the
  largest amount so that the total equals what the buyer paid the seller, to the cent. A residue
  larger than rounding can explain is a question for the seller (``order_data_held``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

from accounts.choices import MarginRule

CENT = Decimal("0.01")
ZERO = Decimal("0")


class ItemLike(Protocol):
    """What the plan reads of an order line (marketplaces.models.OrderItem satisfies it)."""

    condition: str
    quantity: int
    line_total: Decimal


class AmountsLike(Protocol):
    """The order's money fields (marketplaces.models.Order satisfies it)."""

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


class AmountsMismatch(Exception):
    """The parts do not add up to what the buyer paid, beyond what rounding explains."""

    def __init__(self, computed: Decimal, paid: Decimal):
        super().__init__(f"{computed} != {paid}")
        self.computed, self.paid = computed, paid


def money(value: Decimal | int | str | None) -> Decimal:
    """Round half-up to cents (docs/architecture.md §5.4)."""
    return Decimal(value or 0).quantize(CENT, rounding=ROUND_HALF_UP)


def is_margin_lot(condition: str, margin_rule: str) -> bool:
    if margin_rule == MarginRule.ALL:
        return True
    return margin_rule == MarginRule.USED and (condition or "").lower() == "used"


def _allocate(total: Decimal, weights: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """Split ``total`` over keys proportionally to ``weights`` (unrounded)."""
    weight_sum = sum(weights.values(), ZERO)
    if not weights:
        return {}
    if weight_sum == 0:
        share = total / len(weights)
        return {k: share for k in weights}
    return {k: total * w / weight_sum for k, w in weights.items()}


def goods_amounts(
    order: AmountsLike, items: Iterable[ItemLike], margin_rule: str
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
    for kind, share in _allocate(discount, dict(goods)).items():
        goods[kind] -= share
    return goods, pieces


def shipping_amount(order: AmountsLike) -> Decimal:
    return Decimal(order.shipping or 0) + Decimal(order.insurance or 0)


def handling_amount(order: AmountsLike) -> Decimal:
    return Decimal(order.etc1 or 0) + Decimal(order.etc2 or 0) + Decimal(order.additional_charges or 0)


def reconcile(amounts: list[Decimal], target: Decimal) -> list[Decimal]:
    """Round every amount to cents, then move the residue onto the largest one; raises
    AmountsMismatch when the residue is more than rounding can explain."""
    rounded = [money(a) for a in amounts]
    residue = target - sum(rounded, ZERO)
    if residue == 0:
        return rounded
    # Each 4-dp component rounds by at most half a cent; allow that per component, plus a cent.
    tolerance = CENT * (len(amounts) + 2)
    if not rounded or abs(residue) > tolerance:
        raise AmountsMismatch(sum(rounded, ZERO), target)
    largest = max(range(len(rounded)), key=lambda i: abs(rounded[i]))
    rounded[largest] += residue
    return rounded
