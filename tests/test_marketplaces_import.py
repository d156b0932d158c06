"""Importing orders: idempotent upserts, updates, cutoff, the BrickLink daily budget, bad data,
errors stored on the store, the task and the management command."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from freezegun import freeze_time

from accounts.choices import OrderStatus
from accounts.services import settings_for
from marketplaces.models import Order, OrderItem, StoreConnection
from marketplaces.services import store_import_orders
from marketplaces.tasks import import_store
from tests.data.marketplace_payloads import (
    FakeBrickLink,
    FakeBrickOwl,
    bl_batches,
    bl_envelope,
    bl_order,
    bo_order,
)
from tests.factories import BrickLinkStoreFactory, StoreConnectionFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_marketplace_backoff")]

T0 = datetime(2024, 3, 14, 9, 0, tzinfo=UTC)


@pytest.fixture
def bricklink(rsps):
    return FakeBrickLink(rsps)


@pytest.fixture
def brickowl(rsps):
    return FakeBrickOwl(rsps)


@pytest.fixture
def bl_store(tenant):
    return BrickLinkStoreFactory(tenant=tenant, name="BrickLink store")


@pytest.fixture
def bo_store(tenant):
    from tests.data.marketplace_payloads import BO_KEY

    return StoreConnectionFactory(tenant=tenant, credentials=f'{{"api_key": "{BO_KEY}"}}')


def fresh(store) -> StoreConnection:
    return StoreConnection.objects.get(pk=store.pk)


# -- BrickLink ---------------------------------------------------------------------------------


def test_bricklink_import_creates_normalised_orders_from_filed_and_unfiled_lists(bl_store, bricklink):
    bricklink.add(bl_order(1001, ordered=T0, status="PAID"))
    bricklink.add(bl_order(1002, ordered=T0 + timedelta(hours=1), status="SHIPPED"), filed=True)

    result = store_import_orders(store_id=bl_store.id)

    assert result.complete and not result.stopped_reason
    orders = {o.marketplace_order_id: o for o in Order.objects.filter(store=bl_store)}
    assert set(orders) == {"1001", "1002"}
    assert sorted(result.created_ids) == sorted(o.pk for o in orders.values())
    order = orders["1001"]
    assert order.tenant == bl_store.tenant and order.marketplace == "bricklink"
    assert order.status == OrderStatus.PAID and order.amount_paid_to_seller == Decimal("29.1900")
    assert order.items.count() == 4
    assert order.items.get(lot_id="387654323").name == "Stormtrooper (Dotted Mouth)"
    assert order.raw["order"]["order_id"] == 1001 and len(order.raw["items"]) == 2
    assert order.payload_hash and order.data_errors == []
    assert bricklink.calls("list") == ["/orders", "/orders"]
    assert result.api_calls == 2 + 2 * 2
    store = fresh(bl_store)
    assert store.api_calls_today == 6 and store.last_synced_at is not None
    assert store.last_import_result["created_ids"] == result.created_ids
    assert store.name == "Mattoncini di Roma"  # taken from the list rows


def test_bricklink_reimport_of_unchanged_orders_makes_no_detail_calls_and_no_duplicates(bl_store, bricklink):
    bricklink.add(bl_order(1001, ordered=T0, status="PAID"))
    store_import_orders(store_id=bl_store.id)
    first_calls = len(bricklink.calls())

    result = store_import_orders(store_id=bl_store.id)

    assert result.created_ids == [] and result.changed_ids == [] and result.unchanged == 1
    assert bricklink.calls()[first_calls:] == ["/orders", "/orders"]
    assert Order.objects.count() == 1 and OrderItem.objects.count() == 4


def test_bricklink_status_change_and_items_added_later_update_the_order_in_place(bl_store, bricklink):
    order = bricklink.add(bl_order(1001, ordered=T0, status="PAID", changed=T0))
    first = store_import_orders(store_id=bl_store.id)
    stored = Order.objects.get()
    # The buyer adds a lot (a new batch); later the seller ships the order.
    batches = bl_batches()
    batches.append(
        [
            {
                "inventory_id": 387700002,
                "item": {"no": "3062b", "name": "Brick, Round 1 x 1 Open Stud", "type": "PART", "category_id": 20},
                "color_id": 1,
                "color_name": "White",
                "quantity": 10,
                "new_or_used": "N",
                "unit_price": "0.0500",
                "unit_price_final": "0.0500",
                "currency_code": "EUR",
            }
        ]
    )
    order.update(status="SHIPPED", date_status_changed="2024-03-17T10:00:00.000Z")
    order["cost"].update(subtotal="22.7900", grand_total="29.6900", final_total="29.6900")
    bricklink.items["1001"] = batches

    second = store_import_orders(store_id=bl_store.id)

    assert first.created_ids == [stored.pk]
    assert second.changed_ids == [stored.pk] and second.created_ids == []
    stored.refresh_from_db()
    assert stored.status == OrderStatus.SHIPPED
    assert stored.amount_paid_to_seller == Decimal("29.6900")
    assert stored.status_changed_at == datetime(2024, 3, 17, 10, tzinfo=UTC)
    assert stored.items.count() == 5
    assert stored.items.get(lot_id="387700002").batch == 3
    assert Order.objects.count() == 1
    assert bricklink.calls("detail") == ["1001", "1001"]


def test_bricklink_orders_before_the_cutoff_are_skipped(bl_store, bricklink):
    seller = settings_for(bl_store.tenant)
    seller.cutoff_date = date(2024, 3, 15)
    seller.save()
    # 23:30Z on the 14th is already the 15th in Italy: on or after the cutoff.
    bricklink.add(bl_order(1001, ordered=datetime(2024, 3, 14, 23, 30, tzinfo=UTC), status="PAID"))
    bricklink.add(bl_order(1000, ordered=datetime(2024, 3, 14, 22, 0, tzinfo=UTC), status="PAID"))

    result = store_import_orders(store_id=bl_store.id)

    assert list(Order.objects.values_list("marketplace_order_id", flat=True)) == ["1001"]
    assert result.skipped_before_cutoff == 1
    assert bricklink.calls("detail") == ["1001"]


def test_bricklink_unpaid_orders_are_not_fetched_until_they_reach_an_invoiced_status(bl_store, bricklink):
    order = bricklink.add(bl_order(1001, ordered=T0, status="PENDING", payment__status="None"))

    first = store_import_orders(store_id=bl_store.id)
    order.update(status="PAID", date_status_changed="2024-03-15T08:00:00.000Z")
    order["payment"]["status"] = "Received"
    second = store_import_orders(store_id=bl_store.id)

    assert first.skipped_not_wanted == 1 and first.created_ids == []
    assert len(second.created_ids) == 1
    assert bricklink.calls("detail") == ["1001"]


def test_bricklink_stops_at_the_daily_budget_and_resumes_next_day_without_fetching_twice(bl_store, bricklink, settings):
    settings.BRICKLINK_DAILY_CALL_BUDGET = 8  # 2 list calls + 3 orders × 2 calls
    for n in range(5):
        bricklink.add(bl_order(2000 + n, ordered=T0 + timedelta(minutes=n), status="PAID"))

    with freeze_time("2024-04-01 10:00:00"):
        day_one = store_import_orders(store_id=bl_store.id)
        blocked = store_import_orders(store_id=bl_store.id)
    with freeze_time("2024-04-02 08:00:00"):
        day_two = store_import_orders(store_id=bl_store.id)

    assert not day_one.complete and day_one.error_code == "marketplace_quota"
    assert len(day_one.created_ids) == 3 and day_one.pending == 2
    assert "daily BrickLink call budget" in day_one.stopped_reason and "2 orders are left" in day_one.stopped_reason
    assert day_one.api_calls == 8
    # Same day: nothing left, not even a listing.
    assert blocked.api_calls == 0 and blocked.error_code == "marketplace_quota"
    assert day_two.complete and len(day_two.created_ids) == 2
    detail_calls = bricklink.calls("detail")
    assert sorted(detail_calls) == [str(2000 + n) for n in range(5)]  # each order fetched exactly once
    assert detail_calls[:3] == ["2000", "2001", "2002"]  # oldest first
    store = fresh(bl_store)
    assert store.api_calls_day == date(2024, 4, 2) and store.api_calls_today == 2 + 4
    assert store.status == StoreConnection.Status.ACTIVE
    assert Order.objects.count() == 5


def test_bricklink_quota_answer_stops_the_run_and_spends_nothing_more_today(bl_store, rsps, settings):
    rsps.get(f"{settings.BRICKLINK_API_URL}/orders", status=429, body="Too Many Requests")

    with freeze_time("2024-04-01 10:00:00"):
        result = store_import_orders(store_id=bl_store.id)
        again = store_import_orders(store_id=bl_store.id)

    assert result.error_code == "marketplace_quota" and result.api_calls == 1
    assert again.api_calls == 0
    store = fresh(bl_store)
    assert store.status == StoreConnection.Status.ACTIVE  # transient: nothing for the seller to do
    assert store.last_error_code == "marketplace_quota"


def test_bricklink_malformed_order_is_flagged_and_the_others_are_imported(bl_store, bricklink):
    bricklink.add(bl_order(1001, ordered=T0, status="PAID"))
    bad = bricklink.add(bl_order(1002, ordered=T0 + timedelta(hours=1), status="PAID"))
    bricklink.add(bl_order(1003, ordered=T0 + timedelta(hours=2), status="PAID"))
    bricklink.raw_overrides["1002"] = {
        **bad,
        "cost": {**bad["cost"], "grand_total": "N/A"},
        "shipping": {"address": {"name": {"full": "X"}, "full": "", "country_code": "ZZ"}},
    }

    result = store_import_orders(store_id=bl_store.id)

    assert result.complete and len(result.created_ids) == 3
    flagged = Order.objects.get(marketplace_order_id="1002")
    assert result.flagged_ids == [flagged.pk]
    assert any("cost.grand_total is not a number" in e for e in flagged.data_errors)
    assert any("Unknown shipping country code 'ZZ'" in e for e in flagged.data_errors)
    assert flagged.ship_country == ""
    assert Order.objects.get(marketplace_order_id="1003").data_errors == []


def test_bricklink_order_that_vanished_is_reported_and_the_run_goes_on(bl_store, bricklink):
    bricklink.add(bl_order(1001, ordered=T0, status="PAID"))
    bricklink.add(bl_order(1002, ordered=T0 + timedelta(hours=1), status="PAID"))
    bricklink.missing_details.add("1001")

    result = store_import_orders(store_id=bl_store.id)

    assert result.complete and result.failed_order_ids == ["1001"]
    assert list(Order.objects.values_list("marketplace_order_id", flat=True)) == ["1002"]


def test_bricklink_bad_credentials_mark_the_store_as_needing_attention(bl_store, rsps, settings):
    rsps.get(
        f"{settings.BRICKLINK_API_URL}/orders",
        json=bl_envelope(None, code=401, message="BAD_OAUTH_REQUEST", description="TOKEN_VALUE_UNKNOWN"),
    )

    result = store_import_orders(store_id=bl_store.id)

    assert result.error_code == "marketplace_bad_credentials" and not result.complete
    store = fresh(bl_store)
    assert store.status == StoreConnection.Status.NEEDS_ATTENTION
    assert store.last_error_code == "marketplace_bad_credentials"
    assert "TOKEN_VALUE_UNKNOWN" in store.last_error_detail
    assert store.import_lock_until is None


def test_bricklink_ip_mismatch_during_import_is_stored_with_its_code(bl_store, rsps, settings):
    rsps.get(
        f"{settings.BRICKLINK_API_URL}/orders",
        json=bl_envelope(None, code=401, description="TOKEN_IP_MISMATCHED: consumer: CK IP: 198.51.100.4"),
    )

    store_import_orders(store_id=bl_store.id)

    store = fresh(bl_store)
    assert store.status == StoreConnection.Status.NEEDS_ATTENTION
    assert store.last_error_code == "bricklink_ip_mismatch"
    assert "198.51.100.4" in store.last_error_detail


def test_unreachable_marketplace_keeps_the_store_active_and_asks_for_a_retry(bl_store, rsps, settings):
    settings.MARKETPLACE_RETRIES = 1
    rsps.get(f"{settings.BRICKLINK_API_URL}/orders", status=502, body="<html>Bad gateway</html>")

    result = store_import_orders(store_id=bl_store.id)

    assert result.error_code == "marketplace_unreachable" and result.retry_in
    assert result.api_calls == 2
    store = fresh(bl_store)
    assert store.status == StoreConnection.Status.ACTIVE
    assert store.last_error_code == "marketplace_unreachable"


def test_a_store_being_imported_is_not_imported_twice_at_once(bl_store, bricklink):
    StoreConnection.objects.filter(pk=bl_store.pk).update(import_lock_until=datetime.now(UTC) + timedelta(minutes=5))

    result = store_import_orders(store_id=bl_store.id)

    assert result.error_code == "import_running" and result.api_calls == 0
    assert bricklink.calls() == []


def test_a_disconnected_store_is_not_imported(bl_store, bricklink):
    from marketplaces.services import store_disconnect

    store_disconnect(store=bl_store)

    result = store_import_orders(store_id=bl_store.id)

    assert result.error_code == "store_disconnected"
    assert bricklink.calls() == []


# -- BrickOwl ----------------------------------------------------------------------------------


def test_brickowl_import_creates_orders_and_moves_the_cursor(bo_store, brickowl):
    brickowl.add(bo_order("7654321", ordered=T0, status_id="5"))
    brickowl.add(bo_order("7654322", ordered=T0 + timedelta(hours=1), status_id="6"))

    with freeze_time("2024-03-20"):
        result = store_import_orders(store_id=bo_store.id)

    assert result.complete and len(result.created_ids) == 2
    order = Order.objects.get(marketplace_order_id="7654321")
    assert order.marketplace == "brickowl" and order.status == OrderStatus.SHIPPED
    assert order.buyer_username == "brickfan_berlin" and order.items.count() == 4
    assert order.amount_paid_to_seller == Decimal("29.19")
    # The open (shipped) order holds the cursor so its status changes are seen in the list.
    assert fresh(bo_store).import_cursor == {"order_time": int(T0.timestamp())}
    assert result.api_calls == 1 + 2 * 2


def test_brickowl_reimport_is_idempotent_and_a_status_change_is_picked_up(bo_store, brickowl):
    order = brickowl.add(bo_order("7654321", ordered=T0, status_id="2"))
    with freeze_time("2024-03-20"):
        store_import_orders(store_id=bo_store.id)
        unchanged = store_import_orders(store_id=bo_store.id)
        order.update(status_id="5", status="Shipped")
        changed = store_import_orders(store_id=bo_store.id)

    assert unchanged.unchanged == 1 and unchanged.api_calls == 1  # the listing only
    assert len(changed.changed_ids) == 1
    assert Order.objects.get().status == OrderStatus.SHIPPED
    assert brickowl.calls("view") == ["7654321", "7654321"]
    assert Order.objects.count() == 1 and OrderItem.objects.count() == 4


def test_brickowl_first_import_starts_at_the_cutoff(bo_store, brickowl):
    seller = settings_for(bo_store.tenant)
    seller.cutoff_date = date(2024, 3, 14)
    seller.save()
    brickowl.add(bo_order("1", ordered=datetime(2024, 3, 13, 12, tzinfo=UTC), status_id="2"))
    brickowl.add(bo_order("2", ordered=datetime(2024, 3, 14, 12, tzinfo=UTC), status_id="2"))

    store_import_orders(store_id=bo_store.id)

    list_call = brickowl.rsps.calls[0].request.url
    assert f"order_time={int(datetime(2024, 3, 13, 23, tzinfo=UTC).timestamp())}" in list_call  # Rome midnight
    assert list(Order.objects.values_list("marketplace_order_id", flat=True)) == ["2"]


def test_brickowl_bad_key_marks_the_store_as_needing_attention(tenant, brickowl):
    store = StoreConnectionFactory(tenant=tenant, credentials='{"api_key": "revoked-key"}')

    result = store_import_orders(store_id=store.id)

    assert result.error_code == "marketplace_bad_credentials"
    assert fresh(store).status == StoreConnection.Status.NEEDS_ATTENTION


# -- task and command --------------------------------------------------------------------------


def test_import_task_runs_the_import(bl_store, bricklink):
    bricklink.add(bl_order(1001, ordered=T0, status="PAID"))

    outcome = import_store.delay(bl_store.id).get()

    assert len(outcome["created_ids"]) == 1
    assert Order.objects.filter(store=bl_store).count() == 1


def test_import_task_retries_when_the_marketplace_is_unreachable(bl_store, rsps, settings):
    from celery.exceptions import Retry

    settings.MARKETPLACE_RETRIES = 0
    rsps.get(f"{settings.BRICKLINK_API_URL}/orders", status=503, body="down")

    with pytest.raises(Retry):
        import_store.apply(args=[bl_store.id], throw=True)


def test_import_orders_command_imports_all_stores_of_a_tenant(tenant, bl_store, bo_store, bricklink, brickowl):
    bricklink.add(bl_order(1001, ordered=T0, status="PAID"))
    brickowl.add(bo_order("7654321", ordered=T0, status_id="2"))
    out = StringIO()

    call_command("import_orders", "--tenant", str(tenant.public_id), stdout=out)

    assert Order.objects.filter(tenant=tenant).count() == 2
    assert "1 new" in out.getvalue()


def test_a_store_with_orders_cannot_be_deleted_alone_but_its_tenant_can(tenant, bl_store):
    from django.db.models import RestrictedError

    from accounts.models import Tenant
    from tests.factories import OrderFactory, OrderItemFactory

    OrderItemFactory(order=OrderFactory(store=bl_store))

    with pytest.raises(RestrictedError):
        bl_store.delete()
    tenant.delete()

    assert not Tenant.objects.filter(pk=tenant.pk).exists() and not Order.objects.exists()
