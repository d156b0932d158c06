"""Issue 12 regressions, through the marketplace HTTP boundary (fakes over `responses`): malformed
orders never crash an import nor hide the good ones; each is stored with a specific problem and,
when the invoice cannot trust it, quarantined; store-level failures are visible on the store."""

import json
import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from freezegun import freeze_time

from accounts.choices import OrderStatus
from marketplaces.models import Order, StoreConnection
from marketplaces.services import store_import_orders
from tests.data.marketplace_payloads import BO_KEY, FakeBrickLink, FakeBrickOwl, bl_order, bo_order
from tests.factories import BrickLinkStoreFactory, StoreConnectionFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_marketplace_backoff")]

T0 = datetime(2024, 3, 14, 9, 0, tzinfo=UTC)
NOW = "2024-04-01 10:00:00"


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
    return StoreConnectionFactory(tenant=tenant, credentials=f'{{"api_key": "{BO_KEY}"}}')


def fresh(store) -> StoreConnection:
    return StoreConnection.objects.get(pk=store.pk)


def order(order_id) -> Order:
    return Order.objects.get(marketplace_order_id=str(order_id))


def problems(order_id) -> str:
    return " ".join(order(order_id).data_errors)


def at(minutes: int) -> str:
    return (datetime(2024, 4, 1, 10, tzinfo=UTC) + timedelta(minutes=minutes)).isoformat()


# -- BrickLink: one listing, every trigger ------------------------------------------------------------

GOOD = [1001, 1002, 1003, 1004]


def add_bricklink_listing(bricklink: FakeBrickLink) -> None:
    """Four well-formed orders between the malformed ones (oldest first is the fetch order)."""
    for n, order_id in enumerate(GOOD):
        bricklink.add(bl_order(order_id, ordered=T0 + timedelta(hours=10 * n), status="PAID"))

    def bad(order_id, hours, **changes):
        return bricklink.add(bl_order(order_id, ordered=T0 + timedelta(hours=hours), status="PAID", **changes))

    bad(2001, 1, shipping__address__address1="Via\x00 Roma 1")
    bad(2002, 2, cost__grand_total="1e400")
    huge = bad(2003, 3)
    bricklink.raw_bodies["2003"] = json.dumps(huge).replace('"grand_total": "29.1900"', '"grand_total": 1e400')
    bad(2004, 4, cost__subtotal=str(10**10))
    bad(2005, 5, shipping__address__country_code="ITA")
    bad(2006, 6)
    bricklink.raw_overrides["2006"] = {**bricklink.orders["2006"], "date_ordered": "0001-01-01T00:00:00+05:00"}
    bad(2007, 7)
    bricklink.raw_overrides["2007"] = {**bricklink.orders["2007"], "date_ordered": "9999-12-31T23:59:59.000Z"}
    bad(2008, 8)
    bricklink.raw_overrides["2008"] = [bricklink.orders["2008"]]  # a list where the order object belongs
    bad(2009, 9)
    bricklink.items["2009"] = "387654321 x 20"  # a string where the item batches belong
    bad(2010, 11)
    bricklink.raw_overrides["2010"] = {**bricklink.orders["2010"], "cost": 29.19}  # a number for the cost object
    bad(2011, 12)
    bricklink.failing_details.add("2011")  # 500 on every call
    bad(2012, 13)
    bricklink.exploding_details.add("2012")  # an exception no client code expects
    bricklink.extra_rows += [{"date_ordered": "2024-03-14T09:00:00.000Z", "status": "PAID"}, "24680135", None]


