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
from invoicing import customers, issuing, queueing
from invoicing.models import ClientIndex, CustomerLink, Invoice
from invoicing.tasks import dispatch_invoices
from tests.factories_invoicing import connected_seller, fic, make_order

pytestmark = pytest.mark.django_db

S = Invoice.State


@pytest.fixture
def seller(tenant):
    connected_seller(tenant)
    return tenant


def queue_and_run(order):
    invoice = Invoice.objects.create(tenant=order.tenant, order=order)
    outcome = issuing.invoice_process(invoice_id=invoice.id)
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


def test_new_buyers_cost_two_calls_after_the_index_and_returning_one(seller, fake):
    first, _ = queue_and_run(make_order(seller, username="repeat"))
    assert first.api_calls == 3  # the company's client list (one page), create client, create invoice
    other, _ = queue_and_run(make_order(seller, username="another"))
    assert other.api_calls == 2  # the index proves the code absent: create client, create invoice
    second, _ = queue_and_run(make_order(seller, username="repeat"))
    assert second.api_calls == 1  # nothing changed: the invoice only
    assert len(fake.clients) == 2 and CustomerLink.objects.count() == 2
    assert [c.request.url for c in fake.calls("GET")] == [
        fic("entities/clients") + "?fields=id%2Ccode%2Cname&sort=id&per_page=100&page=1"
    ]


def test_changed_customer_is_updated_with_one_call(seller, fake):
    queue_and_run(make_order(seller, username="mover"))
    moved, _ = queue_and_run(make_order(seller, username="mover", ship_city="Torino", ship_postal_code="10121"))
    assert moved.api_calls == 2
    assert fake.clients[0]["address_city"] == "Torino" and len(fake.clients) == 1


def test_same_name_different_usernames_are_two_customers(seller, fake):
    queue_and_run(make_order(seller, username="luca1"))
    queue_and_run(make_order(seller, username="luca2"))
    assert sorted(c["code"] for c in fake.clients) == ["BL-luca1", "BL-luca2"]


def test_apostrophe_in_name_is_escaped_in_the_filter_of_the_fallback_search(seller, fake):
    queue_and_run(make_order(seller, username="obrien", ship_name="Seán O'Brien"))
    fake.clients.clear()  # deleted in Fatture: the update answers 404, and the search runs as before
    moved, _ = queue_and_run(make_order(seller, username="obrien", ship_name="Seán O'Brien", ship_city="Cork"))
    assert moved.state == S.ISSUED and moved.api_calls == 4  # update (404), search, create client, invoice
    searches = [parse_qs(urlsplit(c.request.url).query).get("q") for c in fake.calls("GET")]
    assert searches == [None, ["code = 'BL-obrien' or name = 'Seán O''Brien'"]]
    assert fake.clients[0]["name"] == "Seán O'Brien"


def test_hand_made_client_with_same_name_and_no_code_is_adopted(seller, fake):
    fake.clients.append({"id": 77, "code": "", "name": "Luca Bianchi"})
    invoice, _ = queue_and_run(make_order(seller, username="adopted"))
    assert invoice.state == S.ISSUED and len(fake.clients) == 1
    assert fake.clients[0]["code"] == "BL-adopted"
    assert invoice.api_calls == 3  # the client list, update the adopted client, create invoice; no search
    assert ClientIndex.objects.get().codeless_names == {}  # adopted once, never again


def test_a_second_buyer_with_the_hand_made_clients_name_gets_a_client_of_its_own(seller, fake):
    fake.clients.append({"id": 77, "code": "", "name": "Luca Bianchi"})
    queue_and_run(make_order(seller, username="luca1"))
    second, _ = queue_and_run(make_order(seller, username="luca2"))
    assert second.api_calls == 2  # create client, create invoice
    assert sorted((c["id"], c["code"]) for c in fake.clients) == [(77, "BL-luca1"), (501, "BL-luca2")]


def test_a_company_with_250_clients_is_listed_in_three_pages_once(seller, fake):
    fake.clients.extend({"id": 1 + i, "code": f"OTHER-{i}", "name": f"Cliente {i}"} for i in range(249))
    fake.clients.append({"id": 400, "code": "BL-luca", "name": "Luca Bianchi"})  # ours, from an old install
    pages = lambda: [c for c in fake.calls("GET") if "q=" not in c.request.url]  # noqa: E731
    first, _ = queue_and_run(make_order(seller, username="brand-new"))
    assert first.api_calls == 5 and len(pages()) == 3  # three pages, create client, create invoice
    known, _ = queue_and_run(make_order(seller, username="luca"))
    assert known.api_calls == 2 and known.sent_client_id == 400  # data unknown: one update, then the invoice
    again, _ = queue_and_run(make_order(seller, username="another-new"))
    assert again.api_calls == 2 and len(pages()) == 3
    assert len(fake.clients) == 252 and not [c for c in fake.calls("GET") if "q=" in c.request.url]


