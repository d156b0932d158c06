"""Questions an order raises and the seller's answers (issue "never stuck, never silent").

An order whose marketplace data has problems (amounts that do not add up, tax the marketplace
collected inside the amounts, a missing date …) is never invoiced silently: its invoice is held
with the problems listed and the amounts the product computed, and the seller chooses:

- invoice the amounts as computed (the choice is stated on the invoice's notes);
- do not invoice it (handled outside BrickInvoice; the reason is kept for the accountant);
- read it again from the marketplace.

Every answer is an ``OrderDecision`` with who and when. An answer belongs to the order's data at
that moment (``payload_hash``): if the marketplace changes the order afterwards, the answer lapses
and a new question is asked when the new data has problems too.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from marketplaces.models import Order

from .models import Invoice, OrderDecision
from .queueing import invoice_retry

K = OrderDecision.Kind
# A held invoice carries this code; the order page then offers the decisions above.
DATA_HELD = "order_data_held"


def decision_for(order: Order) -> OrderDecision | None:
    """The seller's standing answer for the order's current data (a re-read request is not one)."""
    return (
        OrderDecision.objects.filter(order=order, payload_hash=order.payload_hash)
        .exclude(kind=K.REREAD)
        .order_by("-decided_at", "-id")
        .first()
    )


def order_problems(order: Order) -> list[str]:
    """What is questionable in the order's data, in the seller's words (empty: nothing)."""
    return [str(problem) for problem in (order.data_errors or []) if str(problem).strip()]


@transaction.atomic
def order_decide(
    *, order: Order, kind: str, reason: str, user: User | None, question_code: str = "", numeration: str = ""
) -> OrderDecision:
    """Record the seller's answer and act on it: the held invoice goes back to the queue (invoice
    as computed), is closed as not invoiced (skip), or waits for a fresh read of the order."""
    decision = OrderDecision.objects.create(
        tenant=order.tenant,
        order=order,
        kind=kind,
        reason=reason.strip()[:2000],
        numeration=numeration.strip()[:20] if kind == K.OWN_SERIES else "",
        payload_hash=order.payload_hash,
        question_code=question_code,
        decided_by=user,
    )
    invoice = Invoice.objects.filter(order=order).first()
    if invoice is None or invoice.state == Invoice.State.ISSUED:
        return decision
    if kind == K.SKIP:
        skip_as_decided(invoice_id=invoice.id, decision=decision)
    elif kind in (K.INVOICE_AS_COMPUTED, K.DATE_TODAY, K.OWN_SERIES):
        invoice_retry(invoice=invoice)
    return decision


def skip_as_decided(*, invoice_id: int, decision: OrderDecision) -> None:
    """Close the invoice as not invoiced, with the seller's reason (for the accountant)."""
    Invoice.objects.filter(id=invoice_id).exclude(state=Invoice.State.ISSUED).update(
        state=Invoice.State.SKIPPED,
        error_code="",
        error_message=_("Not invoiced: handled outside BrickInvoice (%(reason)s).")
        % {"reason": decision.reason or _("no reason given")},
        error_hint="",
        error_detail="",
        next_attempt_at=None,
        queued_at=None,
    )


def decisions_of(order: Order) -> list[OrderDecision]:
    """The order's decision history, newest first, for the order page and the accountant."""
    return list(OrderDecision.objects.filter(order=order).select_related("decided_by").order_by("-decided_at"))