def test_bricklink_malformed_orders_are_flagged_and_every_good_order_is_imported(bl_store, bricklink, caplog):
    add_bricklink_listing(bricklink)

    with freeze_time(NOW), caplog.at_level(logging.ERROR, logger="marketplaces.imports"):
        result = store_import_orders(store_id=bl_store.id)

    assert result.complete and result.error_code == ""
    for order_id in GOOD:
        good = order(order_id)
        assert good.data_errors == [] and not good.quarantined
        assert good.amount_paid_to_seller == Decimal("29.1900") and good.items.count() == 4
    # Control characters are removed and said; the order stays invoiceable after a look.
    nul = order(2001)
    assert nul.ship_address1 == "Via Roma 1" and not nul.quarantined
    assert "shipping.address.address1 contained control characters" in problems(2001)
    assert "\x00" not in json.dumps(nul.raw)
    assert "cost.grand_total is out of range ('1e400')" in problems(2002)
    assert "cost.grand_total is not a number (Infinity)" in problems(2003)
    assert order(2003).raw["order"]["cost"]["grand_total"] == "inf"  # stored JSON-safe
    assert "cost.subtotal is out of range ('10000000000')" in problems(2004)
    # A three-letter code is mapped and noted, not refused.
    assert order(2005).ship_country == "IT" and not order(2005).quarantined
    assert "'ITA' (shipping.address.country_code) is a three-letter code; read as IT (Italy)" in problems(2005)
    assert "date_ordered is not a date ('0001-01-01T00:00:00+05:00')" in problems(2006)
    assert "date_ordered is out of range ('9999-12-31T23:59:59.000Z')" in problems(2007)
    assert 'BrickLink\'s order data is not an object (got a list: [{"order_id": 2008' in problems(2008)
    assert "items is not a list (got text: '387654321 x 20')" in problems(2009)
    assert "cost is not an object (got a number: 29.19)" in problems(2010)
    quarantined = {"2002", "2003", "2004", "2006", "2007", "2008", "2009", "2010"}
    assert set(Order.objects.filter(quarantined=True).values_list("marketplace_order_id", flat=True)) == quarantined
    assert all(order(o).status == OrderStatus.ON_HOLD or order(o).status == OrderStatus.PAID for o in quarantined)
    assert sorted(result.quarantined_ids) == sorted(order(o).pk for o in quarantined)
    # Detail calls that fail are counted and tried again; the run goes on past them.
    assert sorted(result.fetch_failed_ids) == ["2011", "2012"]
    assert not Order.objects.filter(marketplace_order_id__in=["2011", "2012"]).exists()
    assert "fetching order 2012 failed" in caplog.text and "RuntimeError" in caplog.text  # with the traceback
    said = " ".join(result.problems)
    assert "Order 2011 could not be read (The marketplace could not be reached." in said
    assert "Order 2012 could not be read (unexpected RuntimeError)" in said
    assert "Row 5 of the BrickLink order list has no readable order id" in said or "no readable order id" in said
    assert said.count("no readable order id") == 3
    store = fresh(bl_store)
    assert store.status == StoreConnection.Status.ACTIVE and store.last_error_code == ""
    assert set(store.order_failures) == {"2011", "2012"}


def test_bricklink_orders_whose_detail_keeps_failing_are_quarantined_and_new_orders_keep_coming(bl_store, bricklink):
    add_bricklink_listing(bricklink)
    with freeze_time(at(0)):
        store_import_orders(store_id=bl_store.id)
    bricklink.add(bl_order(1005, ordered=T0 + timedelta(days=2), status="PAID"))
    with freeze_time(at(20)):
        second = store_import_orders(store_id=bl_store.id)
    with freeze_time(at(40)):
        third = store_import_orders(store_id=bl_store.id)

    # The second run: the new order, and only the two failing ones again (the rest is unchanged).
    assert [order(1005).pk] == second.created_ids and order(1005).data_errors == []
    assert sorted(second.fetch_failed_ids) == ["2011", "2012"]
    assert bricklink.calls("detail").count("2002") == 1  # quarantined: not fetched again
    # The third failure, 40 minutes after the first: set aside with the last error.
    assert sorted(order(o).pk for o in ("2011", "2012")) == sorted(third.quarantined_ids)
    held = order(2011)
    assert held.quarantined and held.status == OrderStatus.ON_HOLD and held.amount_paid_to_seller == 0
    assert "could not be read in 3 imports in a row (last: The marketplace could not be reached." in problems(2011)
    assert held.raw["listing"]["order_id"] == 2011
    assert fresh(bl_store).order_failures == {}
    with freeze_time(at(60)):
        fourth = store_import_orders(store_id=bl_store.id)
    assert fourth.complete and fourth.fetch_failed_ids == [] and fourth.api_calls == 2  # the listing only


