"""invoicing views for the isolation tests (see tests/tenant_views.py for the format)."""

from invoicing.models import Invoice, SyncRun
from tests.factories_invoicing import make_order

INVOICING_TENANT_VIEWS: set[str] = {
    "invoicing:dashboard",
    "invoicing:sync_now",
    "invoicing:sync_confirm",
    "invoicing:retry_all_failed",
    "invoicing:buyer_list",
    "invoicing:buyer_edit",
    "invoicing:tax_settings",
    "invoicing:einvoice_settings",
    "invoicing:numbering_settings",
    "invoicing:money",
    "invoicing:money_export_csv",
    "invoicing:money_export_xlsx",
}


def _order(tenant):
    return {"public_id": make_order(tenant).public_id}


def _invoice(tenant):
    invoice = Invoice.objects.create(tenant=tenant, order=make_order(tenant), state=Invoice.State.NEEDS_ATTENTION)
    return {"public_id": invoice.public_id}


def _run(tenant):
    return {"public_id": SyncRun.objects.create(tenant=tenant, trigger=SyncRun.Trigger.MANUAL).public_id}


INVOICING_OBJECT_VIEWS: dict[str, tuple] = {
    "invoicing:order_preview": (_order, ["GET"]),
    "invoicing:order_invoice_now": (_order, ["POST"]),
    "invoicing:order_decide": (_order, ["POST"]),
    "invoicing:invoice_retry": (_invoice, ["POST"]),
    "invoicing:einvoice_resend": (_invoice, ["POST"]),
    "invoicing:sync_progress": (_run, ["GET"]),
}


def _invoiced_order(tenant):
    from tests.factories_credit import issued_by_hand

    order = make_order(tenant)
    issued_by_hand(order, lines=[("std_domestic", "12.50", "12.50", 0, ""), ("shipping", "5.00", "5.00", 0, "")])
    return {"public_id": order.public_id}


def _credit_note(tenant):
    from invoicing.creditmodels import CreditNote
    from tests.factories_credit import issued_by_hand

    order = make_order(tenant)
    invoice = issued_by_hand(order, lines=[("std_domestic", "12.50", "12.50", 0, "")])
    note = CreditNote.objects.create(
        tenant=tenant,
        invoice=invoice,
        event_key="payment:returned",
        source="marketplace",
        basis="full",
        state=CreditNote.State.HELD,
        error_code="credit_note_payment_reversed",
    )
    return {"public_id": note.public_id}


INVOICING_OBJECT_VIEWS.update(
    {
        "invoicing:credit_note_create": (_invoiced_order, ["POST"]),
        "invoicing:order_reread": (_invoiced_order, ["POST"]),
        "invoicing:credit_note_answer": (_credit_note, ["POST"]),
        "invoicing:credit_note_retry": (_credit_note, ["POST"]),
        "invoicing:credit_note_einvoice_resend": (_credit_note, ["POST"]),
    }
)
