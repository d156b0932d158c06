"""BrickLink order + item batches → ``NormalisedOrder`` (reference §5–§9).

Read tolerantly with ``.get()``: field names are inconsistent on BrickLink (``salesTax`` vs
``salesTax_collected_by_BL``, ``grand_total`` vs ``grandtotal``).
"""

import re
from decimal import Decimal

from django.utils import timezone

from accounts.choices import OrderStatus

from ..normalised import (
    TOLERANCE,
    ZERO,
    NormalisedItem,
    NormalisedOrder,
    country,
    currency,
    fmt,
    integer,
    iso_or_none,
    money,
    text,
)

PAID_STATUSES = {"PAID", "PACKED"}
SHIPPED_STATUSES = {"SHIPPED"}
COMPLETED_STATUSES = {"RECEIVED", "COMPLETED"}
CANCELLED_STATUSES = {"CANCELLED", "PURGED", "NPX"}
DISPUTE_STATUSES = {"OCR", "NPB", "NRS", "NSS"}
PENDING_STATUSES = {"PENDING", "UPDATED"}
AWAITING_STATUSES = {"PROCESSING", "READY"}
PAYMENT_RECEIVED = {"RECEIVED", "COMPLETED"}
PAYMENT_REVERSED = {"RETURNED", "BOUNCED"}

# "10115 Berlin", "00184 Roma RM", "SW1A 1AA London" is left alone: only leading digit codes.
_POSTCODE_CITY = re.compile(r"^(\d{4,6})\s+(.+)$")


def normalise_status(status, payment: dict | None) -> tuple[str, str | None]:
    """BrickLink status + payment → OrderStatus, by the "is it paid?" rule of reference §5.3.

    Returns the status and, for an unknown value, a data error (the order is then held).
    """
    raw = str(status or "").strip().upper()
    payment = payment if isinstance(payment, dict) else {}
    payment_status = str(payment.get("status") or "").strip().upper()
    if raw in CANCELLED_STATUSES:
        return OrderStatus.CANCELLED, None
    # Disputes and reversed payments need a person (a credit note if already invoiced).
    if raw in DISPUTE_STATUSES or payment_status in PAYMENT_REVERSED:
        return OrderStatus.ON_HOLD, None
    if raw in COMPLETED_STATUSES:
        return OrderStatus.COMPLETED, None
    if raw in SHIPPED_STATUSES:
        return OrderStatus.SHIPPED, None
    if raw in PAID_STATUSES:
        return OrderStatus.PAID, None
    if raw in PENDING_STATUSES | AWAITING_STATUSES:
        if payment_status in PAYMENT_RECEIVED and payment.get("date_paid"):
            return OrderStatus.PAID, None
        return (OrderStatus.PENDING if raw in PENDING_STATUSES else OrderStatus.AWAITING_PAYMENT), None
    return OrderStatus.ON_HOLD, f"Unexpected BrickLink status {raw or '(none)'!r}; the order is held."


def normalise_order(order: dict, batches: list[list[dict]]) -> NormalisedOrder:
    """One BrickLink order (``GET /orders/{id}`` data) with its item batches."""
    errors: list[str] = []
    cost = _dict(order.get("cost"))
    payment = _dict(order.get("payment"))
    address = _dict(_dict(order.get("shipping")).get("address"))

    status, status_error = normalise_status(order.get("status"), payment)
    if status_error:
        errors.append(status_error)
    ordered_at = iso_or_none(order.get("date_ordered"))
    if ordered_at is None:
        errors.append(f"The order date is missing or unreadable ({str(order.get('date_ordered'))[:40]!r}).")
        ordered_at = timezone.now()

    result = NormalisedOrder(
        marketplace="bricklink",
        # A null id is "", never the string "None".
        marketplace_order_id=str(order.get("order_id") if order.get("order_id") is not None else "").strip(),
        ordered_at=ordered_at,
        paid_at=iso_or_none(payment.get("date_paid")),
        status_changed_at=iso_or_none(order.get("date_status_changed")),
        raw_status=str(order.get("status") or "")[:60],
        status=status,
        buyer_username=text(order.get("buyer_name"), 200),
        buyer_email=text(order.get("buyer_email"), 254),
        currency=currency(cost.get("currency_code"), errors),
        raw={"order": order, "items": batches},
        data_errors=errors,
    )
    _address(result, address, errors)
    _money(result, order, cost, errors)
    result.items = _items(batches, errors)
    result.check_totals()
    return result


def _address(result: NormalisedOrder, address: dict, errors: list[str]) -> None:
    name = address.get("name")
    # An object per the docs; tolerate a plain string name rather than crash the import.
    name = {"full": name} if isinstance(name, str) else _dict(name)
    full_name = text(name.get("full"), 200) or " ".join(filter(None, [text(name.get("first")), text(name.get("last"))]))
    # BrickLink's username is the buyer identity; the real name only lives in the address.
    result.ship_name = full_name
    result.buyer_name = full_name
    result.ship_address1 = text(address.get("address1"))
    result.ship_address2 = text(address.get("address2"))
    result.ship_postal_code = text(address.get("postal_code"), 40)
    result.ship_city = text(address.get("city"), 120)
    result.ship_state = text(address.get("state"), 120)
    result.ship_country = country(address.get("country_code"), errors)
    full = text(address.get("full"), 2000)
    if not result.ship_address1 and full:
        _from_free_text(result, full)
    if not result.ship_address1:
        errors.append("The order has no shipping address.")


