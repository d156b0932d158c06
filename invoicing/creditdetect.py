"""What an invoiced order became, read at every import: the refund and cancellation signals of
each marketplace, turned into refund events (invoicing/creditrequests.py opens one credit note per
event key). Facts: docs/providers/brickowl.md §9, docs/providers/bricklink.md §5.2–§5.3 and §8.4.

- **Cancelled** after the invoice (BrickOwl status Cancelled; BrickLink CANCELLED, NPX, PURGED):
  the whole invoice is credited (everything left). Key ``cancelled``.
- **BrickLink payment Returned / Bounced**: a reversed payment, not necessarily a refund — held
  as a question (full credit proposed). Key ``payment:<status>``.
- **BrickOwl refund fields** (``refund_subtotal`` → goods, ``refund_shipping`` → shipping; the
  total ``refund_total``), cumulative since the order, with the items' ``refunded_quantity``
  saying which kind of goods. ``refund_adjustment`` names no part, and fields that do not add up
  to the total cannot be split: both are held as a question with a pro-rata proposal. Key: the
  refund figures themselves, so the same refund is one credit note and a later one another.
- **BrickLink item removal** (an order paid before, now UPDATED/pending with a smaller total,
  docs/providers/bricklink.md §8.4): the difference, per part, between what was invoiced and what
  the order now charges. When the parts do not explain the difference, it is held as a question.
  Key ``bricklink-reduced:<new total>``.

A quarantined order holds placeholders, never facts: it is never credited (marketplaces.models).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from decimal import Decimal

from django.utils.translation import gettext as _

from accounts.choices import OrderStatus
from marketplaces.models import Order

from .amounts import goods_amounts, handling_amount, is_margin_lot, money, shipping_amount
from .creditmodels import CreditNote
from .creditplan import (
    PARTS,
    OriginalLine,
    PartAmounts,
    credited_per_part,
    goods_kind,
    invoiced_per_part,
    left_on_lines,
    left_per_part,
    part_of,
    pro_rata_proposal,
)
from .creditrequests import RefundEvent, credit_note_open, credited_lines, original_lines
from .models import Invoice
from .rules import seller_rules_for

ZERO = Decimal("0")
TOLERANCE = Decimal("0.01")  # marketplaces round and drift by a cent (marketplaces.models.Order)
B = CreditNote.Basis
REVERSED_PAYMENTS = ("returned", "bounced")
NOT_PAID_NOW = (OrderStatus.PENDING, OrderStatus.AWAITING_PAYMENT)


def credit_notes_detect(*, order_ids: Iterable[int]) -> list[CreditNote]:
    """Open the credit notes the imported orders call for (issued invoices only); returns the new ones."""
    opened = []
    invoices = Invoice.objects.filter(order_id__in=list(order_ids), state=Invoice.State.ISSUED).select_related(
        "order", "tenant"
    )
    for invoice in invoices:
        if invoice.order.quarantined:
            continue
        for event in events_for(invoice):
            note = credit_note_open(invoice=invoice, event=event)
            if note is not None:
                opened.append(note)
    return opened


def events_for(invoice: Invoice) -> list[RefundEvent]:
    """The refund events the invoice's order shows now (at most one: the strongest signal)."""
    order = invoice.order
    if order.status == OrderStatus.CANCELLED:
        return [_cancelled(order)]
    lines = original_lines(invoice)
    if not lines:
        return []  # issued before the lines were kept: nothing to reverse automatically
    if order.marketplace == "bricklink":
        payment = (order.payment_status or "").strip().lower()
        if payment in REVERSED_PAYMENTS:
            return [_payment_reversed(order, payment, lines, invoice)]
        if order.ever_paid and order.status in NOT_PAID_NOW:
            return _reduced(order, lines, invoice)
    elif order.marketplace == "brickowl" and money(order.refund_total) > 0:
        return [_brickowl_refund(order, lines, invoice)]
    return []


def _cancelled(order: Order) -> RefundEvent:
    return RefundEvent(
        key="cancelled",
        basis=B.FULL,
        reason=_("The order was cancelled on %(marketplace)s (%(status)s) after it was invoiced.")
        % {"marketplace": order.get_marketplace_display(), "status": order.raw_status or order.status},
    )


def _left(lines: list[OriginalLine], invoice: Invoice) -> PartAmounts:
    return left_per_part(left_on_lines(lines, credited_lines(invoice)))


def _payment_reversed(order: Order, payment: str, lines: list[OriginalLine], invoice: Invoice) -> RefundEvent:
    return RefundEvent(
        key=f"payment:{payment}",
        basis=B.FULL,
        reason=_("BrickLink shows the payment of this order as %(status)s.") % {"status": order.payment_status},
        amounts=_left(lines, invoice),
        question="credit_note_payment_reversed",
    )


# --- BrickOwl refunds ----------------------------------------------------------------------------


