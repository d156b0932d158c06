"""Credit notes end to end against the fake Fatture: detection of what an invoiced order became,
the payload linked to the original, exactly once under faults, and the seller's questions."""

import json
from datetime import date, timedelta
from decimal import Decimal as D

import pytest
import requests
from django.utils import timezone
from freezegun import freeze_time

from invoicing import creditnotes, creditrequests
from invoicing.creditdetect import credit_notes_detect
from invoicing.creditmodels import CreditNote
from invoicing.creditplan import PartAmounts
from invoicing.creditrequests import CreditRefused, credit_note_answer, credit_note_request
from invoicing.models import Invoice
from invoicing.tasks import dispatch_credit_notes
from marketplaces.models import Order, OrderItem
from tests.factories_credit import brickowl_order, invoiced, issued_by_hand, run_credit_notes
from tests.factories_invoicing import connected_seller, make_order

pytestmark = pytest.mark.django_db

K = CreditNote.State
TODAY = "2026-04-10"


@pytest.fixture
def seller(tenant):
    connected_seller(tenant)
    return tenant


@pytest.fixture(autouse=True)
def _today():
    with freeze_time(f"{TODAY} 12:00:00"):
        yield


def credit_posts(fake):
    return [json.loads(c.request.body) for c in fake.calls("POST") if b'"credit_note"' in (c.request.body or b"")]


def cancel(order, raw="CANCELLED"):
    Order.objects.filter(id=order.id).update(status="cancelled", raw_status=raw)


# --- cancellations -------------------------------------------------------------------------------


def test_cancelled_bricklink_order_gets_one_full_credit_note_linked_to_its_invoice(seller, fake):
    order = make_order(seller, items=(("new", 10, "20.0000"),), etc1=D("1.5000"))
    invoice = invoiced(order)
    cancel(order, "NPX")

    [note] = credit_notes_detect(order_ids=[order.id])
    run_credit_notes()
    note.refresh_from_db()

    assert note.state == K.ISSUED and note.event_key == "cancelled" and note.full
    assert note.total == invoice.total == D("26.50")
    assert note.display_number == "1/NC" and note.view_url.endswith(f"/{note.fatture_id}")
    [body] = credit_posts(fake)
    data = body["data"]
    assert data["type"] == "credit_note"
    assert data["ei_data"] == {"invoice_number": "1/A", "invoice_date": "2026-03-02"}
    assert data["notes"] == "Nota di credito a storno totale della fattura n. 1/A del 02/03/2026."
    assert data["entity"]["id"] == invoice.sent_client_id  # the invoice's own customer
    assert data["date"] == TODAY and data["subject"] == f"BrickInvoice credit note {note.public_id}"
    invoice_items = json.loads(fake.calls("POST")[-2].request.body)["data"]["items_list"]
    assert [(i["product_id"], i["vat"], i["gross_price"]) for i in data["items_list"]] == [
        (i["product_id"], i["vat"], i["gross_price"]) for i in invoice_items
    ]
    assert Invoice.objects.get(id=invoice.id).credit_notes_shown == [
        {"number": "1/NC", "url": note.view_url, "state": "issued"}
    ]

    assert credit_notes_detect(order_ids=[order.id]) == []  # a second sync creates nothing more
    run_credit_notes()
    assert len(credit_posts(fake)) == 1


def test_a_credit_note_reads_the_tenant_and_its_settings_once(seller, fake):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    order = make_order(seller, items=(("new", 10, "20.0000"),))
    invoiced(order)
    cancel(order, "NPX")
    [note] = credit_notes_detect(order_ids=[order.id])
    with CaptureQueriesContext(connection) as queries:
        creditnotes.credit_note_process(credit_note_id=note.id)
    assert CreditNote.objects.get(id=note.id).state == K.ISSUED
    reads = [q["sql"] for q in queries if q["sql"].startswith("SELECT")]
    assert sum('FROM "accounts_sellersettings"' in sql for sql in reads) == 1, reads
    assert not any(sql.startswith('SELECT "accounts_tenant"') for sql in reads), reads


