"""BrickOwl order/view + order/items → ``NormalisedOrder`` (docs/providers/brickowl.md §4–§7).

Every value arrives as a string (ids, quantities, money, timestamps); unset timestamps are the
1970 epoch; ``buyer_name`` is the real name and ``customer_username`` the account (§5). Every
value goes through ``marketplaces.boundary``, so nothing here raises on what BrickOwl sends.
"""

from django.utils.translation import gettext as _

from accounts.choices import OrderStatus

from ..boundary import ZERO, Problems, country, currency, excerpt, integer, kind, money, order_ref, seq, shown, text
from ..moments import epoch_moment, iso_moment
from ..normalised import TOLERANCE, NormalisedItem, NormalisedOrder, fmt, line_total, unless_object
from ..rawpayload import bounded_raw

# status_id → normalised status (§4). 1 "Payment Submitted" is the buyer's word only.
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
    """BrickOwl ``status_id`` (a string or a number) → OrderStatus, and a problem when unknown."""
    key = str(status_id).strip() if isinstance(status_id, str | int) and not isinstance(status_id, bool) else ""
    if key in STATUS_BY_ID:
        return STATUS_BY_ID[key], None
    return OrderStatus.ON_HOLD, _("Unexpected BrickOwl status id %(value)s; the order is held.") % {
        "value": shown(status_id)
    }


def normalise_order(order, items) -> NormalisedOrder:
    """One BrickOwl order (``order/view``) with its items (``order/items``)."""
    unreadable = unless_object(order, items, marketplace="brickowl", name="BrickOwl")
    if unreadable is not None:
        return unreadable
    problems = Problems()
    status, status_problem = normalise_status(order.get("status_id"))
    if status_problem:
        problems.note(status_problem)
    result = NormalisedOrder(
        marketplace="brickowl",
        marketplace_order_id=order_ref(order.get("order_id")),
        ordered_at=_ordered_at(order, problems),
        # BrickOwl exposes no payment timestamp; consumers fall back to the order date.
        paid_at=None,
        # updated_time is seen in one integration's mocks only [U]; used when present.
        status_changed_at=epoch_moment(order.get("updated_time"), "updated_time", problems),
        raw_status=text(order.get("status"), "status", problems, limit=60),
        status=status,
        payment_method=text(order.get("payment_method_type"), "payment_method_type", problems, limit=100),
        buyer_username=text(order.get("customer_username"), "customer_username", problems, limit=200),
        buyer_name=text(order.get("buyer_name"), "buyer_name", problems, limit=200),
        buyer_email=text(order.get("customer_email"), "customer_email", problems, limit=254),
        currency=currency(order.get("base_currency"), "base_currency", problems),
        raw=bounded_raw({"order": order, "items": items}),
    )
    _address(result, order, problems)
    _money(result, order, problems)
    _refunds(result, order, problems)
    result.items = _items(items, problems)
    result.check_totals(problems)
    result.take(problems)
    return result


def _ordered_at(order: dict, problems: Problems):
    """``order_time`` (Unix seconds), else ``iso_order_time`` (London offset, §5); required."""
    scratch = Problems()
    moment = epoch_moment(order.get("order_time"), "order_time", scratch)
    if moment is None:
        moment = iso_moment(order.get("iso_order_time"), "iso_order_time", scratch)
    for message in scratch.messages:
        problems.note(message)
    if moment is None:
        problems.block(
            _("The order date is missing or unreadable (order_time: %(value)s).")
            % {"value": excerpt(order.get("order_time"))}
        )
    return moment


def _address(result: NormalisedOrder, order: dict, problems: Problems) -> None:
    first = text(order.get("ship_first_name"), "ship_first_name", problems, limit=100)
    last = text(order.get("ship_last_name"), "ship_last_name", problems, limit=100)
    result.ship_name = " ".join(filter(None, [first, last]))[:200]
    result.ship_address1 = text(order.get("ship_street_1"), "ship_street_1", problems)
    result.ship_address2 = text(order.get("ship_street_2"), "ship_street_2", problems)
    result.ship_postal_code = text(order.get("ship_post_code"), "ship_post_code", problems, limit=40)
    result.ship_city = text(order.get("ship_city"), "ship_city", problems, limit=120)
    result.ship_state = text(order.get("ship_region"), "ship_region", problems, limit=120)
    result.ship_country = country(order.get("ship_country_code"), "ship_country_code", problems)
    if not result.ship_address1:
        problems.note(_("The order has no shipping address."))