def test_a_clean_read_lifts_the_quarantine_by_itself(bl_store, bricklink):
    add_bricklink_listing(bricklink)
    for minutes in (0, 20, 40):
        with freeze_time(at(minutes)):
            store_import_orders(store_id=bl_store.id)
    assert order(2011).quarantined and order(2002).quarantined
    # BrickLink fixes order 2002 (its listing row changes) and the detail of 2011 works again.
    bricklink.orders["2002"]["cost"]["grand_total"] = "29.1900"
    bricklink.failing_details.clear()

    with freeze_time(at(60)):
        same_day = store_import_orders(store_id=bl_store.id)
    with freeze_time(at(60 + 24 * 60)):
        next_day = store_import_orders(store_id=bl_store.id)

    assert order(2002).pk in same_day.changed_ids and not order(2002).quarantined
    assert order(2002).data_errors == [] and order(2002).reread_at is None
    assert order(2011).pk in next_day.changed_ids  # read again once a day
    lifted = order(2011)
    assert not lifted.quarantined and lifted.data_errors == [] and lifted.amount_paid_to_seller == Decimal("29.1900")
    assert lifted.items.count() == 4 and lifted.status == OrderStatus.PAID


def test_a_missing_order_date_quarantines_the_order_instead_of_becoming_now(bl_store, bricklink):
    bricklink.add(bl_order(1001, ordered=T0, status="PAID"))
    bricklink.raw_overrides["1001"] = {**bricklink.orders["1001"], "date_ordered": None}

    with freeze_time(NOW):
        store_import_orders(store_id=bl_store.id)

    held = order(1001)
    assert held.quarantined and "date_ordered is missing." in held.data_errors
    assert held.ordered_at == T0  # the listing's date as placeholder, not the import time


def test_a_paid_order_updated_after_an_item_removal_keeps_the_fact_it_was_paid(bl_store, bricklink):
    placed = bricklink.add(bl_order(1001, ordered=T0, status="PAID", changed=T0))
    store_import_orders(store_id=bl_store.id)
    # An item-removal request after payment: UPDATED, payment status None, a smaller total.
    placed.update(status="UPDATED", date_status_changed="2024-03-20T10:00:00.000Z")
    placed["payment"]["status"] = "None"
    placed["cost"].update(subtotal="17.7900", grand_total="24.6900", final_total="24.6900")
    bricklink.items["1001"][1].pop()

    result = store_import_orders(store_id=bl_store.id)

    updated = order(1001)
    assert result.changed_ids == [updated.pk]
    assert (updated.status, updated.raw_status, updated.payment_status) == (OrderStatus.PENDING, "UPDATED", "None")
    assert updated.ever_paid and updated.paid_at is not None and not updated.quarantined
    assert updated.amount_paid_to_seller == Decimal("24.6900")
    said = " ".join(updated.data_errors)
    assert "was paid on 2024-03-14 and now shows as pending (UPDATED, payment status None)" in said
    assert "with a total of 24.69 EUR" in said and "Before, it was 29.19." in said


def test_bricklink_payment_method_and_status_are_kept(bl_store, bricklink):
    bricklink.add(bl_order(1001, ordered=T0, status="PAID", payment__method="Credit/Debit (Powered by Stripe)"))

    store_import_orders(store_id=bl_store.id)

    assert (order(1001).payment_method, order(1001).payment_status) == ("Credit/Debit (Powered by Stripe)", "Received")
    assert order(1001).ever_paid and order(1001).refund_total == 0


# -- BrickOwl -----------------------------------------------------------------------------------------