def test_brickowl_cancelled_after_payment_credits_the_whole_invoice(seller, fake):
    order = brickowl_order(seller, username="owlbuyer")
    invoice = invoiced(order)
    Order.objects.filter(id=order.id).update(
        status="cancelled", raw_status="Cancelled", refund_total=order.amount_paid_to_seller
    )
    credit_notes_detect(order_ids=[order.id])
    [note] = run_credit_notes()
    assert note.state == K.ISSUED and note.total == invoice.total and note.event_key == "cancelled"


def test_a_cancellation_after_everything_was_credited_by_hand_sends_nothing(seller, fake, owner):
    order = make_order(seller)
    invoice = invoiced(order)
    everything = PartAmounts(goods=D("12.50"), shipping=D("5.00"))
    credit_note_request(invoice=invoice, amounts=everything, reason="", user=owner)
    run_credit_notes()
    cancel(order)
    credit_notes_detect(order_ids=[order.id])
    manual, cancelled = run_credit_notes()

    assert manual.state == K.ISSUED and cancelled.state == K.SKIPPED
    assert cancelled.error_code == "credit_note_nothing_left" and len(credit_posts(fake)) == 1


# --- BrickOwl refunds ----------------------------------------------------------------------------


def refund(order, *, goods="0", shipping="0", adjustment="0", total=None, refunded=()):
    values = {
        "refund_subtotal": D(goods),
        "refund_shipping": D(shipping),
        "refund_adjustment": D(adjustment),
        "refund_total": D(total) if total is not None else D(goods) + D(shipping) + D(adjustment),
    }
    Order.objects.filter(id=order.id).update(**values)
    for position, quantity in refunded:
        OrderItem.objects.filter(order=order, position=position).update(refunded_quantity=quantity)


def test_a_brickowl_partial_refund_is_credited_on_goods_and_shipping(seller, fake):
    order = brickowl_order(seller, items=(("new", 10, "20.0000"),), shipping=D("5.0000"))
    invoiced(order)
    refund(order, goods="8.00", shipping="2.50", refunded=[(0, 4)])

    credit_notes_detect(order_ids=[order.id])
    [note] = run_credit_notes()

    assert note.state == K.ISSUED and note.total == D("10.50") and not note.full
    data = credit_posts(fake)[0]["data"]
    assert [(i["product_id"], i["gross_price"]) for i in data["items_list"]] == [(1001, 8.0), (1004, 2.5)]
    assert "storno parziale della fattura n. 1/A" in data["notes"]


def test_a_refund_seen_at_two_imports_is_one_credit_note(seller, fake):
    order = brickowl_order(seller)
    invoiced(order)
    refund(order, goods="10.00")
    credit_notes_detect(order_ids=[order.id])
    credit_notes_detect(order_ids=[order.id])
    run_credit_notes()
    credit_notes_detect(order_ids=[order.id])

    assert CreditNote.objects.count() == 1 and len(credit_posts(fake)) == 1


def test_two_refunds_on_one_order_are_two_credit_notes_for_their_own_amounts(seller, fake):
    order = brickowl_order(seller, items=(("new", 10, "20.0000"),), shipping=D("5.0000"))
    invoice = invoiced(order)
    refund(order, goods="6.00")
    credit_notes_detect(order_ids=[order.id])
    run_credit_notes()
    refund(order, goods="10.00", shipping="5.00")  # BrickOwl's fields are cumulative
    credit_notes_detect(order_ids=[order.id])
    first, second = run_credit_notes()

    assert (first.total, second.total) == (D("6.00"), D("9.00"))
    assert creditrequests.left_parts(invoice) == PartAmounts(goods=D("10.00"))


