"""Store health and orders needing attention, as the seller sees them (stores, orders, order pages)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from marketplaces.models import StoreConnection
from marketplaces.selectors import attention_counts, store_health
from tests.factories import BrickLinkStoreFactory, OrderFactory, OrderItemFactory

pytestmark = pytest.mark.django_db


def test_a_store_whose_last_import_failed_is_never_shown_as_connected(owner_client, tenant):
    BrickLinkStoreFactory(
        tenant=tenant,
        status=StoreConnection.Status.ACTIVE,
        last_error_code="marketplace_bad_data",
        last_error_message="The marketplace sent data we could not read.",
        last_error_detail="BrickLink's order list is not a list (got dict).",
    )

    page = owner_client.get(reverse("marketplaces:stores")).content.decode()

    assert "Import failing, retrying" in page and ">Connected<" not in page
    assert "BrickLink&#x27;s order list is not a list (got dict)." in page
    assert "retried with a growing delay" in page  # the hint


def test_store_health_follows_status_and_last_error(tenant):
    ok = BrickLinkStoreFactory(tenant=tenant)
    attention = BrickLinkStoreFactory(
        tenant=tenant, status=StoreConnection.Status.NEEDS_ATTENTION, last_error_code="marketplace_bad_credentials"
    )
    gone = BrickLinkStoreFactory(tenant=tenant, status=StoreConnection.Status.DISCONNECTED, credentials="")

    assert (store_health(ok).label, store_health(ok).err) == ("Connected", None)
    assert store_health(attention).label == "Needs attention"
    assert "Copy the keys again" in store_health(attention).err["hint"]
    assert store_health(gone).label == "Disconnected"


def test_stores_page_counts_orders_needing_attention_and_links_to_them(owner_client, tenant):
    store = BrickLinkStoreFactory(tenant=tenant)
    OrderFactory(store=store, quarantined=True, data_errors=["cost.grand_total is not a number ('N/A')."])
    OrderFactory(store=store, data_errors=["The order has no shipping address."])
    OrderFactory(store=store)
    StoreConnection.objects.filter(pk=store.pk).update(
        last_import_at=datetime(2024, 4, 1, tzinfo=UTC),
        last_import_result={"problems": ["Row 3 of the BrickLink order list has no readable order id: 'x'."]},
    )

    page = owner_client.get(reverse("marketplaces:stores")).content.decode()

    assert "2 orders need attention" in page
    assert f"?store={store.public_id}&amp;attention=on" in page
    assert "1 problem in the last import" in page and "Row 3 of the BrickLink order list" in page


def test_attention_counts_are_one_query_for_all_stores(tenant, other_tenant):
    stores = [BrickLinkStoreFactory(tenant=tenant) for _ in range(3)]
    for store in stores:
        OrderFactory(store=store, quarantined=True, data_errors=["x"])
        OrderFactory(store=store)
    OrderFactory(store=BrickLinkStoreFactory(tenant=other_tenant), data_errors=["not mine"])

    with CaptureQueriesContext(connection) as queries:
        counts = attention_counts(tenant=tenant)

    assert counts == {store.id: 1 for store in stores}
    assert len(queries) == 1


def test_orders_page_filters_orders_needing_attention_and_marks_the_quarantined(owner_client, tenant):
    store = BrickLinkStoreFactory(tenant=tenant)
    held = OrderFactory(store=store, quarantined=True, data_errors=["The order date is missing."])
    noted = OrderFactory(store=store, data_errors=["The order has no shipping address."])
    clean = OrderFactory(store=store)

    page = owner_client.get(reverse("marketplaces:orders") + "?attention=on").content.decode()

    assert held.marketplace_order_id in page and noted.marketplace_order_id in page
    assert clean.marketplace_order_id not in page
    assert page.count("Set aside") == 1


def test_order_page_says_a_quarantined_order_is_not_invoiced_and_when_it_is_read_again(owner_client, tenant):
    order = OrderFactory(
        store=BrickLinkStoreFactory(tenant=tenant),
        quarantined=True,
        reread_at=datetime(2024, 4, 2, 10, tzinfo=UTC),
        data_errors=["cost.grand_total is out of range ('1e400')."],
        payment_method="PayPal (Onsite)",
        payment_status="Received",
    )
    OrderItemFactory(order=order, refunded_quantity=2)

    page = owner_client.get(reverse("marketplaces:order_detail", args=[order.public_id])).content.decode()

    assert "set aside and will not be invoiced" in page
    assert "Next read: 2 Apr 2024" in page
    assert "cost.grand_total is out of range" in page
    assert "PayPal (Onsite)" in page and "(Received)" in page
    assert "2 refunded" in page


def test_import_now_while_an_import_runs_says_so_and_queues_nothing(
    owner_client, tenant, django_capture_on_commit_callbacks
):
    store = BrickLinkStoreFactory(tenant=tenant, import_lock_until=datetime.now(UTC) + timedelta(minutes=5))

    with django_capture_on_commit_callbacks() as callbacks:
        response = owner_client.post(reverse("marketplaces:store_import", args=[store.public_id]), follow=True)

    assert callbacks == []
    assert "already running" in response.content.decode()
