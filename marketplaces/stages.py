"""Where an order stands in its life, for the orders list's filter: awaiting payment, to invoice,
invoiced, needs attention, credit-noted. Each stage is a condition on the order's status, its
invoice's state and its credit-note rows, so the list filters in one query.

The invoice (``invoice``) and its credit notes (``invoice__credit_notes``) are the reverse
relations the invoicing app declares: naming them here imports nothing. Credit notes are reached
through an ``id IN (subquery)``, so an invoice with two credit notes never lists its order twice.
"""

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from django.db.models import Q, QuerySet, TextChoices
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.choices import DEFAULT_INVOICEABLE_STATUSES, OrderStatus

from .models import Order

# The invoice states of work still to do (invoicing.models.Invoice.State), and the credit-note
# states that wait for the seller (invoicing.creditmodels.CreditNote.State).
OPEN_INVOICE_STATES = ["pending", "claimed", "submitting", "failed"]
CREDIT_NOTE_QUESTIONS = ["held", "needs_attention"]
# Every credit note but a skipped one (nothing to credit, or the seller said none is needed).
CREDIT_NOTES_MADE = ["held", "pending", "claimed", "submitting", "issued", "failed", "needs_attention"]
NOT_YET_PAID = [OrderStatus.PENDING, OrderStatus.AWAITING_PAYMENT]

# The orders a person should look at: quarantined, or with data problems. The same condition as
# the partial index ``order_attention_idx``, so counting them reads only that index.
NEEDS_ATTENTION = Q(quarantined=True) | ~Q(data_errors=[])


class Stage(TextChoices):
    AWAITING_PAYMENT = "awaiting_payment", _("Awaiting payment")
    TO_INVOICE = "to_invoice", _("To invoice")
    INVOICED = "invoiced", _("Invoiced")
    NEEDS_ATTENTION = "needs_attention", _("Needs attention")
    CREDIT_NOTED = "credit_noted", _("Credit-noted")


def _with_credit_notes(states: Sequence[str]) -> Q:
    """Orders whose invoice has a credit note in one of ``states``."""
    return Q(id__in=Order.objects.filter(invoice__credit_notes__state__in=states).values("id"))


def stage_condition(
    stage: str, *, invoiceable_statuses: Sequence[str] = DEFAULT_INVOICEABLE_STATUSES, cutoff: date | None = None
) -> Q:
    """The condition of ``stage``; "to invoice" follows the seller's invoiceable statuses and
    start date (invoicing.eligibility), so it lists what the next sync would invoice."""
    issued = Q(invoice__state="issued")
    if stage == Stage.AWAITING_PAYMENT:
        # ever_paid: a paid order BrickLink turned back to pending (an item removal) is not unpaid.
        return Q(status__in=NOT_YET_PAID, ever_paid=False) & ~issued
    if stage == Stage.TO_INVOICE:
        waiting = Q(invoice__isnull=True) | Q(invoice__state__in=OPEN_INVOICE_STATES)
        condition = Q(status__in=list(invoiceable_statuses), quarantined=False) & waiting
        if cutoff:
            condition &= Q(ordered_at__gte=day_start(cutoff))
        return condition
    if stage == Stage.INVOICED:
        return issued
    if stage == Stage.NEEDS_ATTENTION:
        return NEEDS_ATTENTION | Q(invoice__state="needs_attention") | _with_credit_notes(CREDIT_NOTE_QUESTIONS)
    if stage == Stage.CREDIT_NOTED:
        return _with_credit_notes(CREDIT_NOTES_MADE)
    return Q()


def day_start(day: date) -> datetime:
    """Midnight of ``day`` in the site's time zone (Europe/Rome), as an aware datetime."""
    return timezone.make_aware(datetime.combine(day, time.min))


def ordered_between(orders: QuerySet, *, date_from: date | None, date_to: date | None) -> QuerySet:
    """Orders placed on ``date_from`` .. ``date_to`` inclusive, as calendar days in Europe/Rome."""
    if date_from:
        orders = orders.filter(ordered_at__gte=day_start(date_from))
    if date_to:
        orders = orders.filter(ordered_at__lt=day_start(date_to + timedelta(days=1)))
    return orders
