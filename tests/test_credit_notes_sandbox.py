"""Issue 14's "done when", over real HTTP: the sandbox marketplaces refund, cancel and reduce
invoiced orders (the index page's buttons), the product imports them with its own clients, and
each becomes exactly one credit note; a second sync creates nothing more. Fatture is the in-test
fake (tests/fake_fatture.py), the marketplaces are the sandbox on the live server."""

import json
from decimal import Decimal as D

import pytest
import responses
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from invoicing.creditmodels import CreditNote
from marketplaces.models import Order, StoreConnection
from marketplaces.services import order_reread_request, store_import_orders
from sandbox.demo import BRICKLINK_CREDENTIALS, BRICKOWL_API_KEY, demo_stores_load
from sandbox.models import SandboxOrder
from tests.factories_credit import invoiced
from tests.factories_invoicing import connected_seller
from tests.fake_fatture import FakeFatture

pytestmark = pytest.mark.urls("sandbox.test_urls")
K = CreditNote.State


@pytest.fixture
def fake_fatture(live_server):
    """Fatture faked with `responses`; the marketplaces' calls pass through to the live sandbox."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add_passthru(live_server.url)
        yield FakeFatture(rsps)


@pytest.fixture
def stores(live_server, settings, tenant, fake_fatture):
    base = f"{live_server.url}/sandbox"
    settings.BRICKLINK_API_URL = f"{base}/bricklink"
    settings.BRICKOWL_API_URL = f"{base}/brickowl"
    settings.MARKETPLACE_RETRIES = 0
    # Recent orders: BrickOwl's list is read again only for orders of the last 90 days (sources.py).
    demo_stores_load(today=timezone.localdate())
    # Not confirmed: nothing is invoiced by itself, each test invoices the order it refunds.
    connected_seller(tenant, confirmed=False)
    bricklink = StoreConnection.objects.create(
        tenant=tenant, marketplace="bricklink", name="BL", credentials=json.dumps(BRICKLINK_CREDENTIALS)
    )
    brickowl = StoreConnection.objects.create(
        tenant=tenant, marketplace="brickowl", name="BO", credentials=json.dumps({"api_key": BRICKOWL_API_KEY})
    )
    return bricklink, brickowl


def invoiced_order(store, *, lots: int = 1) -> Order:
    """A paid Italian order of ``store`` with at least ``lots`` lots and clean data, invoiced (after
    the store's first import)."""
    store_import_orders(store_id=store.id)
    candidates = Order.objects.filter(
        store=store, status__in=["paid", "shipped", "completed"], ship_country="IT", data_errors=[], coupon=0, credit=0
    ).order_by("ordered_at")
    order = next(o for o in candidates if o.items.count() >= lots)
    invoiced(order)
    return order


def sandbox_event(order: Order, event: str) -> str:
    row = SandboxOrder.objects.get(store__marketplace=order.marketplace, order_id=order.marketplace_order_id)
    response = Client().post(reverse("sandbox:order_event", args=[row.pk]), {"event": event}, follow=True)
    return response.content.decode()


def credit_documents(fake):
    return fake.of_type("credit_note")


def test_a_bricklink_order_cancelled_after_its_invoice_gets_one_credit_note(stores, fake_fatture):
    bricklink, _ = stores
    order = invoiced_order(bricklink)
    assert "cancelled after payment" in sandbox_event(order, "bl_cancel")

    store_import_orders(store_id=bricklink.id)
    [note] = CreditNote.objects.all()
    assert note.state == K.ISSUED and note.event_key == "cancelled" and note.total == order.invoice.total
    [document] = credit_documents(fake_fatture)
    assert document["ei_data"]["invoice_number"] == order.invoice.display_number

    store_import_orders(store_id=bricklink.id)  # a second sync creates nothing more
    assert CreditNote.objects.count() == 1 and len(credit_documents(fake_fatture)) == 1


def test_a_bricklink_order_reduced_by_an_item_removal_is_credited_the_difference(stores, fake_fatture):
    bricklink, _ = stores
    order = invoiced_order(bricklink, lots=2)
    assert "status UPDATED" in sandbox_event(order, "bl_remove_item")

    store_import_orders(store_id=bricklink.id)
    order.refresh_from_db()
    [note] = CreditNote.objects.all()
    assert order.raw_status == "UPDATED" and order.ever_paid
    now_charged = D(order.amount_paid_to_seller).quantize(D("0.01"))
    assert note.state == K.ISSUED and note.total == order.invoice.total - now_charged
    assert {line.slot for line in note.lines.all()} <= {"std_domestic", "margin_domestic"}  # goods only

    store_import_orders(store_id=bricklink.id)
    assert CreditNote.objects.count() == 1 and len(credit_documents(fake_fatture)) == 1


def test_a_brickowl_refund_is_credited_once_read_again_and_a_cancellation_by_the_next_sync(stores, fake_fatture):
    _, brickowl = stores
    order = invoiced_order(brickowl, lots=2)
    assert "refunded" in sandbox_event(order, "bo_refund_lot")
    store_import_orders(store_id=brickowl.id)
    assert not CreditNote.objects.exists()  # BrickOwl's list does not show refunds [U]: not read again

    order_reread_request(order=order)  # the order page's "Check the marketplace for refunds now"
    store_import_orders(store_id=brickowl.id)
    [refund] = CreditNote.objects.all()
    order.refresh_from_db()
    assert refund.state == K.ISSUED and refund.total == D(order.refund_subtotal).quantize(D("0.01"))

    sandbox_event(order, "bo_cancel")
    store_import_orders(store_id=brickowl.id)  # the status is in the list: read again by itself
    refund, cancelled = CreditNote.objects.order_by("created_at")
    assert cancelled.state == K.ISSUED and refund.total + cancelled.total == order.invoice.total

    store_import_orders(store_id=brickowl.id)
    assert CreditNote.objects.count() == 2 and len(credit_documents(fake_fatture)) == 2


def test_the_sandbox_index_offers_the_refund_and_cancel_buttons(stores):
    html = Client().get(reverse("sandbox:index")).content.decode()
    assert "Cancel order" in html and "after payment (BrickLink)" in html
    assert "(BrickLink UPDATED)" in html and "Refund order" in html


def test_an_event_that_does_not_fit_the_order_is_refused(stores):
    row = SandboxOrder.objects.filter(store__marketplace="bricklink", payload__status="PENDING").first()
    response = Client().post(reverse("sandbox:order_event", args=[row.pk]), {"event": "bl_cancel"}, follow=True)
    assert "not done, the order is not paid" in response.content.decode()
    row.refresh_from_db()
    assert row.payload["status"] == "PENDING"