def test_brickowl_malformed_orders_are_flagged_the_good_ones_imported_and_the_cursor_moves_on(bo_store, brickowl):
    def add(order_id, hours, status_id="6", **changes):
        # Received (final) orders do not hold the listing cursor; only open ones do.
        return brickowl.add(bo_order(order_id, ordered=T0 + timedelta(hours=hours), status_id=status_id, **changes))

    add("1", 0)
    add("2", 1, ship_street_1="Hauptstra\x00\x07ße 12\u202e")
    add("3", 2, status_id="2", base_order_total="1e400")  # open, but quarantined: must not hold the cursor
    brickowl.raw_views["3"] = json.dumps(brickowl.orders["3"]).replace('"1e400"', "1e400")
    add("4", 3, order_time="99999999999", iso_order_time="10000-01-01T00:00:00+00:00")
    add("5", 4, ship_country_code="ITA")
    add("6", 5, tax_amount="4.87", tax_rate="20.00")
    add("7", 6, refund_subtotal="-4.50", refund_shipping="0", refund_total="4.50", refund_note="Minifig missing")
    brickowl.items["7"][2]["refunded_quantity"] = "1"
    add("8", 7)
    brickowl.items["8"] = {"a": 1, "b": "two"}  # keyed by id, but the values are no items
    add("9", 8)
    brickowl.failing.add("9")
    add("10", 9)
    brickowl.exploding.add("10")
    add("11", 10)
    brickowl.extra_rows.append({"order_id": {"nested": "object"}, "order_date": "1710408097"})

    with freeze_time("2024-03-20"):
        result = store_import_orders(store_id=bo_store.id)

    assert result.complete
    assert order("1").data_errors == [] and order("11").data_errors == []
    assert order("2").ship_address1 == "Hauptstraße 12" and "ship_street_1 contained control characters" in problems(
        "2"
    )
    assert order("3").quarantined and "base_order_total is not a number" in problems("3")
    assert order("4").quarantined and "order_time is out of range ('99999999999')" in problems("4")
    assert "iso_order_time is not a date ('10000-01-01T00:00:00+00:00')" in problems("4")
    assert "The order date is missing or unreadable (order_time: '99999999999')" in problems("4")
    assert order("5").ship_country == "IT" and not order("5").quarantined
    assert "BrickOwl reports tax of 4.87 EUR (rate 20.00%) on this order" in problems("6")
    refunded = order("7")
    assert refunded.data_errors == [] and not refunded.quarantined
    assert (refunded.refund_subtotal, refunded.refund_total) == (Decimal("4.5000"), Decimal("4.5000"))
    assert refunded.refund_note == "Minifig missing"
    assert [i.refunded_quantity for i in refunded.items.all()] == [0, 0, 1, 0]
    assert refunded.payment_method == "paypal_standard"
    assert order("8").quarantined and "Item 1 is not an object (got a number: 1)" in problems("8")
    assert sorted(result.fetch_failed_ids) == ["10", "9"]
    assert "no readable order id" in " ".join(result.problems)
    # The failing orders hold the cursor (they are listed again); the quarantined ones do not.
    assert fresh(bo_store).import_cursor == {"order_time": int((T0 + timedelta(hours=8)).timestamp())}


def test_brickowl_refund_note_control_characters_are_removed_and_said(bo_store, brickowl):
    brickowl.add(bo_order("7", ordered=T0, status_id="2", refund_total="1.00", refund_note="Lot\x00 gone"))

    with freeze_time("2024-03-20"):
        store_import_orders(store_id=bo_store.id)

    assert order("7").refund_note == "Lot gone"
    assert "refund_note contained control characters" in problems("7")


# -- store-level failures --------------------------------------------------------------------------


def test_an_unreadable_listing_is_a_visible_store_error_retried_and_cleared_when_it_reads_again(bl_store, bricklink):
    bricklink.list_data = {"orders": "not a list"}

    failed = store_import_orders(store_id=bl_store.id)

    assert failed.error_code == "marketplace_bad_data" and failed.retry_in
    store = fresh(bl_store)
    assert store.last_error_code == "marketplace_bad_data" and "is not a list (got dict)" in store.last_error_detail
    assert store.import_lock_until is None
    bricklink.list_data = None
    bricklink.add(bl_order(1001, ordered=T0, status="PAID"))

    worked = store_import_orders(store_id=bl_store.id)

    assert worked.complete and len(worked.created_ids) == 1
    assert fresh(bl_store).last_error_code == ""


def test_an_unexpected_exception_while_listing_is_logged_and_stored_not_raised(bl_store, rsps, settings, caplog):
    def explode(request):
        raise ValueError("boom")

    rsps.add_callback("GET", f"{settings.BRICKLINK_API_URL}/orders", callback=explode)

    with caplog.at_level(logging.ERROR, logger="marketplaces.imports"):
        result = store_import_orders(store_id=bl_store.id)

    assert result.error_code == "marketplace_import_failed" and result.retry_in
    assert "import of store" in caplog.text and "ValueError" in caplog.text
    store = fresh(bl_store)
    assert store.last_error_code == "marketplace_import_failed" and "ValueError" in store.last_error_detail
    assert "boom" not in store.last_error_detail  # exception text may carry URLs or keys: only its type


def test_bad_credentials_need_attention_and_the_store_recovers_by_itself_when_they_work(bl_store, rsps, settings):
    from tests.data.marketplace_payloads import bl_envelope

    refused = rsps.get(
        f"{settings.BRICKLINK_API_URL}/orders",
        json=bl_envelope(None, code=401, message="BAD_OAUTH_REQUEST", description="TOKEN_VALUE_UNKNOWN"),
    )
    store_import_orders(store_id=bl_store.id)
    assert fresh(bl_store).status == StoreConnection.Status.NEEDS_ATTENTION
    rsps.remove(refused)
    FakeBrickLink(rsps).add(bl_order(1001, ordered=T0, status="PAID"))

    result = store_import_orders(store_id=bl_store.id)

    store = fresh(bl_store)
    assert result.complete and store.status == StoreConnection.Status.ACTIVE and store.last_error_code == ""


