"""The seller's side of credit notes: the order page's section and "Refund / credit note" action,
answering a held credit note, the orders list cell and the dashboard line."""

from decimal import Decimal as D

import pytest
from django.urls import reverse
from django.utils import translation

from invoicing.creditdetect import credit_notes_detect
from invoicing.creditmodels import CreditNote
from marketplaces.models import Order
from tests.factories_credit import invoiced, run_credit_notes
from tests.factories_invoicing import connected_seller, make_order

pytestmark = pytest.mark.django_db

K = CreditNote.State


@pytest.fixture
def seller(tenant):
    connected_seller(tenant)
    return tenant


def page(client, order) -> str:
    return client.get(reverse("invoicing:order_preview", args=[order.public_id])).content.decode()


def post_refund(client, order, **amounts):
    data = {"goods": "0", "shipping": "0", "handling": "0", "note": "refunded by PayPal", **amounts}
    return client.post(reverse("invoicing:credit_note_create", args=[order.public_id]), data, follow=True)


def test_the_owner_credits_a_refund_by_hand_and_the_page_shows_its_number_and_link(
    seller, fake, owner_client, django_capture_on_commit_callbacks
):
    order = make_order(seller)
    invoice = invoiced(order)
    with django_capture_on_commit_callbacks(execute=True):  # eager: the dispatcher issues it
        response = post_refund(owner_client, order, shipping="5.00")

    assert "The credit note is on its way" in response.content.decode()
    note = CreditNote.objects.get()
    assert note.state == K.ISSUED and note.total == D("5.00") and note.decision_note == "refunded by PayPal"
    html = page(owner_client, order)
    assert f'href="{note.view_url}"' in html and note.display_number in html
    assert invoice.display_number in html


def test_refunding_more_than_was_invoiced_is_refused_with_a_clear_message(seller, fake, owner_client):
    order = make_order(seller)
    invoiced(order)
    response = post_refund(owner_client, order, goods="12.51")

    assert "You asked to credit €12.51 of goods, but only €12.50 is left to credit on it." in (
        response.content.decode()
    )
    assert not CreditNote.objects.exists()


def test_a_member_cannot_make_a_credit_note(seller, fake, member_client):
    order = make_order(seller)
    invoiced(order)
    assert post_refund(member_client, order, goods="1.00").status_code == 403
    assert "Refund / credit note" not in page(member_client, order)
    assert not CreditNote.objects.exists()


def test_the_refund_form_is_offered_only_for_an_issued_invoice(seller, fake, owner_client):
    order = make_order(seller)
    assert "Refund / credit note" not in page(owner_client, order)
    post_refund(owner_client, order, goods="1.00")
    assert not CreditNote.objects.exists()
    invoiced(order)
    assert "Refund / credit note" in page(owner_client, order)


def test_a_held_credit_note_asks_its_question_and_the_answer_issues_it(
    seller, fake, owner_client, django_capture_on_commit_callbacks
):
    order = make_order(seller)
    invoiced(order)
    Order.objects.filter(id=order.id).update(status="on_hold", payment_status="Returned")
    [note] = credit_notes_detect(order_ids=[order.id])
    html = page(owner_client, order)
    assert "The payment of this invoiced order was returned or bounced." in html
    assert 'name="goods" step="0.01" min="0" value="12.50"' in html  # the proposal: everything left

    url = reverse("invoicing:credit_note_answer", args=[note.public_id])
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(url, {"kind": "full", "goods": "0", "shipping": "0", "handling": "0", "note": ""})
    note.refresh_from_db()
    assert note.state == K.ISSUED and note.total == D("17.50")


def test_saying_no_credit_note_is_needed_takes_a_reason(seller, fake, owner_client):
    order = make_order(seller)
    invoiced(order)
    Order.objects.filter(id=order.id).update(status="on_hold", payment_status="Bounced")
    [note] = credit_notes_detect(order_ids=[order.id])
    url = reverse("invoicing:credit_note_answer", args=[note.public_id])
    blank = {"kind": "skip", "goods": "0", "shipping": "0", "handling": "0", "note": ""}
    owner_client.post(url, blank)
    note.refresh_from_db()
    assert note.state == K.HELD
    owner_client.post(url, {**blank, "note": "the buyer paid again"})
    note.refresh_from_db()
    assert note.state == K.SKIPPED


def test_the_orders_list_shows_credit_notes_without_a_query_per_row(
    seller, fake, owner_client, django_assert_max_num_queries
):
    order = make_order(seller)
    invoiced(order)
    Order.objects.filter(id=order.id).update(status="cancelled")
    credit_notes_detect(order_ids=[order.id])
    [note] = run_credit_notes()
    with django_assert_max_num_queries(50) as few:
        html = owner_client.get(reverse("marketplaces:orders")).content.decode()
    assert f'href="{note.view_url}"' in html and note.display_number in html

    for _ in range(6):
        more = make_order(seller, username="more")
        invoiced(more)
        Order.objects.filter(id=more.id).update(status="cancelled")
        credit_notes_detect(order_ids=[more.id])
    run_credit_notes()
    with django_assert_max_num_queries(len(few.captured_queries)):
        owner_client.get(reverse("marketplaces:orders"))


def test_the_dashboard_counts_credit_notes_and_lists_the_ones_that_need_the_seller(seller, fake, owner_client):
    issued_order, held_order = make_order(seller), make_order(seller)
    invoiced(issued_order)
    invoiced(held_order)
    Order.objects.filter(id=issued_order.id).update(status="cancelled")
    Order.objects.filter(id=held_order.id).update(status="on_hold", payment_status="Returned")
    credit_notes_detect(order_ids=[issued_order.id, held_order.id])
    run_credit_notes()

    html = owner_client.get(reverse("invoicing:dashboard")).content.decode()
    assert "1 credit note issued" in html and "1 needs you" in html
    assert f"Credit note for BrickLink order {held_order.marketplace_order_id}" in html


def test_read_again_asks_the_marketplace_for_the_order(seller, owner_client, django_capture_on_commit_callbacks):
    from unittest import mock

    order = make_order(seller)
    with mock.patch("invoicing.creditviews.reread_order") as task:
        owner_client.post(reverse("invoicing:order_reread", args=[order.public_id]))
    task.delay_on_commit.assert_called_once_with(order.id)


def test_the_credit_notes_section_reads_in_italian(seller, fake, owner, client):
    from tests.test_i18n import _english_sentences, _visible_text

    owner.language = "it"
    owner.save()
    client.force_login(owner)
    order = make_order(seller)
    invoiced(order)
    Order.objects.filter(id=order.id).update(status="on_hold", payment_status="Returned")
    with translation.override("it"):  # the product's language in the import worker (LANGUAGE_CODE)
        credit_notes_detect(order_ids=[order.id])

    for name, args in (("invoicing:order_preview", [order.public_id]), ("invoicing:dashboard", None)):
        # The request switches this thread to Italian; the override gives the next tests back their language.
        with translation.override(translation.get_language()):
            text = _visible_text(client.get(reverse(name, args=args)).content.decode())
        assert "Note di credito" in text or "nota di credito" in text.lower()
        leftovers = [fragment for fragment in _english_sentences() if fragment in text]
        assert not leftovers, leftovers[:5]
