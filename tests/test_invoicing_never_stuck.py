"""Never stuck, never silent: held orders get a decision, recovery resumes by itself, a refusal is
explained once and cheaply, the look-up before a retry cannot be fooled by a changed date, and the
seller is told by e-mail."""

import json
from datetime import UTC, datetime
from decimal import Decimal as D

import pytest
import requests
import responses
from django.core import mail
from django.urls import reverse

from accounts.models import SellerSettings
from fatture.models import FattureConnection
from invoicing import issuing
from invoicing.accounting import accounting_ready
from invoicing.digest import digests_send
from invoicing.models import Invoice, OrderDecision
from marketplaces.models import Order
from marketplaces.signals import store_imported
from tests.factories_fatture import STANDARD_CATALOGUE, VAT_TYPES, page
from tests.factories_invoicing import connected_seller, fic, make_order

pytestmark = pytest.mark.django_db

S = Invoice.State
TAX_PROBLEM = "BrickOwl reports tax of 6.20 EUR (rate 25.00%) on this order; check it before invoicing."


@pytest.fixture
def seller(tenant, owner):
    connected_seller(tenant)
    return tenant


def _run(order) -> Invoice:
    invoice, _ = Invoice.objects.get_or_create(tenant=order.tenant, order=order)
    issuing.invoice_process(invoice_id=invoice.id)
    invoice.refresh_from_db()
    return invoice


def _taxed_order(tenant):
    """A BrickOwl-style order whose paid total includes the marketplace's import tax."""
    return make_order(
        tenant,
        username="uk-buyer",
        items=(("new", 4, "19.8000"),),
        shipping=D("5.0000"),
        amount_paid_to_seller=D("31.00"),
        payload_hash="a" * 64,
        data_errors=[TAX_PROBLEM],
    )


def test_an_order_with_data_problems_is_held_with_the_problem_and_never_invoiced_silently(seller, fake):
    invoice = _run(_taxed_order(seller))
    assert invoice.state == S.NEEDS_ATTENTION and invoice.error_code == "order_data_held"
    assert TAX_PROBLEM in invoice.error_detail and fake.documents == []
    assert _run(invoice.order).state == S.NEEDS_ATTENTION  # Retry alone brings the same question back


def test_invoicing_as_computed_states_the_choice_and_records_who_decided(
    seller, owner, owner_client, fake, django_capture_on_commit_callbacks
):
    order = _taxed_order(seller)
    _run(order)
    page_html = owner_client.get(reverse("invoicing:order_preview", args=[order.public_id])).content.decode()
    assert 'data-testid="order-question"' in page_html and TAX_PROBLEM in page_html
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            reverse("invoicing:order_decide", args=[order.public_id]),
            {"kind": "invoice_as_computed", "reason": "UK import tax collected by BrickOwl"},
        )
    assert response.status_code == 302
    invoice = Invoice.objects.get(order=order)
    assert invoice.state == S.ISSUED and invoice.total == D("24.80")
    sent = json.loads(fake.calls("POST")[-1].request.body)["data"]
    assert "24.80" in sent["notes"] and "31.00" in sent["notes"]
    decision = OrderDecision.objects.get(order=order)
    assert decision.decided_by == owner and decision.kind == "invoice_as_computed"


def test_not_invoicing_keeps_the_reason_and_needs_one(seller, owner_client, fake):
    order = _taxed_order(seller)
    _run(order)
    url = reverse("invoicing:order_decide", args=[order.public_id])
    owner_client.post(url, {"kind": "skip", "reason": ""})
    assert Invoice.objects.get(order=order).state == S.NEEDS_ATTENTION  # a reason is required
    owner_client.post(url, {"kind": "skip", "reason": "Refunded and invoiced by hand"})
    invoice = Invoice.objects.get(order=order)
    assert invoice.state == S.SKIPPED and "Refunded and invoiced by hand" in invoice.error_message
    assert fake.documents == []


def test_a_decision_lapses_when_the_marketplace_changes_the_order(seller, owner, fake):
    from invoicing.decisions import order_decide

    order = _taxed_order(seller)
    _run(order)
    order_decide(order=order, kind="skip", reason="handled by hand", user=owner)
    Order.objects.filter(id=order.id).update(payload_hash="b" * 64)  # new data from the marketplace
    Invoice.objects.filter(order=order).update(state=S.PENDING)
    invoice = _run(Order.objects.get(id=order.id))
    assert invoice.state == S.NEEDS_ATTENTION and invoice.error_code == "order_data_held"


def test_reading_again_marks_the_order_and_imports_its_store(seller, owner_client, django_capture_on_commit_callbacks):
    from unittest import mock

    order = _taxed_order(seller)
    _run(order)
    with (
        mock.patch("invoicing.tasks.import_store.delay") as import_store,  # the broker boundary
        django_capture_on_commit_callbacks(execute=True),
    ):
        owner_client.post(reverse("invoicing:order_decide", args=[order.public_id]), {"kind": "reread"})
    order.refresh_from_db()
    assert order.reread_at is not None
    import_store.assert_called_once_with(order.store_id)


def test_a_quarantined_order_is_never_invoiced(seller, fake):
    order = make_order(seller, quarantined=True, data_errors=["The order detail could not be read."])
    invoice = _run(order)
    assert invoice.state == S.SKIPPED and fake.documents == []


def test_reconnecting_resumes_what_the_revoked_token_paused_with_no_button(
    seller, fake, django_capture_on_commit_callbacks
):
    order = make_order(seller, username="paused-buyer")
    FattureConnection.objects.filter(tenant=seller).update(status=FattureConnection.Status.NEEDS_RECONNECT)
    assert _run(order).error_code == "fatture_auth_failed"
    FattureConnection.objects.filter(tenant=seller).update(status=FattureConnection.Status.CONNECTED)
    with django_capture_on_commit_callbacks(execute=True):
        accounting_ready.send(sender=FattureConnection, tenant=seller)
    assert Invoice.objects.get(order=order).state == S.ISSUED and len(fake.documents) == 1


