"""Builders for credit-note tests: an order invoiced for real (through issuing, against the fake
Fatture), orders of a BrickOwl store, and running the credit-note work as a worker would."""

from decimal import Decimal as D

from invoicing import creditnotes, issuing
from invoicing.creditmodels import CreditNote
from invoicing.models import Invoice, InvoiceLine
from tests.factories import StoreConnectionFactory
from tests.factories_fatture import COMPANY_ID
from tests.factories_invoicing import make_order


def invoiced(order) -> Invoice:
    """``order`` invoiced through the real issuing flow (needs the ``fake`` Fatture)."""
    invoice = Invoice.objects.create(tenant=order.tenant, order=order)
    issuing.invoice_process(invoice_id=invoice.id)
    invoice.refresh_from_db()
    assert invoice.state == Invoice.State.ISSUED, (invoice.error_code, invoice.error_detail)
    return invoice


def brickowl_order(tenant, **fields):
    store = StoreConnectionFactory(tenant=tenant, marketplace="brickowl", name="BO")
    fields.setdefault("paid_at", None)
    return make_order(tenant, store=store, **fields)


def issued_by_hand(order, *, lines, fx_rate=None, currency="EUR", number="7", invoice_date=None, client_id=501):
    """An issued invoice written directly (e.g. a USD order converted at a stored rate): ``lines``
    are (slot, EUR gross, original gross, vat id, natura)."""
    invoice = Invoice.objects.create(
        tenant=order.tenant,
        order=order,
        state=Invoice.State.ISSUED,
        company_id=COMPANY_ID,
        fatture_id=8000 + order.id,
        number=number,
        numeration="/A",
        invoice_date=invoice_date or order.paid_at.date(),
        sent_client_id=client_id,
        sent_date=invoice_date or order.paid_at.date(),
        total=sum((D(eur) for _slot, eur, *_rest in lines), D(0)),
        currency="EUR",
        original_currency=currency,
        original_total=sum((D(orig) for _slot, _eur, orig, *_rest in lines), D(0)),
        fx_rate=fx_rate,
        fx_rate_date=order.paid_at.date() if fx_rate else None,
    )
    for position, (slot, eur, original, vat_id, natura) in enumerate(lines):
        InvoiceLine.objects.create(
            invoice=invoice,
            position=position,
            slot=slot,
            product_id=1001 if slot.startswith("std") else 1004 if slot == "shipping" else 1003,
            product_name=slot,
            description=f"{slot} — order {order.marketplace_order_id}",
            treatment="export" if natura == "N3.1" else "domestic",
            vat_id=vat_id,
            vat_rate=D(0) if natura else D(22),
            natura=natura,
            gross=D(eur),
            original_gross=D(original),
        )
    return invoice


def run_credit_notes() -> list[CreditNote]:
    """Process every waiting credit note, oldest first, as the dispatcher would hand them out."""
    waiting = CreditNote.objects.filter(state__in=["pending", "failed"]).order_by("created_at", "id")
    for note_id in list(waiting.values_list("id", flat=True)):
        creditnotes.credit_note_process(credit_note_id=note_id)
    return list(CreditNote.objects.order_by("created_at", "id"))
