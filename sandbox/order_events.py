"""What happens to paid orders on the fake marketplaces after they were invoiced, so the demo shows
credit notes (issue 14). Each event changes the order the way the marketplace shows it:

- BrickOwl refund of one lot or of everything: ``refund_subtotal`` / ``refund_shipping`` /
  ``refund_total`` grow (cumulative) and the lots' ``refunded_quantity`` with them
  (docs/providers/brickowl.md §9). Whether BrickOwl's order *list* shows a refund is [U]: here it
  does not, so the product finds it when it reads the order again (the order page's "Check the
  marketplace for refunds now", or any change of the listed row).
- BrickOwl cancellation of a paid order: status 8 Cancelled, refunded in full.
- BrickLink cancellation after payment: status CANCELLED (docs/providers/bricklink.md §8.4).
- BrickLink item removal (an approved Order Item Removal Request): the last lot goes, the order is
  recomputed, status UPDATED, payment status None, order and status dates reset to now (§8.4).
- BrickLink payment Returned (§5.2).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from .demo_base import bl_money, bl_time, bo_money
from .models import SandboxOrder, SandboxStore

D = Decimal
BL_PAID = {"PAID", "PACKED", "SHIPPED", "RECEIVED", "COMPLETED"}
BO_PAID = {"2", "3", "4", "5", "6"}


class NotApplicable(ValueError):
    """The event does not fit this order (e.g. not paid, nothing left to refund)."""


def _bo_refund(payload: dict, items: list, lots: list[dict]) -> Decimal:
    """Refund ``lots`` entirely; returns the goods amount refunded now."""
    amount = D(0)
    for lot in lots:
        ordered, refunded = int(lot["ordered_quantity"]), int(lot.get("refunded_quantity") or 0)
        amount += D(lot["base_price"]) * (ordered - refunded)
        lot["refunded_quantity"] = str(ordered)
    return D(bo_money(amount))


def _bo_totals(payload: dict, goods: Decimal, shipping: Decimal) -> None:
    payload["refund_subtotal"] = bo_money(D(payload.get("refund_subtotal") or 0) + goods)
    payload["refund_shipping"] = bo_money(D(payload.get("refund_shipping") or 0) + shipping)
    payload["refund_total"] = bo_money(
        D(payload["refund_subtotal"]) + D(payload["refund_shipping"]) + D(payload.get("refund_adjustment") or 0)
    )


def brickowl_refund_lot(order: SandboxOrder) -> str:
    """Refund the first lot not refunded yet (goods only)."""
    lot = next((i for i in order.items if int(i.get("refunded_quantity") or 0) < int(i["ordered_quantity"])), None)
    if lot is None:
        raise NotApplicable("every lot is refunded already")
    goods = _bo_refund(order.payload, order.items, [lot])
    _bo_totals(order.payload, goods, D(0))
    order.payload["refund_note"] = "Lot out of stock"
    return f"refunded {goods} {order.payload.get('base_currency', 'EUR')} for lot {lot['lot_id']}"


def brickowl_refund_all(order: SandboxOrder) -> str:
    """Refund what is left: every lot (after the coupon) and the shipping."""
    payload = order.payload
    goods_left = D(payload["sub_total"]) - D(payload.get("coupon_discount") or 0) - D(payload["refund_subtotal"])
    shipping_left = D(payload["ship_total"]) - D(payload["refund_shipping"])
    if goods_left <= 0 and shipping_left <= 0:
        raise NotApplicable("the order is refunded in full already")
    _bo_refund(payload, order.items, order.items)
    _bo_totals(payload, max(goods_left, D(0)), max(shipping_left, D(0)))
    payload["refund_note"] = "Refunded in full"
    return f"refunded in full ({payload['refund_total']} {payload.get('base_currency', 'EUR')})"


def brickowl_cancel(order: SandboxOrder) -> str:
    brickowl_refund_all(order)
    order.payload.update(status="Cancelled", status_id="8")
    return "cancelled and refunded in full"


def bricklink_cancel(order: SandboxOrder) -> str:
    order.payload["status"] = "CANCELLED"
    return "cancelled after payment (status CANCELLED)"


def _recompute_bricklink(payload: dict, removed: Decimal) -> None:
    cost = payload["cost"]
    for key in ("subtotal", "grand_total", "final_total"):
        cost[key] = bl_money(D(cost[key]) - removed)
    rate = D(cost.get("vat_rate") or 0)
    if rate:
        cost["vat_amount"] = bl_money(D(cost["grand_total"]) * rate / (100 + rate))
    payload["disp_cost"] = {k: v for k, v in cost.items() if k not in ("salesTax", "vat")}


def bricklink_remove_item(order: SandboxOrder, *, now: datetime) -> str:
    """An approved item-removal request: the last lot goes and BrickLink recomputes the order."""
    lots = [lot for batch in order.items for lot in batch]
    if len(lots) < 2:
        raise NotApplicable("the order has a single lot; cancel it instead")
    batch = order.items[-1]
    lot = batch.pop()
    if not batch:
        order.items.pop()
    removed = D(lot["unit_price_final"]) * int(lot["quantity"])
    payload = order.payload
    _recompute_bricklink(payload, removed)
    payload.update(
        status="UPDATED",
        date_ordered=bl_time(now),
        total_count=sum(int(item["quantity"]) for batch in order.items for item in batch),
        unique_count=len(lots) - 1,
    )
    payload["payment"]["status"] = "None"
    return f"removed lot {lot['item']['no']} ({bl_money(removed)} {payload['cost']['currency_code']}); status UPDATED"


def bricklink_payment_returned(order: SandboxOrder) -> str:
    order.payload["payment"]["status"] = "Returned"
    return "payment Returned"


EVENTS = {
    "bo_refund_lot": ("brickowl", brickowl_refund_lot),
    "bo_refund_all": ("brickowl", brickowl_refund_all),
    "bo_cancel": ("brickowl", brickowl_cancel),
    "bl_cancel": ("bricklink", bricklink_cancel),
    "bl_remove_item": ("bricklink", bricklink_remove_item),
    "bl_payment_returned": ("bricklink", bricklink_payment_returned),
}


def is_paid(order: SandboxOrder, marketplace: str) -> bool:
    if marketplace == SandboxStore.Marketplace.BRICKLINK:
        return str(order.payload.get("status", "")).upper() in BL_PAID
    return str(order.payload.get("status_id", "")) in BO_PAID


def order_event(order: SandboxOrder, event: str, *, now: datetime | None = None) -> str:
    """Apply ``event`` to a paid order and save it; returns what happened, in words. Raises
    NotApplicable when the event does not fit the order."""
    now = now or datetime.now(UTC)
    marketplace, apply = EVENTS.get(event, ("", None))
    if apply is None or order.store.marketplace != marketplace:
        raise NotApplicable(f"unknown event {event!r} for a {order.store.marketplace} order")
    if not is_paid(order, marketplace):
        raise NotApplicable("the order is not paid (or no longer)")
    message = apply(order, now=now) if event == "bl_remove_item" else apply(order)
    if marketplace == "bricklink":
        order.payload["date_status_changed"] = bl_time(now)
    else:
        order.payload["updated_time"] = str(int(now.timestamp()))
    order.updated_at = now
    order.save(update_fields=["payload", "items", "updated_at"])
    return f"Order {order.order_id}: {message}."


def paid_orders(store: SandboxStore, limit: int = 8) -> list[SandboxOrder]:
    """The store's latest paid orders, for the index page's buttons."""
    orders = store.orders.order_by("-ordered_at")
    return [order for order in orders[: limit * 4] if is_paid(order, store.marketplace)][:limit]