def test_fatture_announces_a_reconnect_that_can_invoice(seller, rsps, django_capture_on_commit_callbacks):
    from fatture.connection import connection_complete
    from tests.factories_fatture import PreRegistrationFactory, token_url, user_info

    PreRegistrationFactory(email="mario.rossi@example.com")
    rsps.add(responses.POST, token_url(), json={"access_token": "a/x", "refresh_token": "r/x", "expires_in": 86400})
    rsps.add(responses.GET, f"{fic('')[: -len('/c/12345/')]}/user/info", json=user_info())
    heard = []
    accounting_ready.connect(lambda sender, tenant, **kw: heard.append(tenant), weak=False, dispatch_uid="t")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            connection_complete(tenant=seller, code="c/1", redirect_uri="http://testserver/cb")
    finally:
        accounting_ready.disconnect(dispatch_uid="t")
    assert heard == [seller]


def test_the_first_import_after_connecting_a_store_queues_its_invoices(
    seller, fake, django_capture_on_commit_callbacks
):
    order = make_order(seller, username="first-import")
    with django_capture_on_commit_callbacks(execute=True):
        store_imported.send(sender=None, store_id=order.store_id, result=None)
    assert Invoice.objects.get(order=order).state == S.ISSUED


def test_a_deleted_product_costs_one_catalogue_read_for_a_whole_sync(seller, fake):
    without_shipping = [p for p in STANDARD_CATALOGUE if p["id"] != 1004]
    fake.rsps.add(responses.GET, fic("products"), json=page(without_shipping, 1, 1))
    fake.rsps.add(responses.GET, fic("info/vat_types"), json=VAT_TYPES)
    fake.fail_next_create.append((422, {"error": {"message": "Prodotto inesistente"}}, {}))
    invoices = [_run(make_order(seller, username=f"refused-{n}")) for n in range(8)]
    assert {(i.state, i.error_code) for i in invoices} == {(S.NEEDS_ATTENTION, "product_not_found")}
    assert all(i.error_message == "Product 1004 not found in Fatture in Cloud." for i in invoices)
    product_reads = [c for c in fake.calls("GET") if "/products" in c.request.url]
    creates = [c for c in fake.calls("POST") if c.request.url.endswith("/issued_documents")]
    assert len(product_reads) == 1 and len(creates) == 1  # the rest failed at once, without a call


def test_the_look_up_before_a_retry_uses_what_the_uncertain_attempt_sent(seller, fake):
    """The first attempt sent the payment date, timed out after Fatture created the invoice; the
    seller then switched to the order date. The retry must still find the first invoice."""
    order = make_order(
        seller,
        username="moved-date",
        ordered_at=datetime(2026, 3, 1, 10, tzinfo=UTC),
        paid_at=datetime(2026, 3, 4, 9, tzinfo=UTC),
    )
    fake.fail_next_create.append(("after-create", requests.exceptions.ReadTimeout("read timed out")))
    first = _run(order)
    assert first.uncertain and first.sent_date.isoformat() == "2026-03-04"
    SellerSettings.objects.filter(tenant=seller).update(invoice_date_policy="order_date")
    second = _run(order)
    assert second.state == S.ISSUED and len(fake.documents) == 1


def test_the_daily_digest_lists_the_orders_that_need_the_owner(seller, owner, fake):
    _run(_taxed_order(seller))
    assert digests_send() == 1
    (email,) = mail.outbox
    assert owner.email in email.to and "uk-buyer" not in email.subject
    body = email.body
    assert Order.objects.get(buyer_username="uk-buyer").marketplace_order_id in body


def test_the_digest_words_each_problem_in_each_owners_language(seller, owner, fake):
    """The worker stores the failure's code; each owner's e-mail words it in that owner's language."""
    from django.utils import translation

    from accounts.choices import Role
    from brickinvoice.errors import describe
    from tests.factories import MembershipFactory, UserFactory

    owner.language = "en"
    owner.save(update_fields=["language"])
    italian = MembershipFactory(tenant=seller, role=Role.OWNER, user=UserFactory(language="it")).user
    fake.fail_next_create.append((422, {"error": {"message": "Validation error"}}, {}))
    assert _run(make_order(seller)).state == Invoice.State.NEEDS_ATTENTION
    assert digests_send() == 2  # one e-mail per owner
    bodies = {email.to[0]: email.body for email in mail.outbox}
    for user, language in ((owner, "en"), (italian, "it")):
        with translation.override(language):
            expected = str(describe("invoice_creation_failed").message)[:40]
        assert expected in bodies[user.email], (language, bodies[user.email])
    assert bodies[owner.email] != bodies[italian.email]


def test_owners_are_e_mailed_at_once_when_fatture_needs_reconnecting(
    seller, owner, fake, django_capture_on_commit_callbacks
):
    from tests.factories_fatture import token_url

    revoked = {"status": 401, "json": {"error": {"message": "Unauthorized"}}}
    fake.rsps.replace(responses.GET, fic("entities/clients"), **revoked)
    fake.rsps.add(responses.POST, token_url(), status=400, json={"error": "invalid_grant"})
    with django_capture_on_commit_callbacks(execute=True):
        assert _run(make_order(seller, username="revoked")).error_code == "fatture_auth_failed"
    assert [owner.email] in [m.to for m in mail.outbox]
    assert any("/home/accounting/connect" in m.body for m in mail.outbox)