def test_margin_goods_refunded_by_item_are_credited_on_the_margin_line(seller, fake):
    from accounts.models import SellerSettings

    SellerSettings.objects.filter(tenant=seller).update(margin_rule="used")
    order = brickowl_order(seller, items=(("new", 10, "20.0000"), ("used", 5, "10.0000")))
    invoiced(order)
    refund(order, goods="4.00", refunded=[(1, 2)])
    credit_notes_detect(order_ids=[order.id])
    run_credit_notes()

    [item] = credit_posts(fake)[0]["data"]["items_list"]
    assert (item["product_id"], item["vat"]["id"], item["gross_price"]) == (1002, 66, 4.0)  # margin N5


def test_a_brickowl_adjustment_is_a_question_with_a_proposal_never_a_guess(seller, fake, owner):
    order = brickowl_order(seller, items=(("new", 10, "20.0000"),), shipping=D("5.0000"))
    invoice = invoiced(order)
    refund(order, goods="4.00", adjustment="5.00")
    [note] = credit_notes_detect(order_ids=[order.id])

    assert note.state == K.HELD and note.error_code == "credit_note_split_unknown"
    # 4.00 of goods, and the 5.00 adjustment pro rata over what is left after it (16.00 + 5.00).
    assert (note.goods, note.shipping) == (D("7.81"), D("1.19"))
    assert run_credit_notes() == [note] and credit_posts(fake) == []

    assert credit_note_answer(
        credit_note=note, kind="amounts", amounts=PartAmounts(goods=D("9.00")), note="all goods", user=owner
    )
    [note] = run_credit_notes()
    assert note.state == K.ISSUED and note.total == D("9.00") and note.decided_by == owner
    assert creditrequests.left_parts(invoice).goods == D("11.00")


# --- BrickLink item removals and reversed payments ------------------------------------------------


def remove_item(order, position):
    """What BrickLink does after an approved item-removal request (docs/providers/bricklink.md §8.4)."""
    item = OrderItem.objects.get(order=order, position=position)
    item.delete()
    Order.objects.filter(id=order.id).update(
        raw_status="UPDATED",
        status="pending",
        payment_status="None",
        ever_paid=True,
        items_subtotal=order.items_subtotal - item.line_total,
        amount_paid_to_seller=order.amount_paid_to_seller - item.line_total,
        grand_total=order.grand_total - item.line_total,
    )


def test_a_bricklink_item_removal_credits_the_difference_once(seller, fake):
    order = make_order(seller, items=(("new", 10, "20.0000"), ("new", 4, "6.0000")))
    invoice = invoiced(order)
    remove_item(order, 1)

    [note] = credit_notes_detect(order_ids=[order.id])
    run_credit_notes()
    note.refresh_from_db()

    assert note.state == K.ISSUED and note.event_key == "bricklink-reduced:25.00"
    assert note.total == D("6.00") and invoice.total - note.total == D("25.00")
    [item] = credit_posts(fake)[0]["data"]["items_list"]
    assert (item["product_id"], item["gross_price"]) == (1001, 6.0)
    # The order is paid again at its new total: nothing more.
    Order.objects.filter(id=order.id).update(status="paid", raw_status="PAID")
    assert credit_notes_detect(order_ids=[order.id]) == []


def test_a_reduction_the_parts_do_not_explain_is_held_with_a_pro_rata_proposal(seller, fake):
    order = make_order(seller, items=(("new", 10, "20.0000"),), shipping=D("5.0000"))
    invoiced(order)
    # The new total is 5.00 smaller, yet the items are unchanged and shipping went *up*.
    Order.objects.filter(id=order.id).update(
        raw_status="UPDATED", status="pending", ever_paid=True, shipping=D("7.0000"), amount_paid_to_seller=D("20.00")
    )
    [note] = credit_notes_detect(order_ids=[order.id])
    assert note.state == K.HELD and note.error_code == "credit_note_split_unknown"
    assert (note.goods, note.shipping) == (D("4.00"), D("1.00"))