def test_a_stale_index_is_listed_again_and_sees_clients_made_meanwhile(seller, fake, settings):
    queue_and_run(make_order(seller, username="first"))
    fake.clients.append({"id": 90, "code": "", "name": "Luca Bianchi"})  # made by hand afterwards
    ClientIndex.objects.update(built_at=timezone.now() - timedelta(days=settings.CLIENT_INDEX_MAX_AGE_DAYS + 1))
    invoice, _ = queue_and_run(make_order(seller, username="later"))
    assert invoice.api_calls == 3 and invoice.sent_client_id == 90  # listed again, adopted, invoiced
    assert len(fake.clients) == 2


def test_a_client_create_whose_answer_is_lost_is_searched_not_created_again(seller, fake):
    def created_but_lost(request):
        fake.create_client(request)
        raise requests.exceptions.ReadTimeout("read timed out")

    fake.rsps.remove(responses.POST, fic("entities/clients"))
    fake.rsps.add_callback(responses.POST, fic("entities/clients"), callback=created_but_lost)
    invoice, outcome = queue_and_run(make_order(seller, username="unlucky"))
    assert invoice.state != S.ISSUED and len(fake.clients) == 1 and outcome.retry_in
    issuing.invoice_process(invoice_id=invoice.id)
    invoice.refresh_from_db()
    assert invoice.state == S.ISSUED and len(fake.clients) == 1
    assert invoice.sent_client_id == fake.clients[0]["id"]


def test_duplicated_task_creates_one_invoice(seller, fake):
    order = make_order(seller)
    invoice = Invoice.objects.create(tenant=seller, order=order)
    issuing.invoice_process(invoice_id=invoice.id)
    issuing.invoice_process(invoice_id=invoice.id)
    assert len(fake.documents) == 1
    assert Invoice.objects.get(id=invoice.id).state == S.ISSUED


def test_invoice_is_not_created_twice_after_timeout(seller, fake):
    order = make_order(seller)
    fake.fail_next_create.append(("after-create", requests.exceptions.ReadTimeout("read timed out")))
    invoice, outcome = queue_and_run(order)
    assert invoice.state == S.FAILED and invoice.uncertain and outcome.retry_in
    assert invoice.error_code == "fatture_unavailable"

    issuing.invoice_process(invoice_id=invoice.id)  # the retry looks first, and adopts
    invoice.refresh_from_db()
    assert invoice.state == S.ISSUED and len(fake.documents) == 1
    assert len(fake.calls("POST")) == 2  # client create + the one invoice POST; no second invoice POST


def test_server_error_without_document_is_retried_and_created_once(seller, fake):
    order = make_order(seller)
    fake.fail_next_create.append((502, {"error": {"message": "Bad gateway"}}, {}))
    invoice, _ = queue_and_run(order)
    assert invoice.state == S.FAILED and invoice.uncertain  # a 5xx proves nothing
    issuing.invoice_process(invoice_id=invoice.id)
    invoice.refresh_from_db()
    assert invoice.state == S.ISSUED and len(fake.documents) == 1


def test_crash_between_post_and_database_save_is_recovered_without_duplicate(
    seller, fake, django_capture_on_commit_callbacks
):
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
    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch_invoices() == 1  # the dead worker's claim is handed out again; eager: it ran
    invoice.refresh_from_db()
    assert invoice.state == S.ISSUED and invoice.fatture_id == document["id"]
    assert len(fake.documents) == 1


def test_claimed_invoice_is_not_taken_by_a_second_worker(seller, fake):
    invoice = Invoice.objects.create(tenant=seller, order=make_order(seller))
    assert issuing.invoice_claim(invoice_id=invoice.id)
    assert not issuing.invoice_claim(invoice_id=invoice.id)


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
    assert invoice.error.hint  # worded when shown, in the reader's language


