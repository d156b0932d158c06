"""BrickLink order + item batches → ``NormalisedOrder`` (docs/providers/bricklink.md §5–§9).

Read tolerantly with ``.get()``: field names are inconsistent on BrickLink (``salesTax`` vs
``salesTax_collected_by_BL``, ``grand_total`` vs ``grandtotal``, §10.6). Every value goes through
``marketplaces.boundary``, so nothing here raises on what BrickLink sends.
"""

import re

from django.utils.translation import gettext as _

from accounts.choices import OrderStatus

from ..boundary import (
    ZERO,
    Problems,
    country,
    currency,
    excerpt,
    flag,
    integer,
    kind,
    money,
    obj,
    order_ref,
    seq,
    shown,
    text,
)
from ..moments import iso_moment
from ..normalised import TOLERANCE, NormalisedItem, NormalisedOrder, fmt, line_total, unless_object
from ..rawpayload import bounded_raw

PAID_STATUSES = {"PAID", "PACKED"}
SHIPPED_STATUSES = {"SHIPPED"}
COMPLETED_STATUSES = {"RECEIVED", "COMPLETED"}
CANCELLED_STATUSES = {"CANCELLED", "PURGED", "NPX"}
DISPUTE_STATUSES = {"OCR", "NPB", "NRS", "NSS"}
PENDING_STATUSES = {"PENDING", "UPDATED"}
AWAITING_STATUSES = {"PROCESSING", "READY"}
PAYMENT_RECEIVED = {"RECEIVED", "COMPLETED"}
PAYMENT_REVERSED = {"RETURNED", "BOUNCED"}
# §5.2: the payment statuses BrickLink documents.
PAYMENT_STATUSES = {"NONE", "SENT", "RECEIVED", "CLEARING", "RETURNED", "BOUNCED", "COMPLETED"}

# "10115 Berlin", "00184 Roma RM"; "SW1A 1AA London" is left alone: only leading digit codes.
_POSTCODE_CITY = re.compile(r"^(\d{4,6})\s+(.+)$")


def normalise_status(status, payment: dict | None) -> tuple[str, str | None]:
    """BrickLink status + payment → OrderStatus, by the "is it paid?" rule of §5.3.

    Returns the status and, for an unknown value, a problem sentence (the order is then held).
    """
    raw = status.strip().upper() if isinstance(status, str) else ""
    payment = payment if isinstance(payment, dict) else {}
    payment_status = payment.get("status")
    payment_status = payment_status.strip().upper() if isinstance(payment_status, str) else ""
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
    return OrderStatus.ON_HOLD, _("Unexpected BrickLink status %(value)s; the order is held.") % {
        "value": shown(status)
    }


def normalise_order(order, batches) -> NormalisedOrder:
    """One BrickLink order (``GET /orders/{id}`` data) with its item batches (§4.2)."""
    unreadable = unless_object(order, batches, marketplace="bricklink", name="BrickLink")
    if unreadable is not None:
        return unreadable
    problems = Problems()
    cost = obj(order.get("cost"), "cost", problems, required=True)
    payment = obj(order.get("payment"), "payment", problems)
    shipping = obj(order.get("shipping"), "shipping", problems)
    address = obj(shipping.get("address"), "shipping.address", problems)

    status, status_problem = normalise_status(order.get("status"), payment)
    if status_problem:
        problems.note(status_problem)
    result = NormalisedOrder(
        marketplace="bricklink",
        marketplace_order_id=order_ref(order.get("order_id")),
        ordered_at=iso_moment(order.get("date_ordered"), "date_ordered", problems, required=True),
        paid_at=iso_moment(payment.get("date_paid"), "payment.date_paid", problems),
        status_changed_at=iso_moment(order.get("date_status_changed"), "date_status_changed", problems),
        raw_status=text(order.get("status"), "status", problems, limit=60),
        status=status,
        buyer_username=text(order.get("buyer_name"), "buyer_name", problems, limit=200),
        buyer_email=text(order.get("buyer_email"), "buyer_email", problems, limit=254),
        currency=currency(cost.get("currency_code"), "cost.currency_code", problems),
        raw=bounded_raw({"order": order, "items": batches}),
    )
    _payment(result, payment, problems)
    _address(result, address, problems)
    _money(result, order, cost, problems)
    result.items = _items(batches, problems)
    result.check_totals(problems)
    result.take(problems)
    return result