def test_a_returned_payment_is_a_question_and_the_seller_may_credit_everything(seller, fake, owner):
    order = make_order(seller)
    invoice = invoiced(order)
    Order.objects.filter(id=order.id).update(status="on_hold", payment_status="Returned")
    [note] = credit_notes_detect(order_ids=[order.id])
    assert note.state == K.HELD and note.error_code == "credit_note_payment_reversed"

    credit_note_answer(credit_note=note, kind="full", amounts=PartAmounts(), note="", user=owner)
    [note] = run_credit_notes()
    assert note.state == K.ISSUED and note.total == invoice.total


def test_a_returned_payment_the_seller_says_needs_no_credit_note_is_closed(seller, fake, owner):
    order = make_order(seller)
    invoiced(order)
    Order.objects.filter(id=order.id).update(status="on_hold", payment_status="Bounced")
    [note] = credit_notes_detect(order_ids=[order.id])
    credit_note_answer(credit_note=note, kind="skip", amounts=PartAmounts(), note="paid again", user=owner)
    note.refresh_from_db()
    assert note.state == K.SKIPPED and "paid again" in note.error_message and credit_posts(fake) == []


def test_a_quarantined_order_is_never_credited(seller, fake):
    order = make_order(seller)
    invoiced(order)
    Order.objects.filter(id=order.id).update(status="cancelled", quarantined=True)
    assert credit_notes_detect(order_ids=[order.id]) == []


# --- manual refunds ------------------------------------------------------------------------------


def test_a_manual_refund_creates_its_credit_note(seller, fake, owner):
    order = make_order(seller)
    invoice = invoiced(order)
    note = credit_note_request(invoice=invoice, amounts=PartAmounts(shipping=D("5.00")), reason="lost", user=owner)
    run_credit_notes()
    note.refresh_from_db()
    assert note.state == K.ISSUED and note.source == "manual" and note.total == D("5.00")
    assert note.event_key.startswith("manual:")


def test_a_manual_refund_of_more_than_was_invoiced_is_refused(seller, fake, owner):
    invoice = invoiced(make_order(seller))
    with pytest.raises(CreditRefused) as refused:
        credit_note_request(invoice=invoice, amounts=PartAmounts(shipping=D("5.01")), reason="", user=owner)
    assert refused.value.code == "credit_note_exceeds_invoice"
    assert "only €5.00 is left" in refused.value.message
    assert CreditNote.objects.count() == 0


def test_amounts_already_asked_for_cannot_be_asked_again(seller, fake, owner):
    invoice = invoiced(make_order(seller))
    credit_note_request(invoice=invoice, amounts=PartAmounts(goods=D("10.00")), reason="", user=owner)
    with pytest.raises(CreditRefused):  # not issued yet, but on its way
        credit_note_request(invoice=invoice, amounts=PartAmounts(goods=D("2.51")), reason="", user=owner)


# --- exactly once --------------------------------------------------------------------------------


def test_a_timeout_after_the_create_is_adopted_by_the_look_up_not_created_twice(seller, fake, owner):
    invoice = invoiced(make_order(seller))
    note = credit_note_request(invoice=invoice, amounts=PartAmounts(goods=D("10.00")), reason="", user=owner)
    fake.fail_next_create.append(("after-create", requests.exceptions.ReadTimeout("read timed out")))
    run_credit_notes()
    note.refresh_from_db()
    assert note.state == K.FAILED and note.uncertain and note.error_code == "fatture_unavailable"
    # What it may have created counts as credited meanwhile.
    assert creditrequests.left_parts(invoice).goods == D("2.50")

    run_credit_notes()  # the retry looks first, and adopts
    note.refresh_from_db()
    assert note.state == K.ISSUED and not note.uncertain and note.fatture_id == fake.of_type("credit_note")[0]["id"]
    assert len(fake.of_type("credit_note")) == 1 and len(credit_posts(fake)) == 1
    lookups = [c.request.url for c in fake.calls("GET") if "issued_documents" in c.request.url]
    assert "type=credit_note" in lookups[-1]