def _from_free_text(result: NormalisedOrder, full: str) -> None:
    """Structured fields are only there for normalised addresses (reference §10.9): fall back
    to the free-text ``full`` address, street first, and pick up a leading-digits postcode."""
    # The separators (\n, \r\n, maybe \r) are unconfirmed [U]: splitlines() takes them all.
    lines = [line.strip() for line in full.splitlines() if line.strip()]
    # Some blobs start with the recipient's name [U]; it is not the street.
    if len(lines) > 1 and result.ship_name and lines[0].casefold() == result.ship_name.casefold():
        lines = lines[1:]
    if not lines:
        return
    result.ship_address1 = lines[0][:255]
    rest = []
    for line in lines[1:]:
        match = _POSTCODE_CITY.match(line)
        if match and not result.ship_postal_code:
            result.ship_postal_code, result.ship_city = match.group(1), match.group(2)[:120]
        else:
            rest.append(line)
    # The last line is usually the country name (no digits), already known from country_code.
    if rest and result.ship_country and not any(ch.isdigit() for ch in rest[-1]):
        rest = rest[:-1]
    result.ship_address2 = ", ".join(rest)[:255]


def _money(result: NormalisedOrder, order: dict, cost: dict, errors: list[str]) -> None:
    for target, key in [
        ("items_subtotal", "subtotal"),
        ("shipping", "shipping"),
        ("insurance", "insurance"),
        ("etc1", "etc1"),
        ("etc2", "etc2"),
        ("credit", "credit"),
        ("coupon", "coupon"),
    ]:
        setattr(result, target, abs(money(cost.get(key), f"cost.{key}", errors)))
    grand_key = "grand_total" if "grand_total" in cost else "grandtotal"
    result.grand_total = money(cost.get(grand_key), f"cost.{grand_key}", errors)

    # Tax BrickLink collects and keeps (reference §9 a, b): inside grand_total, never seller revenue.
    sales_tax = money(cost.get("salesTax", cost.get("salesTax_collected_by_BL")), "cost.salesTax", errors)
    final_total = money(cost.get("final_total"), "cost.final_total", errors) if cost.get("final_total") else None
    vat_flag = _flag(order.get("vat_collected_by_bl"))
    # cost.vat is the likely field for BrickLink-collected VAT [U].
    vat = money(cost.get("vat"), "cost.vat", errors) if vat_flag else ZERO
    if _flag(order.get("salesTax_collected_by_bl")) and not sales_tax:
        # The amount field is often absent (reference §6: the documented name is usually missing);
        # final_total = grand_total − sales tax collected by BL [D] gives it.
        gap = result.grand_total - final_total - vat if final_total is not None else ZERO
        if gap > ZERO:
            sales_tax = gap
        elif "salesTax" not in cost and "salesTax_collected_by_BL" not in cost:
            errors.append("BrickLink says it collected sales tax on this order but reports no amount.")
    if vat_flag:
        # Fall back to the gap between grand_total and final_total when cost.vat is missing.
        if not vat and final_total is not None and result.grand_total - final_total - sales_tax > ZERO:
            vat = result.grand_total - final_total - sales_tax
        if not vat:
            errors.append("BrickLink says it collected VAT on this order but reports no amount.")
    result.marketplace_tax = sales_tax + vat
    result.amount_paid_to_seller = result.grand_total - result.marketplace_tax
    if final_total is not None and abs(final_total - result.amount_paid_to_seller) > TOLERANCE:
        errors.append(
            f"BrickLink's final total {fmt(final_total)} differs from the grand total minus the tax "
            f"BrickLink kept ({fmt(result.amount_paid_to_seller)})."
        )


def _dict(value) -> dict:
    """A nested object, or ``{}`` when it is missing, null or not an object."""
    return value if isinstance(value, dict) else {}


def _flag(value) -> bool:
    """A JSON boolean; tolerate ``"true"``/``"false"``/``1``/``0`` (a string "false" is truthy)."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "y")
    return bool(value)


def _items(batches: list[list[dict]], errors: list[str]) -> list[NormalisedItem]:
    items: list[NormalisedItem] = []
    for batch_no, batch in enumerate(batches if isinstance(batches, list) else [], start=1):
        for row in batch if isinstance(batch, list) else [batch]:
            if not isinstance(row, dict):
                errors.append(f"An item of batch {batch_no} is unreadable.")
                continue
            items.append(_item(row, batch_no, len(items), errors))
    return items


def _item(row: dict, batch_no: int, position: int, errors: list[str]) -> NormalisedItem:
    catalog = _dict(row.get("item"))
    label = f"Lot {row.get('inventory_id', '?')}"
    quantity = integer(row.get("quantity"), f"{label} quantity", errors)
    final = row.get("unit_price_final")
    # unit_price_final is the price after tiered pricing (reference §7): the one charged.
    unit_price = money(final if final not in (None, "") else row.get("unit_price"), f"{label} unit price", errors)
    new_or_used = str(row.get("new_or_used") or "").strip().upper()
    if new_or_used not in ("N", "U"):
        errors.append(f"{label} has an unknown condition {new_or_used!r}; treated as new.")
    color_id = row.get("color_id")
    return NormalisedItem(
        lot_id=str(row.get("inventory_id") if row.get("inventory_id") is not None else "")[:40],
        item_no=text(catalog.get("no"), 80),
        item_type=text(catalog.get("type"), 40),
        name=text(catalog.get("name"), 500),
        color=text(row.get("color_name"), 80) or ("" if color_id in (None, 0, "0") else str(color_id)),
        condition="used" if new_or_used == "U" else "new",
        quantity=quantity,
        unit_price=unit_price,
        line_total=(unit_price * Decimal(quantity)).quantize(Decimal("0.0001")),
        batch=batch_no,
        position=position,
    )