def test_a_failure_is_worded_when_shown_in_the_readers_language(seller, fake):
    """The worker stores the code; an Italian owner and an English-speaking accountant each read
    the message and the hint in their own language."""
    from django.utils import translation

    fake.fail_next_create.append((422, {"error": {"message": "Validation error"}}, {}))
    invoice, _ = queue_and_run(make_order(seller))
    assert invoice.error_code == "invoice_creation_failed" and invoice.error_message == ""
    worded = {}
    for language in ("it", "en"):
        with translation.override(language):
            worded[language] = (str(invoice.error.message), str(invoice.error.hint))
    assert all(all(texts) for texts in worded.values()) and worded["it"] != worded["en"]


def test_quota_answer_is_retried_after_retry_after(seller, fake):
    fake.fail_next_create.append((429, {"error": {"message": "Too many requests"}}, {"Retry-After": "90"}))
    invoice, outcome = queue_and_run(make_order(seller))
    assert invoice.state == S.PENDING and not invoice.uncertain  # waiting for the quota, not failed
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
    assert queueing.invoice_retry(invoice=invoice)
    # eager Celery: on_commit ran inside the test transaction only if captured; run it directly
    issuing.invoice_process(invoice_id=invoice.id)
    invoice.refresh_from_db()
    assert invoice.state == S.ISSUED and len(fake.documents) == 1


def test_invoicing_one_order_stays_within_fifteen_queries(seller, fake):
    order = make_order(seller, items=(("new", 1, "1.0000"), ("used", 2, "2.0000"), ("new", 3, "3.0000")))
    queue_and_run(make_order(seller, username=order.buyer_username))  # the customer is now known
    invoice = Invoice.objects.create(tenant=seller, order=order)
    with CaptureQueriesContext(db_connection) as queries:
        issuing.invoice_process(invoice_id=invoice.id)
    assert Invoice.objects.get(id=invoice.id).state == S.ISSUED
    assert len(queries) <= 15, [q["sql"][:120] for q in queries]
    # The tenant comes with the invoice and its settings are read once, whoever asks (the order's
    # code included).
    reads = [q["sql"] for q in queries if q["sql"].startswith("SELECT")]
    assert sum('FROM "accounts_sellersettings"' in sql for sql in reads) == 1
    assert not any(sql.startswith('SELECT "accounts_tenant"') for sql in reads)


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
    issuing.invoice_process(invoice_id=invoice.id)
    invoice.refresh_from_db()
    assert invoice.waiting_for_quota and invoice.uncertain  # still looks before creating next time
    assert len(fake.documents) == 1


def test_waiting_for_the_quota_never_uses_up_the_automatic_attempts(seller, fake):
    from django.core.cache import cache

    invoice = Invoice.objects.create(tenant=seller, order=make_order(seller, username="patient-buyer"))
    blocked = f"fatture:blocked-until:{invoice.tenant.fatture_connection.company_id}"
    for _ in range(issuing.MAX_AUTOMATIC_ATTEMPTS + 3):
        fake.fail_next_create.append((429, {"error": {"message": "Too many requests"}}, {"Retry-After": "5"}))
        cache.delete(blocked)  # the Retry-After has passed
        outcome = issuing.invoice_process(invoice_id=invoice.id)
        invoice.refresh_from_db()
        assert invoice.state == S.PENDING and invoice.error_code == "fatture_quota" and invoice.waiting_for_quota
        assert 5 <= outcome.retry_in <= 10  # Retry-After plus jitter, not the failure back-off
    assert invoice.attempts == 0  # every quota wait was given back
    cache.delete(blocked)
    issuing.invoice_process(invoice_id=invoice.id)
    invoice.refresh_from_db()
    assert invoice.state == S.ISSUED and len(fake.documents) == 1


def test_a_company_whose_quota_is_spent_is_not_dispatched(seller, fake, django_capture_on_commit_callbacks):
    """A blocked company: its next invoice waits in the database (no message, no countdown), is
    not claimed, counts no attempt and calls nothing."""
    from fatture.quota import quota_block

    company_id = seller.fatture_connection.company_id
    invoice = Invoice.objects.create(
        tenant=seller, order=make_order(seller, username="queued-buyer"), company_id=company_id, sort_at=timezone.now()
    )
    quota_block(company_id, 120)
    with django_capture_on_commit_callbacks(execute=True) as sent:
        assert dispatch_invoices() == 0
    assert sent == []
    invoice.refresh_from_db()
    assert invoice.state == S.PENDING and invoice.attempts == 0 and invoice.queued_at is None
    assert invoice.waiting_for_quota and invoice.next_attempt_at >= timezone.now() + timedelta(seconds=110)
    assert fake.calls() == []


