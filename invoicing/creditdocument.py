"""The document a credit note becomes: the accounting-neutral draft (the invoice's own customer and
lines, the link to the original, the Italian wording) and the hooks e-invoicing will fill."""

from __future__ import annotations

from datetime import date

from django.utils import formats, translation

from taxes.wording import conversion_note

from .accounting import AccountingBackend, CreditNoteDraft, DraftLine, InvoiceDraft
from .creditmodels import CreditNote
from .creditplan import CreditPlan, credit_note_text
from .customers import customer_code, customer_data, customer_sync
from .models import CustomerLink, Invoice
from .plan import INVOICE_LANGUAGE


def credit_note_client_id(invoice: Invoice, backend: AccountingBackend) -> int:
    """The invoice's own customer: the client id its create sent; for an invoice issued before
    that was kept, the local customer map, and only then a customer sync."""
    if invoice.sent_client_id:
        return int(invoice.sent_client_id)
    order = invoice.order
    link = CustomerLink.objects.filter(
        tenant_id=invoice.tenant_id, company_id=backend.company_id, code=customer_code(order)
    ).first()
    if link is not None:
        return int(link.fatture_client_id)
    return customer_sync(backend=backend, tenant=invoice.tenant, order=order)


# --- the e-invoicing hook ------------------------------------------------------------------------


def einvoice_choice(invoice: Invoice) -> tuple[bool, str]:
    """Hook for e-invoicing (design §4 step 7, being built on the lead's branch): whether this
    credit note is an e-invoice — as its invoice was — and the ModalitaPagamento it repeats.
    Invoices do not record that yet, so credit notes are plain documents for now; their
    ``ei_data`` still names the original (harmless on a plain document, required on an
    e-invoice: fatture/creditnotes.py)."""
    return False, ""


def credit_note_after_issue(*, credit_note: CreditNote, backend: AccountingBackend) -> None:
    """Hook for e-invoicing: once invoices are sent to SDI, a credit note of an e-invoice is
    verified and sent once the same way and its ``ei_status`` followed (fatture/einvoice.py has the
    calls; the send endpoint takes any issued document, docs/providers/fatture-in-cloud.md §8.3).
    Until then the credit note waits in Fatture in Cloud, where a seller with e-invoicing sends it."""


# --- the draft -----------------------------------------------------------------------------------


def credit_note_draft(*, invoice: Invoice, plan: CreditPlan, client_id: int, marker: str, day: date) -> CreditNoteDraft:
    """The accounting-neutral credit note: the original invoice's customer and lines (as positive
    amounts credited), dated ``day``, linked to the invoice by number and date."""
    order = invoice.order
    invoice_date = invoice.invoice_date or day
    with translation.override(INVOICE_LANGUAGE):
        invoice_day = formats.date_format(invoice_date, "SHORT_DATE_FORMAT")
    notes = [credit_note_text(invoice_number=invoice.display_number, invoice_day=invoice_day, full=plan.full)]
    currency = invoice.original_currency or "EUR"
    if invoice.fx_rate and currency != "EUR" and invoice.fx_rate_date:
        # The invoice's own rate, stated like on the invoice (docs/tax.md §9).
        rate = invoice.fx_rate.normalize()  # stored to 6 places; printed as the ECB quotes it
        notes.append(conversion_note(plan.original_total, currency, rate, invoice.fx_rate_date))
    e_invoice, payment_method = einvoice_choice(invoice)
    document = InvoiceDraft(
        client_id=client_id,
        entity=customer_data(order),
        date=day,
        currency="EUR",
        visible_subject=f"Nota di credito — {order.get_marketplace_display()} {order.marketplace_order_id}",
        marker=marker,
        total=plan.total,
        paid_date=day,
        notes="\n".join(notes),
        numeration=invoice.series,
        lines=tuple(
            DraftLine(
                product_id=line.product_id,
                name=line.product_name,
                description=line.description,
                gross_price=line.gross,
                vat_id=line.vat_id,
            )
            for line in plan.lines
        ),
    )
    return CreditNoteDraft(
        document=document,
        original_number=invoice.display_number,
        original_date=invoice_date,
        e_invoice=e_invoice,
        ei_payment_method=payment_method,
    )