def test_crash_between_creating_the_credit_note_and_saving_it_is_recovered_without_duplicate(
    seller, fake, owner, django_capture_on_commit_callbacks
):
    invoice = invoiced(make_order(seller))
    note = credit_note_request(invoice=invoice, amounts=PartAmounts(goods=D("10.00")), reason="", user=owner)
    run_credit_notes()
    note.refresh_from_db()
    document = fake.of_type("credit_note")[0]
    # Rewind the row to what a worker killed right after the POST leaves behind.
    CreditNote.objects.filter(id=note.id).update(
        state=K.SUBMITTING, fatture_id=None, number="", uncertain=True, claimed_at=timezone.now() - timedelta(hours=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch_credit_notes() == 1  # the dead worker's claim is handed out again; eager: it ran
    note.refresh_from_db()
    assert note.state == K.ISSUED and note.fatture_id == document["id"]
    assert len(fake.of_type("credit_note")) == 1


def test_a_duplicated_task_creates_one_credit_note(seller, fake, owner):
    invoice = invoiced(make_order(seller))
    note = credit_note_request(invoice=invoice, amounts=PartAmounts(goods=D("10.00")), reason="", user=owner)
    creditnotes.credit_note_process(credit_note_id=note.id)
    creditnotes.credit_note_process(credit_note_id=note.id)
    assert len(fake.of_type("credit_note")) == 1


def test_a_refused_credit_note_waits_for_the_seller_with_fatture_words(seller, fake, owner):
    invoice = invoiced(make_order(seller))
    note = credit_note_request(invoice=invoice, amounts=PartAmounts(goods=D("10.00")), reason="", user=owner)
    fake.fail_next_create.append((422, {"error": {"message": "Documento non valido"}}, {}))
    run_credit_notes()
    note.refresh_from_db()
    assert note.state == K.NEEDS_ATTENTION and not note.uncertain
    assert note.error_code == "credit_note_creation_failed" and "Documento non valido" in note.error_detail
    assert note.lines.count() == 0  # proven not created: credits nothing
    assert creditrequests.credit_note_retry(credit_note=note)
    [note] = run_credit_notes()
    assert note.state == K.ISSUED


def test_a_credit_note_waits_for_the_quota_without_losing_an_attempt(seller, fake, owner):
    invoice = invoiced(make_order(seller))
    note = credit_note_request(invoice=invoice, amounts=PartAmounts(goods=D("10.00")), reason="", user=owner)
    fake.fail_next_create.append((429, {"error": {"message": "Too many requests"}}, {"Retry-After": "90"}))
    outcome = creditnotes.credit_note_process(credit_note_id=note.id)
    note.refresh_from_db()
    assert note.state == K.PENDING and note.attempts == 0 and outcome.retry_in >= 90


# --- dates, currency, company --------------------------------------------------------------------


def test_a_credit_note_dated_before_its_invoice_is_never_sent(seller, fake, owner, monkeypatch):
    invoice = invoiced(make_order(seller))
    note = credit_note_request(invoice=invoice, amounts=PartAmounts(goods=D("10.00")), reason="", user=owner)
    monkeypatch.setattr(creditnotes, "credit_date", lambda *, today, invoice_date: invoice_date - timedelta(days=1))
    run_credit_notes()
    note.refresh_from_db()
    assert note.state == K.NEEDS_ATTENTION and note.error_code == "credit_note_date_before_invoice"
    assert credit_posts(fake) == []


def test_a_credit_note_of_an_invoice_dated_after_today_takes_the_invoice_date(seller, fake, owner):
    order = make_order(seller)
    later = date.fromisoformat(TODAY) + timedelta(days=3)
    invoice = issued_by_hand(order, lines=[("std_domestic", "130.00", "130.00", 0, "")], invoice_date=later)
    credit_note_request(invoice=invoice, amounts=PartAmounts(goods=D("1.00")), reason="", user=owner)
    run_credit_notes()
    assert credit_posts(fake)[0]["data"]["date"] == later.isoformat()


def test_a_usd_invoice_is_credited_in_eur_at_its_own_rate(seller, fake, owner):
    order = make_order(seller, currency="USD", ship_country="US")
    invoice = issued_by_hand(
        order,
        lines=[("std_export", "83.33", "90.00", 21, "N3.1"), ("shipping", "9.26", "10.00", 21, "N3.1")],
        fx_rate=D("1.080000"),
        currency="USD",
    )
    credit_note_request(invoice=invoice, amounts=PartAmounts(goods=D("45.00")), reason="", user=owner)
    cancel(order)
    credit_notes_detect(order_ids=[order.id])
    partial, rest = run_credit_notes()

    assert (partial.total, partial.original_total) == (D("41.67"), D("45.00"))
    assert partial.total + rest.total == D("92.59") == invoice.total  # exactly the invoiced EUR
    data = credit_posts(fake)[0]["data"]
    assert data["currency"] == {"id": "EUR"}
    assert "Importo originale 45,00 USD" in data["notes"] and "1 EUR = 1,08 USD" in data["notes"].splitlines()[1]


def test_an_invoice_of_another_company_is_not_credited_in_the_current_one(seller, fake, owner):
    invoice = invoiced(make_order(seller))
    Invoice.objects.filter(id=invoice.id).update(company_id=999)
    invoice.refresh_from_db()
    credit_note_request(invoice=invoice, amounts=PartAmounts(goods=D("1.00")), reason="", user=owner)
    [note] = run_credit_notes()
    assert note.state == K.NEEDS_ATTENTION and note.error_code == "credit_note_other_company"
    assert credit_posts(fake) == []


def test_a_cancellation_replaces_the_questions_still_open_on_the_invoice(seller, fake):
    order = make_order(seller)
    invoice = invoiced(order)
    Order.objects.filter(id=order.id).update(status="on_hold", payment_status="Returned")
    [question] = credit_notes_detect(order_ids=[order.id])
    cancel(order)
    credit_notes_detect(order_ids=[order.id])
    question.refresh_from_db()
    assert question.state == K.SKIPPED and "cancellation" in question.error_message
    [_question, cancelled] = run_credit_notes()
    assert cancelled.state == K.ISSUED and cancelled.total == invoice.total


def test_a_credit_note_that_cannot_be_made_may_be_given_up_with_a_reason(seller, fake, owner):
    invoice = invoiced(make_order(seller))
    Invoice.objects.filter(id=invoice.id).update(company_id=999)
    invoice.refresh_from_db()
    note = credit_note_request(invoice=invoice, amounts=PartAmounts(goods=D("1.00")), reason="", user=owner)
    run_credit_notes()
    note.refresh_from_db()
    assert not credit_note_answer(credit_note=note, kind="full", amounts=PartAmounts(), note="", user=owner)
    assert credit_note_answer(credit_note=note, kind="skip", amounts=PartAmounts(), note="made by hand", user=owner)
    note.refresh_from_db()
    assert note.state == K.SKIPPED
    assert creditrequests.available_parts(invoice).goods == D("12.50")  # its amounts are free again


def test_the_credit_note_of_an_e_invoice_is_an_e_invoice_linked_to_it(seller, fake, owner):
    order = make_order(seller, payment_method="PayPal (Onsite)")
    invoice = invoiced(order)
    Invoice.objects.filter(id=invoice.id).update(ei_state=Invoice.EInvoice.DELIVERED)
    invoice.refresh_from_db()
    credit_note_request(invoice=invoice, amounts=PartAmounts(shipping=D("5.00")), reason="", user=owner)
    [note] = run_credit_notes()

    data = credit_posts(fake)[0]["data"]
    assert data["e_invoice"] is True and note.electronic
    assert data["ei_data"] == {"payment_method": "MP08", "invoice_number": "1/A", "invoice_date": "2026-03-02"}
    assert data["entity"]["ei_code"] == "0000000"  # the buyer as SdI needs it, as on the invoice
