"""The seller's fix after SdI refused an e-invoice: the corrected buyer data is written into the
same document (same number and date: docs/providers/fatture-in-cloud.md §8.4 lets only a
discarded or unsent document change; a delivered one is corrected by a credit note) and it goes
back to be verified and sent by einvoicing.py."""

from __future__ import annotations

from django.utils import timezone

from accounts.services import settings_for

from .accounting import AccountingBackend, DraftLine, InvoiceDraft, backend_for_tenant
from .customers import customer_data
from .einvoicing import EI, buyer_entity
from .models import CreditNote, Invoice
from .plan import PlanError
from .taxcontext import buyer_for


def _draft_from_issued(invoice: Invoice, backend: AccountingBackend) -> InvoiceDraft:
    """The invoice as it was issued (its stored lines and notes: nothing is re-decided), with the
    buyer's data as the seller has now corrected it."""
    order = invoice.order
    paid = order.paid_at or order.ordered_at
    seller = settings_for(invoice.tenant)
    lines = tuple(
        DraftLine(
            product_id=line.product_id,
            name=line.product_name,
            description=line.description,
            gross_price=line.gross,
            vat_id=line.vat_id,
        )
        for line in invoice.lines.all()
    )
    assert invoice.sent_client_id is not None and invoice.invoice_date is not None and invoice.total is not None
    return InvoiceDraft(
        client_id=invoice.sent_client_id,
        entity=buyer_entity(customer_data(order), buyer_for(order)),
        date=invoice.invoice_date,
        currency="EUR",
        visible_subject=backend.invoice_subject or invoice.marker,
        marker=invoice.marker,
        lines=lines,
        total=invoice.total - invoice.stamp_duty if seller.stamp_duty_recharged else invoice.total,
        paid_date=timezone.localtime(paid).date(),
        notes=invoice.notes,
        stamp_duty=invoice.stamp_duty,
        numeration=invoice.series,
        electronic=True,
        payment_method=backend.payment_code(order.payment_method, seller.payment_method_codes),
    )


def einvoice_resend(*, invoice: Invoice) -> bool:
    """The seller corrected what SdI refused (the buyer's data): the e-invoice is rewritten with it
    (docs/providers/fatture-in-cloud.md §8.4: only a discarded or unsent document may change; a delivered
    one is corrected by a credit note) and goes back to be verified and sent. False when it is not waiting for a fix."""
    if invoice.ei_state not in (EI.REJECTED, EI.INVALID) or invoice.fatture_id is None:
        return False
    backend = backend_for_tenant(invoice.tenant)
    if backend.check_einvoice_buyer(buyer_entity(customer_data(invoice.order), buyer_for(invoice.order))).problems:
        raise PlanError("einvoice_buyer_incomplete")
    backend.update_invoice(invoice.fatture_id, _draft_from_issued(invoice, backend))
    return bool(
        Invoice.objects.filter(id=invoice.id, ei_state__in=[EI.REJECTED, EI.INVALID]).update(
            ei_state=EI.TO_SEND, ei_next_at=None, ei_code="", ei_message="", ei_hint=""
        )
    )


def credit_note_resend(*, credit_note: CreditNote) -> bool:
    """A credit note SdI refused goes back to be verified and sent, once the seller corrected it in
    the package (its buyer data is its invoice's, corrected on the invoice's e-invoice first)."""
    return bool(
        CreditNote.objects.filter(id=credit_note.id, ei_state__in=[EI.REJECTED, EI.INVALID]).update(
            ei_state=EI.TO_SEND, ei_next_at=None, ei_code="", ei_message="", ei_hint=""
        )
    )
