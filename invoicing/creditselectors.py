"""Read-only queries about credit notes for the seller's pages: the order page's section and the
dashboard's counts."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from accounts.models import Tenant
from marketplaces.models import Order

from .creditmodels import CreditNote
from .creditplan import PartAmounts
from .creditrequests import available_parts
from .forms import CreditNoteForm
from .models import Invoice, InvoiceLine

K = CreditNote.State
NEEDS_SELLER = [K.HELD, K.NEEDS_ATTENTION]


@dataclass
class CreditSection:
    """The order page's "Credit notes" section: the invoice, its credit notes (a held one shows its
    proposal in the answer form), what is left to credit and the "Refund / credit note" form."""

    invoice: Invoice
    notes: list[CreditNote]
    available: PartAmounts
    currency: str
    has_lines: bool
    can_request: bool
    form: CreditNoteForm


def credit_section(*, order: Order) -> CreditSection | None:
    """None until the order has an issued invoice: only a numbered invoice is corrected."""
    invoice = Invoice.objects.filter(order=order, state=Invoice.State.ISSUED).first()
    if invoice is None:
        return None
    notes = list(CreditNote.objects.filter(invoice=invoice).select_related("decided_by").order_by("created_at", "id"))
    available = available_parts(invoice)
    has_lines = InvoiceLine.objects.filter(invoice=invoice).exists()
    return CreditSection(
        invoice=invoice,
        notes=notes,
        available=available,
        currency=invoice.original_currency or order.currency or "EUR",
        has_lines=has_lines,
        can_request=has_lines and available.total > 0,
        form=CreditNoteForm(),
    )


@dataclass(frozen=True)
class CreditCounts:
    issued: int
    waiting: int  # on their way (queued, retrying)
    needs_seller: int


def credit_counts(*, tenant: Tenant) -> CreditCounts:
    """The dashboard's credit-note line, in one query."""
    counts = CreditNote.objects.filter(tenant=tenant).aggregate(
        issued=Count("id", filter=Q(state=K.ISSUED)),
        waiting=Count("id", filter=Q(state__in=[K.PENDING, K.CLAIMED, K.SUBMITTING, K.FAILED])),
        needs_seller=Count("id", filter=Q(state__in=NEEDS_SELLER)),
    )
    return CreditCounts(**counts)


def credit_notes_needing_seller(*, tenant: Tenant, limit: int = 10) -> QuerySet[CreditNote]:
    return (
        CreditNote.objects.filter(tenant=tenant, state__in=NEEDS_SELLER)
        .select_related("invoice__order")
        .order_by("-updated_at")[:limit]
    )