def test_many_detail_calls_unreachable_in_a_row_stop_the_run_as_a_store_error(bl_store, bricklink):
    for n in range(7):
        bricklink.add(bl_order(3000 + n, ordered=T0 + timedelta(minutes=n), status="PAID"))
        bricklink.failing_details.add(str(3000 + n))

    result = store_import_orders(store_id=bl_store.id)

    assert result.error_code == "marketplace_unreachable" and result.retry_in
    assert len(result.fetch_failed_ids) == 5 and result.pending == 2
    assert fresh(bl_store).last_error_code == "marketplace_unreachable"


# -- the claim and the signal ------------------------------------------------------------------------


def test_every_import_that_runs_announces_itself_after_commit(bl_store, bricklink, django_capture_on_commit_callbacks):
    from marketplaces.signals import store_imported

    heard = []

    def receiver(sender, store_id, result, **kwargs):
        heard.append((store_id, result.complete, list(result.created_ids)))

    bricklink.add(bl_order(1001, ordered=T0, status="PAID"))
    store_imported.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            done = store_import_orders(store_id=bl_store.id)
        StoreConnection.objects.filter(pk=bl_store.pk).update(
            import_lock_until=datetime.now(UTC) + timedelta(minutes=5)
        )
        with django_capture_on_commit_callbacks(execute=True):
            skipped = store_import_orders(store_id=bl_store.id)
    finally:
        store_imported.disconnect(receiver)

    assert heard == [(bl_store.id, True, done.created_ids)]  # not for the import that did not run
    assert skipped.already_running and skipped.error_code == "import_running"


def test_the_claim_is_a_short_lease_renewed_while_the_import_works(bl_store, bricklink):
    seen = []
    for n in range(3):
        bricklink.add(bl_order(1001 + n, ordered=T0 + timedelta(minutes=n), status="PAID"))

    with freeze_time(NOW) as clock:

        def slow_detail(order_id):
            seen.append(fresh(bl_store).import_lock_until)
            clock.tick(timedelta(minutes=3))

        bricklink.on_detail = slow_detail
        result = store_import_orders(store_id=bl_store.id)

    assert result.complete and len(result.created_ids) == 3
    start = datetime(2024, 4, 1, 10, tzinfo=UTC)
    assert seen[0] == start + timedelta(minutes=10)  # a 10-minute lease, not 35
    assert seen[1] > seen[0] and seen[2] > seen[1]  # renewed as the import progresses
    assert fresh(bl_store).import_lock_until is None


def test_an_import_whose_lease_was_taken_over_stops_and_writes_nothing_more(bl_store, bricklink):
    other = datetime(2030, 1, 1, tzinfo=UTC)
    for n in range(3):
        bricklink.add(bl_order(1001 + n, ordered=T0 + timedelta(minutes=n), status="PAID"))

    with freeze_time(NOW) as clock:

        def taken_over(order_id):
            clock.tick(timedelta(minutes=11))  # the lease lapsed, and another import claimed the store
            StoreConnection.objects.filter(pk=bl_store.pk).update(import_lock_until=other)

        bricklink.on_detail = taken_over
        result = store_import_orders(store_id=bl_store.id)

    assert result.error_code == "import_lease_lost" and len(result.created_ids) == 1
    store = fresh(bl_store)
    assert store.import_lock_until == other and store.last_import_at is None


def test_the_time_limit_ends_the_run_and_is_never_taken_for_one_orders_failure(bl_store, bricklink):
    from celery.exceptions import SoftTimeLimitExceeded

    for n in range(3):
        bricklink.add(bl_order(1001 + n, ordered=T0 + timedelta(minutes=n), status="PAID"))

    def time_is_up(order_id):
        if order_id == "1002":
            raise SoftTimeLimitExceeded

    bricklink.on_detail = time_is_up
    result = store_import_orders(store_id=bl_store.id)

    assert result.error_code == "time_limit" and result.fetch_failed_ids == []
    assert list(Order.objects.values_list("marketplace_order_id", flat=True)) == ["1001"]
    store = fresh(bl_store)
    assert store.order_failures == {} and store.import_lock_until is None
