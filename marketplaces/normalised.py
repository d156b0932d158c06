"""The typed, marketplace-neutral shape of one order, and the tolerant parsers both
normalisers share.

Parsing never raises on bad data: a value that cannot be read becomes a safe default plus a
readable sentence in ``errors`` (stored in ``Order.data_errors``), so one malformed order never
stops an import.
"""

import hashlib
import html
import json
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django_countries import countries

ZERO = Decimal("0")
FOUR_PLACES = Decimal("0.0001")
# The marketplaces' own totals drift by a cent against the sum of their parts (BrickLink
# reference §8.2, BrickOwl §6); more than this is reported as a data error.
TOLERANCE = Decimal("0.01")


@dataclass
class NormalisedItem:
    lot_id: str = ""
    item_no: str = ""
    item_type: str = ""
    name: str = ""
    color: str = ""
    condition: str = "new"
    quantity: int = 0
    unit_price: Decimal = ZERO
    line_total: Decimal = ZERO
    batch: int = 0
    position: int = 0


@dataclass
class NormalisedOrder:
    """Field names match ``marketplaces.models.Order`` (see its docstring for the money identity)."""

    marketplace: str
    marketplace_order_id: str
    ordered_at: datetime
    status: str
    raw_status: str = ""
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
    raw: dict = field(default_factory=dict)
    data_errors: list[str] = field(default_factory=list)
    items: list[NormalisedItem] = field(default_factory=list)

    @property
    def payload_hash(self) -> str:
        return payload_hash(self.raw)

    def order_fields(self) -> dict:
        """The values for ``Order`` columns (items excluded)."""
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "items"}
        values["payload_hash"] = self.payload_hash
        return values

    def check_totals(self) -> None:
        """Add a data error when the parts do not add up to what the seller is paid."""
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
            self.data_errors.append(
                f"The amounts do not add up: items {fmt(self.items_subtotal)} + shipping {fmt(self.shipping)} "
                f"+ insurance {fmt(self.insurance)} + other charges "
                f"{fmt(self.etc1 + self.etc2 + self.additional_charges)} − credit {fmt(self.credit)} "
                f"− coupon {fmt(self.coupon)} = {fmt(parts)}, but the seller is paid "
                f"{fmt(self.amount_paid_to_seller)} {self.currency}."
            )
        if self.items:
            lines = sum((item.line_total for item in self.items), ZERO)
            if abs(lines - self.items_subtotal) > TOLERANCE:
                self.data_errors.append(
                    f"The items add up to {fmt(lines)} but the order's items subtotal is "
                    f"{fmt(self.items_subtotal)} {self.currency}."
                )
        elif self.items_subtotal:
            self.data_errors.append("The order has no items.")


# -- parsers ----------------------------------------------------------------------------------


def money(value, label: str, errors: list[str]) -> Decimal:
    """A money string as Decimal (4 places); missing is 0, garbage is 0 plus a data error."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return ZERO
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        errors.append(f"{label} is not a number ({str(value)[:40]!r}); counted as 0.")
        return ZERO
    if not amount.is_finite():
        errors.append(f"{label} is not a number ({str(value)[:40]!r}); counted as 0.")
        return ZERO
    return amount.quantize(FOUR_PLACES, rounding=ROUND_HALF_UP)


def integer(value, label: str, errors: list[str]) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        errors.append(f"{label} is not a whole number ({str(value)[:40]!r}); counted as 0.")
        return 0


def text(value, limit: int = 255) -> str:
    """A trimmed string with HTML entities decoded once (BrickLink sends ``&#40;`` and ``&amp;``)."""
    if value is None:
        return ""
    return html.unescape(str(value)).strip()[:limit]


def country(code, errors: list[str]) -> str:
    """ISO 3166-1 alpha-2, upper case; BrickLink's ``UK`` becomes ``GB``; unknown is ``""``."""
    code = str(code or "").strip().upper()
    if code == "UK":
        code = "GB"
    if not code:
        errors.append("The shipping address has no country.")
        return ""
    if not countries.alpha2(code):
        errors.append(f"Unknown shipping country code {code!r}.")
        return ""
    return code


def currency(code, errors: list[str]) -> str:
    code = str(code or "").strip().upper()
    if len(code) != 3 or not code.isalpha():
        errors.append(f"The order has no valid currency ({code!r}).")
        return ""
    return code


def fmt(amount: Decimal) -> str:
    return f"{amount:.2f}" if amount == amount.quantize(Decimal("0.01")) else f"{amount.normalize():f}"


def payload_hash(payload) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def epoch_or_none(seconds) -> datetime | None:
    """Unix seconds (a string on BrickOwl) as UTC; 0 / 1970 (BrickOwl's "unset") is None."""
    try:
        value = int(str(seconds).strip())
    except (TypeError, ValueError):
        return None
    if value <= 86400 * 2:  # the epoch in any time zone: BrickOwl's sentinel for "not set"
        return None
    return datetime.fromtimestamp(value, tz=UTC)


def iso_or_none(value) -> datetime | None:
    """An ISO 8601 timestamp (``Z`` or an offset) as an aware datetime; 1970 is None."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if parsed.year <= 1970:
        return None
    return parsed.astimezone(UTC)
