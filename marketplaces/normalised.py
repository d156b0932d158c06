"""The typed, marketplace-neutral shape of one order (what both normalisers return).

Values are parsed at the boundary by ``marketplaces.boundary``: a normaliser never raises on bad
data. A value that cannot be read becomes a placeholder plus a sentence in ``data_errors``; when
the placeholder stands where the invoice needs a real value, ``quarantined`` is set (see
``marketplaces.models.Order``).
"""

import hashlib
import json
from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal

from django.utils.translation import gettext as _

from accounts.choices import OrderStatus

from .boundary import MAX_AMOUNT, ZERO, Problems, excerpt, kind
from .rawpayload import bounded_raw

# The marketplaces' own totals drift by a cent against the sum of their parts
# (docs/providers/bricklink.md §8.2, docs/providers/brickowl.md §6); more is reported.
TOLERANCE = Decimal("0.01")
PAID_STATUSES = frozenset({OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.COMPLETED})


@dataclass
class NormalisedItem:
    lot_id: str = ""
    item_no: str = ""
    item_type: str = ""
    name: str = ""
    color: str = ""
    condition: str = "new"
    quantity: int = 0
    refunded_quantity: int = 0
    unit_price: Decimal = ZERO
    line_total: Decimal = ZERO
    batch: int = 0
    position: int = 0


@dataclass
class NormalisedOrder:
    """Field names match ``marketplaces.models.Order`` (see its docstring for the money identity).

    ``ordered_at`` is None only when the order date could not be read; the order is then
    quarantined and the import stores a placeholder date.
    """

    marketplace: str
    marketplace_order_id: str
    ordered_at: datetime | None
    status: str
    raw_status: str = ""
    payment_status: str = ""
    payment_method: str = ""
    paid_at: datetime | None = None
    status_changed_at: datetime | None = None
    buyer_username: str = ""
    buyer_name: str = ""
    buyer_email: str = ""
    ship_name: str = ""
    ship_address1: str = ""
    ship_address2: str = ""
    ship_postal_code: str = ""
    ship_city: str = ""
    ship_state: str = ""
    ship_country: str = ""
    currency: str = ""
    items_subtotal: Decimal = ZERO
    shipping: Decimal = ZERO
    insurance: Decimal = ZERO
    etc1: Decimal = ZERO
    etc2: Decimal = ZERO
    additional_charges: Decimal = ZERO
    credit: Decimal = ZERO
    coupon: Decimal = ZERO
    marketplace_tax: Decimal = ZERO
    grand_total: Decimal = ZERO
    amount_paid_to_seller: Decimal = ZERO
    refund_subtotal: Decimal = ZERO
    refund_shipping: Decimal = ZERO
    refund_adjustment: Decimal = ZERO
    refund_total: Decimal = ZERO
    refund_note: str = ""
    raw: dict = field(default_factory=dict)
    data_errors: list[str] = field(default_factory=list)
    quarantined: bool = False
    items: list[NormalisedItem] = field(default_factory=list)

    @property
    def payload_hash(self) -> str:
        return payload_hash(self.raw)

    @property
    def looks_paid(self) -> bool:
        """This read shows the order paid (a paid status, or a payment date)."""
        return self.status in PAID_STATUSES or self.paid_at is not None

    def order_fields(self) -> dict:
        """The values for ``Order`` columns (items excluded)."""
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "items"}
        values["payload_hash"] = self.payload_hash
        return values

    def take(self, problems: Problems) -> None:
        """Adopt the problems found while parsing: their sentences, and the quarantine if any blocks."""
        self.data_errors = problems.messages
        self.quarantined = self.quarantined or problems.blocking

    def check_totals(self, problems: Problems) -> None:
        """Note when the parts do not add up to what the seller is paid (a note, not a block:
        the marketplaces drift, and the invoicing side decides)."""
        parts = (
            self.items_subtotal
            + self.shipping
            + self.insurance
            + self.etc1
            + self.etc2
            + self.additional_charges
            - self.credit
            - self.coupon
        )
        if abs(parts - self.amount_paid_to_seller) > TOLERANCE:
            problems.note(
                _(
                    "The amounts do not add up: items %(items)s + shipping %(shipping)s + insurance %(insurance)s "
                    "+ other charges %(other)s − credit %(credit)s − coupon %(coupon)s = %(parts)s, but the seller "
                    "is paid %(paid)s %(currency)s."
                )
                % {
                    "items": fmt(self.items_subtotal),
                    "shipping": fmt(self.shipping),
                    "insurance": fmt(self.insurance),
                    "other": fmt(self.etc1 + self.etc2 + self.additional_charges),
                    "credit": fmt(self.credit),
                    "coupon": fmt(self.coupon),
                    "parts": fmt(parts),
                    "paid": fmt(self.amount_paid_to_seller),
                    "currency": self.currency,
                }
            )
        if self.items:
            lines = sum((item.line_total for item in self.items), ZERO)
            if abs(lines - self.items_subtotal) > TOLERANCE:
                problems.note(
                    _("The items add up to %(lines)s but the order's items subtotal is %(subtotal)s %(currency)s.")
                    % {"lines": fmt(lines), "subtotal": fmt(self.items_subtotal), "currency": self.currency}
                )
        elif self.items_subtotal:
            problems.block(_("The order has no items."))


def unreadable_order(*, marketplace: str, order_id: str, raw, problem: str) -> NormalisedOrder:
    """The placeholder for an order whose payload cannot be normalised at all (the detail is not an
    object, the normaliser failed): no amounts, status on hold, the raw payload kept for support,
    and quarantined."""
    return NormalisedOrder(
        marketplace=marketplace,
        marketplace_order_id=order_id,
        ordered_at=None,
        status=OrderStatus.ON_HOLD,
        raw={"unreadable": bounded_raw(raw)},
        data_errors=[problem],
        quarantined=True,
    )


def unless_object(order, items, *, marketplace: str, name: str) -> NormalisedOrder | None:
    """The quarantined placeholder when the order's data is no JSON object at all (a list, a
    string...), else None and the normaliser goes on. ``name`` is the marketplace as people say it."""
    if isinstance(order, dict):
        return None
    return unreadable_order(
        marketplace=marketplace,
        order_id="",
        raw={"order": order, "items": items},
        problem=_("%(marketplace)s's order data is not an object (got %(kind)s: %(value)s).")
        % {"marketplace": name, "kind": kind(order), "value": excerpt(order)},
    )


def line_total(unit_price: Decimal, quantity: int, label: str, problems: Problems) -> Decimal:
    """Unit price × quantity at 4 places, or 0 with a blocking problem when the product leaves the
    range an amount may have (each factor can be in range while their product is not)."""
    total = (unit_price * Decimal(quantity)).quantize(Decimal("0.0001"))
    if abs(total) >= MAX_AMOUNT:
        problems.block(_("%(lot)s totals %(total)s, out of range; counted as 0.") % {"lot": label, "total": fmt(total)})
        return ZERO
    return total


def fmt(amount: Decimal) -> str:
    """An amount for a sentence: 2 places when that is exact, else all the places it has."""
    return f"{amount:.2f}" if amount == amount.quantize(Decimal("0.01")) else f"{amount.normalize():f}"


def payload_hash(payload) -> str:
    """A fingerprint of a (JSON-safe) payload: equal hashes mean "nothing changed"."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
