"""Invoice creation: the payload, customer dedupe, API-call budget, and exactly-once under faults."""

import json
from datetime import timedelta
from decimal import Decimal as D
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fatture.models import FattureConnection
from invoicing import services
from invoicing.models import CustomerLink, Invoice
from tests.factories_invoicing import connected_seller, fic, make_order

pytestmark = pytest.mark.django_db

S = Invoice.State


@pytest.fixture
def seller(tenant):
    connected_seller(tenant)
    return tenant


def queue_and_run(order):
    invoice = Invoice.objects.create(tenant=order.tenant, order=order)
    outcome = services.invoice_process(invoice_id=invoice.id)
    invoice.refresh_from_db()
    return invoice, outcome


def test_invoice_payload_has_gross_lines_marker_subject_and_paid_payment(seller, fake):
    order = make_order(seller, items=(("new", 10, "12.5000"), ("used", 5, "7.5000")), etc1=D("1.5000"))
    invoice, _ = queue_and_run(order)

    assert invoice.state == S.ISSUED
    assert invoice.number == "1" and invoice.numeration == "/A" and invoice.display_number == "1/A"
    assert invoice.view_url.endswith(f"/{invoice.fatture_id}")
    body = json.loads(fake.calls("POST")[-1].request.body)
    data = body["data"]
    assert data["type"] == "invoice" and data["use_gross_prices"] is True
    assert data["entity"]["id"] == fake.clients[0]["id"]
    assert data["visible_subject"] == "Vendita mattoncini LEGO"
    assert data["subject"] == f"BrickInvoice order {order.public_id}"
    assert data["date"] == "2026-03-02"  # payment date policy
    assert [(i["product_id"], i["gross_price"], i["vat"]["id"]) for i in data["items_list"]] == [
        (1001, 20.0, 0),
        (1004, 5.0, 0),
        (1005, 1.5, 0),
    ]
    assert data["payments_list"] == [
        {"amount": 26.5, "due_date": "2026-03-02", "status": "paid", "paid_date": "2026-03-02"}
    ]
    assert body["options"] == {"fix_payments": True}
    assert invoice.total == D("26.50") == order.amount_paid_to_seller


def test_new_customer_costs_three_calls_and_returning_one(seller, fake):
    first, _ = queue_and_run(make_order(seller, username="repeat"))
    assert first.api_calls == 3  # look-up, create client, create invoice
    second, _ = queue_and_run(make_order(seller, username="repeat"))
    assert second.api_calls == 1  # nothing changed: the invoice only
    assert len(fake.clients) == 1 and CustomerLink.objects.count() == 1


def test_changed_customer_is_updated_with_one_call(seller, fake):
    queue_and_run(make_order(seller, username="mover"))
    moved, _ = queue_and_run(make_order(seller, username="mover", ship_city="Torino", ship_postal_code="10121"))
    assert moved.api_calls == 2
    assert fake.clients[0]["address_city"] == "Torino" and len(fake.clients) == 1


def test_same_name_different_usernames_are_two_customers(seller, fake):
    queue_and_run(make_order(seller, username="luca1"))
    queue_and_run(make_order(seller, username="luca2"))
    assert sorted(c["code"] for c in fake.clients) == ["BL-luca1", "BL-luca2"]


def test_apostrophe_in_name_is_escaped_in_the_filter(seller, fake):
    queue_and_run(make_order(seller, username="obrien", ship_name="Seán O'Brien"))
    q = parse_qs(urlsplit(fake.calls("GET")[0].request.url).query)["q"][0]
    assert q == "code = 'BL-obrien' or name = 'Seán O''Brien'"
    assert fake.clients[0]["name"] == "Seán O'Brien"


def test_hand_made_client_with_same_name_and_no_code_is_adopted(seller, fake):
    fake.clients.append({"id": 77, "code": "", "name": "Luca Bianchi"})
    invoice, _ = queue_and_run(make_order(seller, username="adopted"))
    assert invoice.state == S.ISSUED and len(fake.clients) == 1
    assert fake.clients[0]["code"] == "BL-adopted"


def test_duplicated_task_creates_one_invoice(seller, fake):
    order = make_order(seller)
    invoice = Invoice.objects.create(tenant=seller, order=order)
    services.invoice_process(invoice_id=invoice.id)
    services.invoice_process(invoice_id=invoice.id)
    assert len(fake.documents) == 1
    assert Invoice.objects.get(id=invoice.id).state == S.ISSUED


def test_invoice_is_not_created_twice_after_timeout(seller, fake):
    order = make_order(seller)
    fake.fail_next_create.append(("after-create", requests.exceptions.ReadTimeout("read timed out")))
    invoice, outcome = queue_and_run(order)
    assert invoice.state == S.FAILED and invoice.uncertain and outcome.retry_in
    assert invoice.error_code == "fatture_unavailable"

    services.invoice_process(invoice_id=invoice.id)  # the retry looks first, and adopts
    invoice.refresh_from_db()
    assert invoice.state == S.ISSUED and len(fake.documents) == 1
    assert len(fake.calls("POST")) == 2  # client create + the one invoice POST; no second invoice POST


def test_server_error_without_document_is_retried_and_created_once(seller, fake):
    order = make_order(seller)
    fake.fail_next_create.append((502, {"error": {"message": "Bad gateway"}}, {}))
    invoice, _ = queue_and_run(order)
    assert invoice.state == S.FAILED and invoice.uncertain  # a 5xx proves nothing
    services.invoice_process(invoice_id=invoice.id)
    invoice.refresh_from_db()
    assert invoice.state == S.ISSUED and len(fake.documents) == 1


