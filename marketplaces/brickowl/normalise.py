"""BrickOwl order/view + order/items → ``NormalisedOrder`` (reference §4–§7).

Every value arrives as a string (ids, quantities, money, timestamps); unset timestamps are the
1970 epoch; ``buyer_name`` is the real name and ``customer_username`` the account.
"""

from decimal import Decimal

from django.utils import timezone

from accounts.choices import OrderStatus

from ..normalised import (
    NormalisedItem,
    NormalisedOrder,
    country,
    currency,
    epoch_or_none,
    fmt,
    integer,
    iso_or_none,
    money,
    text,
)

# status_id → normalised status (reference §4). 1 "Payment Submitted" is the buyer's word only.
STATUS_BY_ID = {
    "0": OrderStatus.PENDING,
    "1": OrderStatus.AWAITING_PAYMENT,
    "2": OrderStatus.PAID,
    "3": OrderStatus.PAID,
    "4": OrderStatus.PAID,
    "5": OrderStatus.SHIPPED,
    "6": OrderStatus.COMPLETED,
    "7": OrderStatus.ON_HOLD,
    "8": OrderStatus.CANCELLED,
}


def normalise_status(status_id) -> tuple[str, str | None]:
    key = str(status_id if status_id is not None else "").strip()
    if key in STATUS_BY_ID:
        return STATUS_BY_ID[key], None
    return OrderStatus.ON_HOLD, f"Unexpected BrickOwl status id {key or '(none)'!r}; the order is held."


def normalise_order(order: dict, items: list[dict]) -> NormalisedOrder:
    errors: list[str] = []
    status, status_error = normalise_status(order.get("status_id"))
    if status_error:
        errors.append(status_error)
    ordered_at = epoch_or_none(order.get("order_time")) or iso_or_none(order.get("iso_order_time"))
    if ordered_at is None:
        errors.append(f"The order date is missing or unreadable ({str(order.get('order_time'))[:40]!r}).")
        ordered_at = timezone.now()

    result = NormalisedOrder(
        marketplace="brickowl",
        # A null id is "", never the string "None".
        marketplace_order_id=str(order.get("order_id") if order.get("order_id") is not None else "").strip(),
        ordered_at=ordered_at,
        # BrickOwl exposes no payment timestamp; consumers fall back to the order date.
        paid_at=None,
        # updated_time is seen in one integration's mocks only [U]; used when present.
        status_changed_at=epoch_or_none(order.get("updated_time")),
        raw_status=text(order.get("status"), 60),
        status=status,
        buyer_username=text(order.get("customer_username"), 200),
        buyer_name=text(order.get("buyer_name"), 200),
        buyer_email=text(order.get("customer_email"), 254),
        ship_name=" ".join(filter(None, [text(order.get("ship_first_name")), text(order.get("ship_last_name"))]))[:200],
        ship_address1=text(order.get("ship_street_1")),
        ship_address2=text(order.get("ship_street_2")),
        ship_postal_code=text(order.get("ship_post_code"), 40),
        ship_city=text(order.get("ship_city"), 120),
        ship_state=text(order.get("ship_region"), 120),
        ship_country=country(order.get("ship_country_code"), errors),
        currency=currency(order.get("base_currency"), errors),
        raw={"order": order, "items": items},
        data_errors=errors,
    )
    if not result.ship_address1:
        errors.append("The order has no shipping address.")
    _money(result, order, errors)
    result.items = [_item(row, position, errors) for position, row in enumerate(items or []) if isinstance(row, dict)]
    result.check_totals()
    return result


def _money(result: NormalisedOrder, order: dict, errors: list[str]) -> None:
    result.items_subtotal = money(order.get("sub_total"), "sub_total", errors)
    result.shipping = money(order.get("ship_total"), "ship_total", errors)
    # Stored positive whatever sign BrickOwl uses: it is a subtraction either way.
    result.coupon = abs(money(order.get("coupon_discount"), "coupon_discount", errors))
    # base_order_total is the grand total in the store currency; payment_total is in the buyer's
    # currency and only useful for reconciliation. BrickOwl's import tax is paid to the store
    # (then billed back), so nothing here is kept by the marketplace at payment time.
    result.grand_total = money(order.get("base_order_total"), "base_order_total", errors)
    result.amount_paid_to_seller = result.grand_total
    tax = money(order.get("tax_amount"), "tax_amount", errors)
    if tax:
        # Whether tax_amount is the seller's VAT or BrickOwl's import tax, and whether it sits
        # inside the prices, is unconfirmed (reference §7 [U]): a person checks these orders.
        errors.append(
            f"BrickOwl reports tax of {fmt(tax)} {result.currency} (rate {text(order.get('tax_rate'))}%) on this "
            "order; check whether it is BrickOwl's import tax before invoicing."
        )
    refunded = money(order.get("refund_total"), "refund_total", errors)
    if refunded:
        errors.append(
            f"BrickOwl shows a refund of {fmt(refunded)} {result.currency}; refunds are not invoiced automatically."
        )


def _item(row: dict, position: int, errors: list[str]) -> NormalisedItem:
    label = f"Lot {row.get('lot_id', '?')}"
    quantity = integer(row.get("ordered_quantity"), f"{label} quantity", errors)
    unit_price = money(row.get("base_price"), f"{label} unit price", errors)
    full_con = str(row.get("full_con") or "").strip().lower()
    if not full_con.startswith(("new", "used")):
        # "other" (or nothing): standard VAT goods is the safe side, never the margin scheme.
        errors.append(f"{label} has condition {full_con or '(none)'!r}; treated as new.")
    return NormalisedItem(
        lot_id=str(row.get("lot_id") or "")[:40],
        item_no=text(row.get("boid"), 80),
        item_type=text(row.get("type"), 40),
        name=text(row.get("name"), 500),
        color=text(row.get("color_name"), 80),
        condition="used" if full_con.startswith("used") else "new",
        quantity=quantity,
        unit_price=unit_price,
        line_total=(unit_price * Decimal(quantity)).quantize(Decimal("0.0001")),
        position=position,
    )