@pytest.mark.django_db(transaction=True)
def test_two_orders_of_one_new_buyer_at_once_create_one_client(seller, fake):
    """A worker that finds the buyer's lock taken waits, then uses the client the holder created.
    Without the lock it would look the buyer up at once, find nothing and create a second client."""
    import threading

    from django.core.cache import cache
    from django.db import connection as thread_connection

    from invoicing.accounting import backend_for_tenant

    first = make_order(seller, username="twin-buyer")
    second = make_order(seller, username="twin-buyer")
    backend = backend_for_tenant(seller)
    data = customers.customer_data(first)
    key = (
        f"fatture-customer-lock:{backend.company_id}:{customers.hashlib.sha256(data['code'].encode()).hexdigest()[:32]}"
    )
    assert cache.add(key, "the-first-worker", timeout=30)

    def first_worker():  # creates the client while holding the lock, records it, releases
        try:
            client_id = backend_for_tenant(seller).sync_customer(data, known_client_id=None)
            CustomerLink.objects.create(
                tenant=seller,
                company_id=backend.company_id,
                code=data["code"],
                fatture_client_id=client_id,
                data_hash=customers._hash(data),
            )
            cache.delete(key)
        finally:
            thread_connection.close()

    holder = threading.Timer(0.3, first_worker)
    holder.start()
    client_id = customers.customer_sync(backend=backend, tenant=seller, order=second)
    holder.join()
    assert len(fake.clients) == 1
    assert client_id == fake.clients[0]["id"]


@pytest.mark.django_db(transaction=True)
def test_two_workers_meeting_new_buyers_at_once_list_the_clients_once(seller, fake):
    """Both find the index lock taken and wait; the first to get it lists, the second reads the
    index it built. Without the re-read after waiting, the list would be paged twice."""
    import threading

    from django.core.cache import cache
    from django.db import connection as thread_connection

    from invoicing.accounting import backend_for_tenant
    from invoicing.clientindex import index_ready

    fake.clients.extend({"id": 1 + i, "code": f"OTHER-{i}", "name": f"Cliente {i}"} for i in range(150))
    key = f"fatture-client-index-lock:{seller.pk}:{backend_for_tenant(seller).company_id}"
    assert cache.add(key, "someone-else", timeout=30)
    built = []

    def worker():
        try:
            built.append(index_ready(backend=backend_for_tenant(seller), tenant=seller)[0].pk)
        finally:
            thread_connection.close()

    workers = [threading.Thread(target=worker) for _ in range(2)]
    for thread in workers:
        thread.start()
    threading.Timer(0.3, cache.delete, args=(key,)).start()
    for thread in workers:
        thread.join()
    assert len(built) == 2 and len(set(built)) == 1
    assert len(fake.calls("GET")) == 2  # two pages of 100, once
    assert CustomerLink.objects.filter(data_hash="").count() == 150


def test_database_gone_mid_invoice_leaves_the_claim_to_the_lease_not_a_permanent_error(seller, fake):
    """The answer arrives but the database is gone: nothing may be recorded as a bug of ours."""
    from django.db import OperationalError

    order = make_order(seller, username="db-drop-buyer")
    invoice = Invoice.objects.create(tenant=seller, order=order)
    fake.fail_next_create.append(("after-create", OperationalError("server closed the connection")))
    with pytest.raises(OperationalError):
        issuing.invoice_process(invoice_id=invoice.id)
    invoice.refresh_from_db()
    assert invoice.state == S.SUBMITTING and invoice.uncertain and invoice.error_code == ""
    # After the lease the dispatcher hands it out again, and the look-up adopts the document.
    later = timezone.now() + queueing.CLAIM_LEASE + timedelta(seconds=1)
    heads = queueing.due_heads(Invoice, "sort_at", now=later, company_id=None, limit=10)
    assert [head.id for head in heads] == [invoice.id]
    Invoice.objects.filter(id=invoice.id).update(claimed_at=timezone.now() - queueing.CLAIM_LEASE * 2)
    issuing.invoice_process(invoice_id=invoice.id)
    invoice.refresh_from_db()
    assert invoice.state == S.ISSUED and len(fake.documents) == 1