def _payment(result: NormalisedOrder, payment: dict, problems: Problems) -> None:
    """The payment method (free text, §6) and raw payment status (§5.2), kept for invoicing: the
    e-invoice maps the method, and "was paid, now UPDATED" needs the status (see ``Order`` and
    ``marketplaces.upsert``, which says it in ``data_errors``)."""
    result.payment_method = text(payment.get("method"), "payment.method", problems, limit=100)
    result.payment_status = text(payment.get("status"), "payment.status", problems, limit=30)
    if result.payment_status and result.payment_status.upper() not in PAYMENT_STATUSES:
        problems.note(
            _("Unexpected BrickLink payment status %(value)s (payment.status).") % {"value": excerpt(payment["status"])}
        )


def _address(result: NormalisedOrder, address: dict, problems: Problems) -> None:
    name = address.get("name")
    # An object per the docs; tolerate a plain string name.
    if isinstance(name, str):
        name = {"full": name}
    name = obj(name, "shipping.address.name", problems)
    full_name = text(name.get("full"), "shipping.address.name.full", problems, limit=200) or " ".join(
        filter(
            None,
            [
                text(name.get("first"), "shipping.address.name.first", problems, limit=100),
                text(name.get("last"), "shipping.address.name.last", problems, limit=100),
            ],
        )
    )
    # BrickLink's username is the buyer identity; the real name only lives in the address (§6).
    result.ship_name = result.buyer_name = full_name
    result.ship_address1 = text(address.get("address1"), "shipping.address.address1", problems)
    result.ship_address2 = text(address.get("address2"), "shipping.address.address2", problems)
    result.ship_postal_code = text(address.get("postal_code"), "shipping.address.postal_code", problems, limit=40)
    result.ship_city = text(address.get("city"), "shipping.address.city", problems, limit=120)
    result.ship_state = text(address.get("state"), "shipping.address.state", problems, limit=120)
    result.ship_country = country(address.get("country_code"), "shipping.address.country_code", problems)
    full = text(address.get("full"), "shipping.address.full", problems, limit=2000, multiline=True)
    if not result.ship_address1 and full:
        _from_free_text(result, full)
    if not result.ship_address1:
        problems.note(_("The order has no shipping address."))


def _from_free_text(result: NormalisedOrder, full: str) -> None:
    """Structured fields are only there for normalised addresses (§10.9): fall back to the
    free-text ``full`` address, street first, and pick up a leading-digits postcode."""
    # ``text`` turned \r\n and \r (the separators are [U], §6) into \n.
    lines = [line.strip() for line in full.split("\n") if line.strip()]
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


def _money(result: NormalisedOrder, order: dict, cost: dict, problems: Problems) -> None:
    for target, key in [
        ("items_subtotal", "subtotal"),
        ("shipping", "shipping"),
        ("insurance", "insurance"),
        ("etc1", "etc1"),
        ("etc2", "etc2"),
        ("credit", "credit"),
        ("coupon", "coupon"),
    ]:
        setattr(result, target, abs(money(cost.get(key), f"cost.{key}", problems)))
    grand_key = "grand_total" if "grand_total" in cost else "grandtotal"
    result.grand_total = money(cost.get(grand_key), f"cost.{grand_key}", problems)
    if result.grand_total < ZERO:
        problems.block(
            _("cost.%(key)s is negative (%(value)s).") % {"key": grand_key, "value": fmt(result.grand_total)}
        )
    _marketplace_tax(result, order, cost, problems)