def test_crash_between_post_and_database_save_is_recovered_without_duplicate(seller, fake):
    order = make_order(seller)
    invoice, _ = queue_and_run(order)
    document = fake.documents[0]
    # Rewind the row to what a worker killed right after the POST leaves behind.
    Invoice.objects.filter(id=invoice.id).update(
        state=S.SUBMITTING,
        uncertain=True,
        fatture_id=None,
        number="",
        claimed_at=timezone.now() - timedelta(minutes=30),
    )
    assert services.invoices_requeue_stuck() == 1  # eager: the task ran again
    invoice.refresh_from_db()
    assert invoice.state == S.ISSUED and invoice.fatture_id == document["id"]
    assert len(fake.documents) == 1


def test_claimed_invoice_is_not_taken_by_a_second_worker(seller, fake):
    invoice = Invoice.objects.create(tenant=seller, order=make_order(seller))
    assert services.invoice_claim(invoice_id=invoice.id)
    assert not services.invoice_claim(invoice_id=invoice.id)


def test_validation_error_waits_for_the_seller_with_provider_detail(seller, fake):
    fake.fail_next_create.append(
        (
            422,
            {
                "error": {
                    "message": "Validation error",
                    "validation_result": {"items_list.0.vat.id": ["Aliquota IVA non valida"]},
                }
            },
            {},
        )
    )
    invoice, outcome = queue_and_run(make_order(seller))
    assert invoice.state == S.NEEDS_ATTENTION and not invoice.uncertain and outcome.retry_in is None
    assert invoice.error_code == "invoice_creation_failed"
    assert "Aliquota IVA non valida" in invoice.error_detail
    assert invoice.error_hint


def test_quota_answer_is_retried_after_retry_after(seller, fake):
    fake.fail_next_create.append((429, {"error": {"message": "Too many requests"}}, {"Retry-After": "90"}))
    invoice, outcome = queue_and_run(make_order(seller))
    assert invoice.state == S.FAILED and not invoice.uncertain
    assert outcome.retry_in >= 90 and invoice.next_attempt_at > timezone.now() + timedelta(seconds=80)


def test_revoked_token_stops_invoicing_without_a_call(seller, fake):
    FattureConnection.objects.filter(tenant=seller).update(status=FattureConnection.Status.NEEDS_RECONNECT)
    invoice, _ = queue_and_run(make_order(seller))
    assert invoice.state == S.NEEDS_ATTENTION and invoice.error_code == "fatture_auth_failed"
    assert fake.calls() == []


def test_unmapped_slot_is_a_clear_error(seller, fake):
    from fatture.models import ProductMapping

    ProductMapping.objects.filter(tenant=seller, slot="shipping").delete()
    invoice, _ = queue_and_run(make_order(seller))
    assert invoice.state == S.NEEDS_ATTENTION and invoice.error_code == "slot_not_mapped"
    assert "shipping" in invoice.error_message.lower() and fake.calls() == []


def test_retry_button_requeues_a_held_invoice(seller, fake):
    fake.fail_next_create.append((422, {"error": {"message": "Validation error"}}, {}))
    invoice, _ = queue_and_run(make_order(seller))
    assert services.invoice_retry(invoice=invoice)
    # eager Celery: on_commit ran inside the test transaction only if captured; run it directly
    services.invoice_process(invoice_id=invoice.id)
    invoice.refresh_from_db()
    assert invoice.state == S.ISSUED and len(fake.documents) == 1


def test_invoicing_one_order_stays_within_fifteen_queries(seller, fake):
    order = make_order(seller, items=(("new", 1, "1.0000"), ("used", 2, "2.0000"), ("new", 3, "3.0000")))
    queue_and_run(make_order(seller, username=order.buyer_username))  # the customer is now known
    invoice = Invoice.objects.create(tenant=seller, order=order)
    with CaptureQueriesContext(db_connection) as queries:
        services.invoice_process(invoice_id=invoice.id)
    assert Invoice.objects.get(id=invoice.id).state == S.ISSUED
    assert len(queries) <= 15, [q["sql"][:120] for q in queries]


def test_deleted_fatture_product_is_named_in_the_error(seller, fake):
    from tests.factories_fatture import STANDARD_CATALOGUE, VAT_TYPES, page

    without_shipping = [p for p in STANDARD_CATALOGUE if p["id"] != 1004]
    fake.rsps.add(responses.GET, fic("products"), json=page(without_shipping, 1, 1))
    fake.rsps.add(responses.GET, fic("info/vat_types"), json=VAT_TYPES)
    fake.fail_next_create.append((422, {"error": {"message": "Prodotto inesistente"}}, {}))
    invoice, _ = queue_and_run(make_order(seller))
    assert invoice.state == S.NEEDS_ATTENTION and invoice.error_code == "product_not_found"
    assert invoice.error_message == "Product 1004 not found in Fatture in Cloud."
    assert "Product mapping page" in invoice.error_hint


def test_quota_answer_before_the_create_keeps_the_invoice_uncertain(seller, fake):
    import re as regex

    order = make_order(seller, username="uncertain-buyer")
    fake.fail_next_create.append(("after-create", requests.exceptions.ReadTimeout("read timed out")))
    invoice, _ = queue_and_run(order)
    assert invoice.uncertain
    # The buyer's data changed, so the retry first updates the client, and that call hits the quota.
    order.ship_city = "Torino"
    order.save()
    fake.rsps.replace(
        responses.PUT,
        regex.compile(regex.escape(fic("entities/clients/")) + r"\d+"),
        status=429,
        headers={"Retry-After": "30"},
        json={"error": {"message": "Too many requests"}},
    )
    services.invoice_process(invoice_id=invoice.id)
    invoice.refresh_from_db()
    assert invoice.state == S.FAILED and invoice.uncertain  # still looks before creating next time
    assert len(fake.documents) == 1