def test_our_budget_refusing_the_create_proves_nothing_was_sent(seller, fake, settings):
    """A create our own budget refused was never sent: the next attempt creates without a look-up."""
    from django.core.cache import cache

    settings.FATTURE_HOURLY_BUDGET = 2  # look-up + create client, then the invoice is refused here
    invoice, outcome = queue_and_run(make_order(seller, username="budget-buyer"))
    assert invoice.waiting_for_quota and not invoice.uncertain
    assert fake.calls("POST")[-1].request.url.endswith("/entities/clients") and fake.documents == []
    cache.clear()  # a new hour
    before = len(fake.calls())
    issuing.invoice_process(invoice_id=invoice.id)
    invoice.refresh_from_db()
    assert invoice.state == S.ISSUED and len(fake.documents) == 1
    assert len(fake.calls()) - before == 1  # only the create: no marker look-up


def test_token_revoked_in_the_middle_of_a_sync_holds_the_rest_without_calls(seller, fake):
    """One invoice goes out; then the seller revokes the app in Fatture: every call answers 401 and
    the refresh is refused. The next invoice is held with a reconnect message, the connection is
    marked, the one after makes no call at all; after reconnecting, Retry issues each exactly once."""
    from tests.factories_fatture import NEW_ACCESS, NEW_REFRESH, token_url

    first, second, third = (make_order(seller, username=f"sync-buyer-{n}") for n in range(3))
    issued, _ = queue_and_run(first)
    assert issued.state == S.ISSUED
    revoked = {"status": 401, "json": {"error": {"message": "Unauthorized"}}}
    fake.rsps.replace(responses.GET, fic("entities/clients"), **revoked)
    fake.rsps.replace(responses.POST, fic("entities/clients"), **revoked)
    fake.rsps.replace(responses.POST, fic("issued_documents"), **revoked)
    fake.rsps.add(responses.POST, token_url(), status=400, json={"error": "invalid_grant"})

    held, _ = queue_and_run(second)
    assert held.state == S.NEEDS_ATTENTION and held.error_code == "fatture_auth_failed"
    assert "reconnect" in (held.error.message + held.error.hint).lower()
    connection = FattureConnection.objects.get(tenant=seller)
    assert connection.status == FattureConnection.Status.NEEDS_RECONNECT
    calls_before = len(fake.rsps.calls)
    untouched, _ = queue_and_run(third)
    assert untouched.state == S.NEEDS_ATTENTION and untouched.error_code == "fatture_auth_failed"
    assert len(fake.rsps.calls) == calls_before  # no call once the connection is marked

    # The seller reconnects; the fake answers again; Retry all failed.
    reconnected = FattureConnection.objects.get(tenant=seller)
    reconnected.status = FattureConnection.Status.CONNECTED
    reconnected.access_token, reconnected.refresh_token = NEW_ACCESS, NEW_REFRESH
    reconnected.token_expires_at = timezone.now() + timedelta(hours=20)
    reconnected.save()
    fake.rsps.remove(responses.GET, fic("entities/clients"))
    fake.rsps.remove(responses.POST, fic("entities/clients"))
    fake.rsps.remove(responses.POST, fic("issued_documents"))
    fake.rsps.add_callback(responses.GET, fic("entities/clients"), callback=fake.list_clients)
    fake.rsps.add_callback(responses.POST, fic("entities/clients"), callback=fake.create_client)
    fake.rsps.add_callback(responses.POST, fic("issued_documents"), callback=fake.create_document)
    assert queueing.invoices_retry_all_failed(tenant=seller) == 2
    for invoice in (held, untouched):
        issuing.invoice_process(invoice_id=invoice.id)
    states = list(Invoice.objects.filter(tenant=seller).values_list("state", flat=True))
    assert states == [S.ISSUED] * 3 and len(fake.documents) == 3


def test_redis_gone_mid_invoice_is_transient_and_the_retry_adopts_the_document(seller, fake):
    """Redis (budgets, locks) fails right after the create was sent: a transient failure, not a
    bug to show the seller; `uncertain` stays, so the retry finds the document instead of a second."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    order = make_order(seller, username="redis-drop-buyer")
    fake.fail_next_create.append(("after-create", RedisConnectionError("Connection refused")))
    invoice, outcome = queue_and_run(order)
    assert invoice.state == S.FAILED and invoice.error_code == "internal_unavailable"
    assert invoice.uncertain and outcome.retry_in >= 30
    issuing.invoice_process(invoice_id=invoice.id)
    invoice.refresh_from_db()
    assert invoice.state == S.ISSUED and len(fake.documents) == 1