def _marketplace_tax(result: NormalisedOrder, order: dict, cost: dict, problems: Problems) -> None:
    """Tax BrickLink collects and keeps (§9 a, b): inside grand_total, never the seller's revenue."""
    sales_tax = money(cost.get("salesTax", cost.get("salesTax_collected_by_BL")), "cost.salesTax", problems)
    final_total = money(cost.get("final_total"), "cost.final_total", problems) if cost.get("final_total") else None
    vat_flag = flag(order.get("vat_collected_by_bl"))
    # cost.vat is the likely field for BrickLink-collected VAT [U].
    vat = money(cost.get("vat"), "cost.vat", problems) if vat_flag else ZERO
    if flag(order.get("salesTax_collected_by_bl")) and not sales_tax:
        # The amount field is often absent (§6: the documented name is usually missing);
        # final_total = grand_total − sales tax collected by BL [D] gives it.
        gap = result.grand_total - final_total - vat if final_total is not None else ZERO
        if gap > ZERO:
            sales_tax = gap
        elif "salesTax" not in cost and "salesTax_collected_by_BL" not in cost:
            problems.note(_("BrickLink says it collected sales tax on this order but reports no amount."))
    if vat_flag:
        # Fall back to the gap between grand_total and final_total when cost.vat is missing.
        if not vat and final_total is not None and result.grand_total - final_total - sales_tax > ZERO:
            vat = result.grand_total - final_total - sales_tax
        if not vat:
            problems.note(_("BrickLink says it collected VAT on this order but reports no amount."))
    result.marketplace_tax = sales_tax + vat
    result.amount_paid_to_seller = result.grand_total - result.marketplace_tax
    if final_total is not None and abs(final_total - result.amount_paid_to_seller) > TOLERANCE:
        problems.note(
            _("BrickLink's final total %(final)s differs from the grand total minus the tax BrickLink kept (%(paid)s).")
            % {"final": fmt(final_total), "paid": fmt(result.amount_paid_to_seller)}
        )


def _items(batches, problems: Problems) -> list[NormalisedItem]:
    """Flatten the batches (a list of lists, §4.2); a batch that is a lone object is one item."""
    items: list[NormalisedItem] = []
    for batch_no, batch in enumerate(seq(batches, "items", problems), start=1):
        for row in batch if isinstance(batch, list) else [batch]:
            if not isinstance(row, dict):
                problems.block(
                    _("An item of batch %(batch)d is not an object (got %(kind)s: %(value)s).")
                    % {"batch": batch_no, "kind": kind(row), "value": excerpt(row)}
                )
                continue
            items.append(_item(row, batch_no, len(items), problems))
    return items


def _item(row: dict, batch_no: int, position: int, problems: Problems) -> NormalisedItem:
    catalog = obj(row.get("item"), "item", problems)
    lot_id = order_ref(row.get("inventory_id"))
    label = _("Lot %(lot)s") % {"lot": lot_id or "?"}
    quantity = integer(row.get("quantity"), _("%(lot)s quantity") % {"lot": label}, problems)
    final = row.get("unit_price_final")
    # unit_price_final is the price after tiered pricing (§7): the one charged.
    unit_price = money(
        final if final not in (None, "") else row.get("unit_price"), _("%(lot)s unit price") % {"lot": label}, problems
    )
    new_or_used = row.get("new_or_used")
    new_or_used = new_or_used.strip().upper() if isinstance(new_or_used, str) else ""
    if new_or_used not in ("N", "U"):
        problems.note(
            _("%(lot)s has an unknown condition %(value)s; treated as new.")
            % {"lot": label, "value": excerpt(row.get("new_or_used"))}
        )
    color_id = order_ref(row.get("color_id"))
    return NormalisedItem(
        lot_id=lot_id,
        item_no=text(catalog.get("no"), "item.no", problems, limit=80),
        item_type=text(catalog.get("type"), "item.type", problems, limit=40),
        name=text(catalog.get("name"), "item.name", problems, limit=500),
        # color_id 0 means "no colour" (§7).
        color=text(row.get("color_name"), "color_name", problems, limit=80) or ("" if color_id == "0" else color_id),
        condition="used" if new_or_used == "U" else "new",
        quantity=quantity,
        unit_price=unit_price,
        line_total=line_total(unit_price, quantity, label, problems),
        batch=batch_no,
        position=position,
    )