def _brickowl_key(order: Order) -> str:
    refunded = ",".join(f"{item.lot_id}={item.refunded_quantity}" for item in order.items.all())
    figures = "|".join(
        f"{money(value)}"
        for value in (order.refund_subtotal, order.refund_shipping, order.refund_adjustment, order.refund_total)
    )
    digest = hashlib.sha256(f"{figures}|{refunded}".encode()).hexdigest()[:16]
    return f"brickowl-refund:{money(order.refund_total)}:{digest}"


def _refunded_goods_by_kind(order: Order) -> dict[str, str]:
    """Which kind of goods the refunded items were (``refunded_quantity``), by value."""
    margin_rule = seller_rules_for(order.tenant).margin_rule
    weights: dict[str, Decimal] = {}
    for item in order.items.all():
        if item.refunded_quantity and item.quantity:
            kind = "margin" if is_margin_lot(item.condition, margin_rule) else "std"
            weights[kind] = weights.get(kind, ZERO) + Decimal(item.line_total) * item.refunded_quantity / item.quantity
    return {kind: str(money(value)) for kind, value in weights.items() if value > 0}


def _brickowl_refund(order: Order, lines: list[OriginalLine], invoice: Invoice) -> RefundEvent:
    goods, shipping = money(order.refund_subtotal), money(order.refund_shipping)
    adjustment, total = money(order.refund_adjustment), money(order.refund_total)
    reason = _("BrickOwl shows a refund of %(total)s %(currency)s on this order.") % {
        "total": total,
        "currency": order.currency,
    }
    if order.refund_note:
        reason = f"{reason} {order.refund_note}"
    key = _brickowl_key(order)
    if adjustment or abs(goods + shipping + adjustment - total) > TOLERANCE:
        credited = credited_per_part(lines, credited_lines(invoice))
        known = PartAmounts(goods=max(goods - credited.goods, ZERO), shipping=max(shipping - credited.shipping, ZERO))
        rest = max(total - credited.total - known.total, ZERO)
        left = _left(lines, invoice)
        after_known = PartAmounts(**{p: max(left.of(p) - known.of(p), ZERO) for p in PARTS})
        spread = pro_rata_proposal(rest, after_known)
        proposal = PartAmounts(**{p: min(known.of(p) + spread.of(p), left.of(p)) for p in PARTS})
        return RefundEvent(key, B.AMOUNTS, reason, proposal, question="credit_note_split_unknown")
    return RefundEvent(
        key,
        B.CUMULATIVE,
        reason,
        PartAmounts(goods=goods, shipping=shipping),
        goods_weights=_refunded_goods_by_kind(order),
    )


# --- BrickLink item removals ---------------------------------------------------------------------


def _now_charged(order: Order) -> tuple[PartAmounts, dict[str, Decimal]]:
    """What the order charges now, per part, and its goods per kind (invoicing/amounts.py)."""
    goods, _pieces = goods_amounts(order, list(order.items.all()), seller_rules_for(order.tenant).margin_rule)
    charged = PartAmounts(
        goods=money(sum(goods.values(), ZERO)),
        shipping=money(shipping_amount(order)),
        handling=money(handling_amount(order)),
    )
    return charged, {kind: money(value) for kind, value in goods.items()}


def _reduced(order: Order, lines: list[OriginalLine], invoice: Invoice) -> list[RefundEvent]:
    invoiced = invoiced_per_part(lines)
    new_total = money(order.amount_paid_to_seller)
    credited = credited_per_part(lines, credited_lines(invoice))
    if new_total >= invoiced.total - credited.total - TOLERANCE:
        return []  # nothing removed beyond what is already credited (or items were added)
    reason = _(
        "BrickLink recomputed this order after an item removal: it now charges %(now)s %(currency)s, "
        "%(invoiced)s %(currency)s were invoiced."
    ) % {"now": new_total, "invoiced": invoiced.total, "currency": order.currency}
    key = f"bricklink-reduced:{new_total}"
    charged, goods_by_kind = _now_charged(order)
    removed = PartAmounts(**{part: invoiced.of(part) - charged.of(part) for part in PARTS})
    explained = abs(removed.total - (invoiced.total - new_total)) <= TOLERANCE * 2
    if not explained or any(removed.of(part) < -TOLERANCE for part in PARTS):
        due = invoiced.total - credited.total - new_total
        proposal = pro_rata_proposal(due, _left(lines, invoice))
        return [RefundEvent(key, B.AMOUNTS, reason, proposal, question="credit_note_split_unknown")]
    invoiced_kind: dict[str, Decimal] = {}
    for line in lines:
        if part_of(line.slot) == "goods":
            kind = goods_kind(line.slot)
            invoiced_kind[kind] = invoiced_kind.get(kind, ZERO) + line.original_gross
    weights = {kind: str(max(value - goods_by_kind.get(kind, ZERO), ZERO)) for kind, value in invoiced_kind.items()}
    cumulative = PartAmounts(**{part: max(removed.of(part), ZERO) for part in PARTS})
    return [RefundEvent(key, B.CUMULATIVE, reason, cumulative, goods_weights=weights)]
