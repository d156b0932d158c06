"""The document a credit note becomes: the accounting-neutral draft (the invoice's own customer and
lines, the link to the original, the Italian wording, an e-invoice when its invoice was one) and
the hook for sending it to SdI."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import formats, translation

from accounts.services import settings_for
from taxes.wording import conversion_note

from .accounting import AccountingBackend, CreditNoteDraft, DraftLine, InvoiceDraft
from .creditmodels import CreditNote
from .creditplan import CreditPlan, credit_note_text
from .customers import customer_code, customer_data, customer_sync
from .einvoicing import buyer_entity, initial_state
from .models import CustomerLink, Invoice
from .plan import INVOICE_LANGUAGE
from .taxcontext import buyer_for


def credit_note_client_id(invoice: Invoice, backend: AccountingBackend) -> int:
    """The invoice's own customer: the client id its create sent; for an invoice issued before
    that was kept, the local customer map, and only then a customer sync."""
    if invoice.sent_client_id:
        return int(invoice.sent_client_id)
    order = invoice.order
    link = CustomerLink.objects.filter(
        tenant_id=invoice.tenant_id, company_id=backend.company_id, code=customer_code(order)
    ).first()
    if link is not None and link.fatture_client_id:  # 0: a create not confirmed yet (clientindex.py)
        return int(link.fatture_client_id)
    return customer_sync(backend=backend, tenant=invoice.tenant, order=order)


# --- the e-invoicing hook ------------------------------------------------------------------------


def einvoice_choice(invoice: Invoice, backend: AccountingBackend) -> tuple[bool, str]:
    """Whether the credit note is an e-invoice — exactly when its invoice was created as one
    (``Invoice.ei_state``, invoicing/einvoicing.py): a credit note corrects a document in its own
    kind, never re-decides it — and the payment code (ModalitaPagamento) the invoice carried."""
    if invoice.ei_state == Invoice.EInvoice.NONE:
        return False, ""
    seller = settings_for(invoice.tenant)
    return True, backend.payment_code(invoice.order.payment_method, seller.payment_method_codes)


def credit_note_after_issue(*, credit_note: CreditNote, backend: AccountingBackend) -> None:
    """An e-invoice credit note (created with its link to the original in ``ei_data``) goes to SdI
    as its invoice did: sent by us when the seller's mode is "send" (invoicing/einvoicing.py, the
    same exactly-once send and the same status reads as invoices), or left for the seller to send
    from Fatture in Cloud. SdI refuses a credit note dated before its invoice (00418), which
    invoicing/creditnotes.py never creates."""
    if not credit_note.electronic:
        return
    mode = settings_for(credit_note.tenant).einvoice_mode
    state = initial_state(electronic=True, tenant_mode=mode)
    CreditNote.objects.filter(id=credit_note.id, ei_state=CreditNote.EInvoice.NONE).update(
        ei_state=state, ei_recipient=credit_note.invoice.ei_recipient
    )
    if state == CreditNote.EInvoice.TO_SEND:
        transaction.on_commit(lambda: _send_later(credit_note.id))


def _send_later(credit_note_id: int) -> None:
    from .tasks import send_einvoice  # the tasks module imports this one

    send_einvoice.delay(0, credit_note_id=credit_note_id)


# --- the draft -----------------------------------------------------------------------------------


def credit_note_draft(
    *, invoice: Invoice, plan: CreditPlan, client_id: int, marker: str, day: date, backend: AccountingBackend
) -> CreditNoteDraft:
    """The accounting-neutral credit note: the original invoice's customer and lines (as positive
    amounts credited), dated ``day``, linked to the invoice by number and date; an e-invoice when
    the invoice was one, with the buyer's data as the seller recorded it (as the invoice had)."""
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
    electronic, payment_method = einvoice_choice(invoice, backend)
    entity = customer_data(order)
    document = InvoiceDraft(
        client_id=client_id,
        entity=buyer_entity(entity, buyer_for(order)) if electronic else entity,
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
        electronic=electronic,
        payment_method=payment_method,
    )
    return CreditNoteDraft(document=document, original_number=invoice.display_number, original_date=invoice_date)