def _money(result: NormalisedOrder, order: dict, problems: Problems) -> None:
    result.items_subtotal = money(order.get("sub_total"), "sub_total", problems)
    result.shipping = money(order.get("ship_total"), "ship_total", problems)
    # Stored positive whatever sign BrickOwl uses: it is a subtraction either way.
    result.coupon = abs(money(order.get("coupon_discount"), "coupon_discount", problems))
    # base_order_total is the grand total in the store currency; payment_total is in the buyer's
    # currency and only useful for reconciliation (§5). BrickOwl's import tax is paid to the
    # store (then billed back, §7), so nothing here is kept by the marketplace at payment time.
    result.grand_total = money(order.get("base_order_total"), "base_order_total", problems)
    if result.grand_total < ZERO:
        problems.block(_("base_order_total is negative (%(value)s).") % {"value": fmt(result.grand_total)})
    result.amount_paid_to_seller = result.grand_total
    tax = money(order.get("tax_amount"), "tax_amount", problems)
    if tax:
        rate = money(order.get("tax_rate"), "tax_rate", problems)
        # Whether tax_amount is the seller's VAT or BrickOwl's import tax, and whether it sits
        # inside the prices, is unconfirmed (§7 [U]): a person decides for these orders.
        problems.note(
            _(
                "BrickOwl reports tax of %(amount)s %(currency)s (rate %(rate)s%%) on this order (tax_amount, "
                "tax_rate); whether it is BrickOwl's import tax and whether it is inside the prices is not known, "
                "so check before invoicing."
            )
            % {"amount": fmt(tax), "currency": result.currency, "rate": fmt(rate)}
        )


def _refunds(result: NormalisedOrder, order: dict, problems: Problems) -> None:
    """The refund fields (docs/providers/brickowl.md §9), positive amounts in the store currency.

    BrickOwl's sign convention is unconfirmed, so the magnitude is kept: a refund always reduces
    what the seller keeps. Refunds are data for credit notes, not a problem in themselves.
    """
    for name in ("refund_subtotal", "refund_shipping", "refund_adjustment", "refund_total"):
        setattr(result, name, abs(money(order.get(name), name, problems)))
    result.refund_note = text(order.get("refund_note"), "refund_note", problems, limit=1000, multiline=True)
    if result.refund_total > result.grand_total + TOLERANCE:
        problems.note(
            _("BrickOwl's refund_total %(refund)s is more than the order's total %(total)s %(currency)s.")
            % {"refund": fmt(result.refund_total), "total": fmt(result.grand_total), "currency": result.currency}
        )


def _items(items, problems: Problems) -> list[NormalisedItem]:
    # Some answers key the items by id (an object); the client turns that into a list.
    rows = seq(items, "items", problems)
    parsed: list[NormalisedItem] = []
    for position, row in enumerate(rows):
        if not isinstance(row, dict):
            problems.block(
                _("Item %(position)d is not an object (got %(kind)s: %(value)s).")
                % {"position": position + 1, "kind": kind(row), "value": excerpt(row)}
            )
            continue
        parsed.append(_item(row, len(parsed), problems))
    return parsed


def _item(row: dict, position: int, problems: Problems) -> NormalisedItem:
    lot_id = order_ref(row.get("lot_id"))
    label = _("Lot %(lot)s") % {"lot": lot_id or "?"}
    quantity = integer(row.get("ordered_quantity"), _("%(lot)s quantity") % {"lot": label}, problems)
    refunded = row.get("refunded_quantity")
    # Present in newer responses only (§6): missing is none refunded.
    refunded = (
        0 if refunded in (None, "") else integer(refunded, _("%(lot)s refunded quantity") % {"lot": label}, problems)
    )
    if refunded > quantity:
        problems.note(
            _("%(lot)s has %(refunded)d refunded of %(quantity)d ordered.")
            % {"lot": label, "refunded": refunded, "quantity": quantity}
        )
    unit_price = money(row.get("base_price"), _("%(lot)s unit price") % {"lot": label}, problems)
    full_con = row.get("full_con")
    full_con = full_con.strip().lower() if isinstance(full_con, str) else ""
    if not full_con.startswith(("new", "used")):
        # "other" (or nothing): standard VAT goods is the safe side, never the margin scheme.
        problems.note(
            _("%(lot)s has condition %(value)s; treated as new.")
            % {"lot": label, "value": excerpt(row.get("full_con")) if full_con else "'(none)'"}
        )
    return NormalisedItem(
        lot_id=lot_id,
        item_no=text(row.get("boid"), "boid", problems, limit=80),
        item_type=text(row.get("type"), "type", problems, limit=40),
        name=text(row.get("name"), "name", problems, limit=500),
        color=text(row.get("color_name"), "color_name", problems, limit=80),
        condition="used" if full_con.startswith("used") else "new",
        quantity=quantity,
        refunded_quantity=refunded,
        unit_price=unit_price,
        line_total=line_total(unit_price, quantity, label, problems),
        position=position,
    )
