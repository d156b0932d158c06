"""Stores and orders pages: connecting with every error, secrets kept secret, disconnect,
"Import now", the orders list (filters, search, pagination, isolation, constant queries)."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import requests
from django.conf import settings
from django.db import connection
from django.urls import reverse

from accounts.choices import OrderStatus
from accounts.models import User
from marketplaces.models import Order, StoreConnection
from tests.data.marketplace_payloads import (
    BL_CREDENTIALS,
    BO_KEY,
    FakeBrickLink,
    bl_envelope,
    bl_order,
)
from tests.factories import BrickLinkStoreFactory, OrderFactory, StoreConnectionFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_marketplace_backoff")]

BL = settings.BRICKLINK_API_URL
BO = settings.BRICKOWL_API_URL


def raw_credentials(store) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials FROM marketplaces_storeconnection WHERE id = %s", [store.pk])
        return cursor.fetchone()[0]


def post_bricklink(client, **overrides):
    return client.post(reverse("marketplaces:connect_bricklink"), {**BL_CREDENTIALS, **overrides})


# -- connect BrickLink -------------------------------------------------------------------------


def test_connect_bricklink_checks_once_then_saves_encrypted_and_shows_only_a_masked_hint(
    owner_client, tenant, rsps, django_capture_on_commit_callbacks
):
    rsps.get(f"{BL}/settings/shipping_methods", json=bl_envelope([{"method_id": 1, "name": "Posta1"}]))

    with django_capture_on_commit_callbacks() as callbacks:
        response = post_bricklink(owner_client)

    assert response.status_code == 302 and response["Location"] == reverse("marketplaces:stores")
    assert len(rsps.calls) == 1
    store = StoreConnection.objects.get(tenant=tenant)
    assert store.marketplace == "bricklink" and store.status == StoreConnection.Status.ACTIVE
    assert store.get_credentials() == BL_CREDENTIALS
    raw = raw_credentials(store)
    assert all(secret not in raw for secret in BL_CREDENTIALS.values())
    assert store.credentials_hint.endswith(BL_CREDENTIALS["token_value"][-4:])
    assert store.api_calls_today == 1
    assert len(callbacks) == 1  # the first import is queued after commit

    page = owner_client.get(reverse("marketplaces:stores")).content.decode()
    assert store.credentials_hint in page
    assert all(secret not in page for secret in BL_CREDENTIALS.values())


@pytest.mark.parametrize(
    ("reply", "code_text"),
    [
        (
            {"json": bl_envelope(None, code=401, message="BAD_OAUTH_REQUEST", description="SIGNATURE_INVALID")},
            "The store credentials were refused",
        ),
        (
            {
                "json": bl_envelope(
                    None,
                    code=401,
                    message="BAD_OAUTH_REQUEST",
                    description=f"TOKEN_IP_MISMATCHED: consumer: {BL_CREDENTIALS['consumer_key']} IP: 203.0.113.7",
                )
            },
            "bound to a different IP address",
        ),
        ({"status": 429, "body": "Too Many Requests"}, "daily API quota is used up"),
        ({"body": requests.ConnectTimeout("connect timed out")}, "could not be reached"),
        ({"status": 503, "body": "<html>503 Service Temporarily Unavailable</html>"}, "could not be reached"),
    ],
    ids=["bad-credentials-http-200", "ip-mismatch", "quota", "timeout", "unavailable"],
)
def test_connect_bricklink_shows_each_error_with_its_hint_and_saves_nothing(
    owner_client, tenant, rsps, reply, code_text
):
    rsps.get(f"{BL}/settings/shipping_methods", **reply)

    response = post_bricklink(owner_client)

    assert response.status_code == 400
    page = response.content.decode()
    assert code_text in page
    assert "What to do:" in page
    assert not StoreConnection.objects.filter(tenant=tenant).exists()
    # The secrets are never echoed back (the consumer key, an identifier sent in the clear, may be).
    assert all(BL_CREDENTIALS[name] not in page for name in ("consumer_secret", "token_value", "token_secret"))


def test_connect_bricklink_ip_mismatch_page_names_the_ip_bricklink_saw(owner_client, rsps):
    rsps.get(
        f"{BL}/settings/shipping_methods",
        json=bl_envelope(None, code=401, description="TOKEN_IP_MISMATCHED: consumer: X IP: 203.0.113.7"),
    )

    page = post_bricklink(owner_client).content.decode()

    assert "203.0.113.7" in page
    assert "My API Access" in page


def test_connect_form_requires_every_field_and_calls_nobody(owner_client, rsps):
    response = post_bricklink(owner_client, token_secret="")

    assert response.status_code == 200 and "This field is required" in response.content.decode()
    assert len(rsps.calls) == 0


def test_member_cannot_connect_a_store(member_client, rsps):
    assert member_client.get(reverse("marketplaces:connect_bricklink")).status_code == 403
    assert post_bricklink(member_client).status_code == 403
    assert len(rsps.calls) == 0


def test_reconnecting_the_same_bricklink_account_reuses_the_store_and_its_orders(owner_client, tenant, rsps):
    rsps.get(f"{BL}/settings/shipping_methods", json=bl_envelope([]))
    post_bricklink(owner_client)
    store = StoreConnection.objects.get(tenant=tenant)
    OrderFactory(store=store)
    owner_client.post(reverse("marketplaces:store_disconnect", args=[store.public_id]))

    post_bricklink(owner_client, token_value="TVNEWTOKENFORNEWIP0000000000009999", token_secret="TSNEW")

    assert StoreConnection.objects.filter(tenant=tenant).count() == 1
    store.refresh_from_db()
    assert store.status == StoreConnection.Status.ACTIVE
    assert store.get_credentials()["token_value"] == "TVNEWTOKENFORNEWIP0000000000009999"
    assert store.orders.count() == 1


# -- connect BrickOwl --------------------------------------------------------------------------


def test_connect_brickowl_saves_the_key_encrypted_with_store_details(owner_client, tenant, rsps):
    rsps.get(
        f"{BO}/user/details",
        json={
            "username": "mattoncini",
            "uid": "345",
            "has_store": True,
            "store_details": {"store_id": "23456", "name": "Mattoncini Owl", "base_currency": "EUR", "country": "IT"},
        },
    )

    response = owner_client.post(reverse("marketplaces:connect_brickowl"), {"api_key": f"  {BO_KEY} "})

    assert response.status_code == 302
    assert rsps.calls[0].request.params["key"] == BO_KEY
    store = StoreConnection.objects.get(tenant=tenant)
    assert (store.name, store.currency, store.account_ref) == ("Mattoncini Owl", "EUR", "store:23456")
    assert store.get_credentials() == {"api_key": BO_KEY}
    assert BO_KEY not in raw_credentials(store)
    page = owner_client.get(reverse("marketplaces:stores")).content.decode()
    assert BO_KEY not in page and store.credentials_hint in page


@pytest.mark.parametrize(
    ("reply", "text"),
    [
        ({"status": 401, "json": {"error": {"status": "Invalid API Key"}}}, "The store credentials were refused"),
        ({"status": 200, "json": {"error": {"status": "Permission denied for this key"}}}, "credentials were refused"),
        ({"body": requests.ReadTimeout("read timed out")}, "could not be reached"),
        ({"status": 429, "json": {"error": {"status": "Too many"}}}, "quota"),
    ],
    ids=["bad-key", "no-permission", "timeout", "quota"],
)
def test_connect_brickowl_shows_each_error(owner_client, tenant, rsps, reply, text):
    rsps.get(f"{BO}/user/details", **reply)

    response = owner_client.post(reverse("marketplaces:connect_brickowl"), {"api_key": BO_KEY})

    assert response.status_code == 400
    page = response.content.decode()
    assert text in page and BO_KEY not in page
    assert not StoreConnection.objects.filter(tenant=tenant).exists()


# -- stores page, disconnect, import now -------------------------------------------------------


def test_stores_page_explains_the_ip_binding_for_a_store_needing_attention(owner_client, tenant, settings):
    settings.OUTGOING_IPS = ["192.0.2.10"]
    BrickLinkStoreFactory(
        tenant=tenant,
        status=StoreConnection.Status.NEEDS_ATTENTION,
        last_error_code="bricklink_ip_mismatch",
        last_error_message="BrickLink refused the token: it is bound to a different IP address (TOKEN_IP_MISMATCHED).",
        last_error_detail="TOKEN_IP_MISMATCHED. BrickLink saw the request coming from IP 192.0.2.10.",
    )

    page = owner_client.get(reverse("marketplaces:stores")).content.decode()

    assert "Needs attention" in page
    assert "TOKEN_IP_MISMATCHED" in page and "192.0.2.10" in page
    assert "binds every access token to the IP address" in page
    assert "Connect again" in page


def test_stores_page_shows_the_last_import_result(owner_client, tenant):
    BrickLinkStoreFactory(
        tenant=tenant,
        last_import_at=datetime(2024, 4, 1, 10, tzinfo=UTC),
        last_import_result={
            "created_ids": [1, 2, 3],
            "changed_ids": [4],
            "unchanged": 7,
            "flagged_ids": [2],
            "api_calls": 10,
            "stopped_reason": "Stopped at the daily BrickLink call budget. 2 orders are left for tomorrow.",
        },
    )

    page = owner_client.get(reverse("marketplaces:stores")).content.decode()

    assert "3 new, 1 updated, 7 unchanged" in page
    assert "1 with data problems" in page
    assert "2 orders are left for tomorrow" in page


def test_disconnect_asks_for_confirmation_then_blanks_credentials_and_keeps_orders(owner_client, tenant):
    store = BrickLinkStoreFactory(tenant=tenant)
    order = OrderFactory(store=store)
    url = reverse("marketplaces:store_disconnect", args=[store.public_id])

    confirm = owner_client.get(url)
    assert confirm.status_code == 200 and "1 order already" in confirm.content.decode()
    assert StoreConnection.objects.get(pk=store.pk).status == StoreConnection.Status.ACTIVE

    response = owner_client.post(url)

    assert response.status_code == 302
    store.refresh_from_db()
    assert store.status == StoreConnection.Status.DISCONNECTED
    assert store.credentials == "" and store.credentials_hint == "" and raw_credentials(store) == ""
    assert Order.objects.filter(pk=order.pk).exists()


def test_member_cannot_disconnect(member_client, tenant):
    store = BrickLinkStoreFactory(tenant=tenant)

    assert member_client.post(reverse("marketplaces:store_disconnect", args=[store.public_id])).status_code == 403
    assert StoreConnection.objects.get(pk=store.pk).status == StoreConnection.Status.ACTIVE


def test_import_now_queues_the_import_after_commit_and_it_runs(
    member_client, tenant, rsps, django_capture_on_commit_callbacks
):
    store = BrickLinkStoreFactory(tenant=tenant)
    FakeBrickLink(rsps).add(bl_order(1001, ordered=datetime(2024, 3, 14, tzinfo=UTC), status="PAID"))

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = member_client.post(reverse("marketplaces:store_import", args=[store.public_id]))

    # The view queues the import; the import, once done, announces itself (store_imported), and
    # invoicing's receiver then asks the dispatcher for a pass.
    assert response.status_code == 302 and len(callbacks) >= 2
    assert Order.objects.filter(store=store, marketplace_order_id="1001").exists()


def test_import_now_is_post_only(owner_client, tenant):
    store = BrickLinkStoreFactory(tenant=tenant)

    assert owner_client.get(reverse("marketplaces:store_import", args=[store.public_id])).status_code == 405


def test_import_now_refuses_a_disconnected_store(owner_client, tenant, django_capture_on_commit_callbacks):
    store = BrickLinkStoreFactory(tenant=tenant, status=StoreConnection.Status.DISCONNECTED, credentials="")

    with django_capture_on_commit_callbacks() as callbacks:
        response = owner_client.post(reverse("marketplaces:store_import", args=[store.public_id]), follow=True)

    assert callbacks == []
    assert "disconnected" in response.content.decode()


# -- orders page -------------------------------------------------------------------------------


def make_orders(tenant, count, **kwargs):
    store = kwargs.pop("store", None) or BrickLinkStoreFactory(tenant=tenant)
    start = datetime(2024, 3, 1, tzinfo=UTC)
    return [OrderFactory(store=store, ordered_at=start + timedelta(hours=n), **kwargs) for n in range(count)]


def test_orders_page_lists_newest_first_with_the_columns(owner_client, tenant):
    store = BrickLinkStoreFactory(tenant=tenant)
    older = OrderFactory(store=store, marketplace_order_id="111", ordered_at=datetime(2024, 3, 1, tzinfo=UTC))
    newer = OrderFactory(
        store=store,
        marketplace_order_id="222",
        ordered_at=datetime(2024, 3, 2, tzinfo=UTC),
        buyer_username="brickfan_berlin",
        ship_country="GB",
        status=OrderStatus.SHIPPED,
        data_errors=["Unknown shipping country code 'XX'."],
    )

    page = owner_client.get(reverse("marketplaces:orders")).content.decode()

    assert page.index(f"#{newer.marketplace_order_id}") < page.index(f"#{older.marketplace_order_id}")
    assert "brickfan_berlin" in page and "GB" in page and "Shipped" in page
    assert "€29.19" in page
    assert "1 problem" in page
    assert "Invoice" in page


def test_orders_page_never_shows_another_tenants_orders(outsider_client, tenant, other_tenant):
    theirs = make_orders(tenant, 3, buyer_username="secret_buyer")
    own = OrderFactory(store=BrickLinkStoreFactory(tenant=other_tenant), buyer_username="own_buyer")

    page = outsider_client.get(reverse("marketplaces:orders")).content.decode()
    searched = outsider_client.get(reverse("marketplaces:orders"), {"q": "secret_buyer"})

    assert f"#{own.marketplace_order_id}" in page and "secret_buyer" not in page
    assert all(f"#{o.marketplace_order_id}" not in page for o in theirs)
    assert list(searched.context["page"].object_list) == []


def test_orders_page_filters_by_another_tenants_store_show_nothing(outsider_client, tenant, other_tenant):
    foreign_store = BrickLinkStoreFactory(tenant=tenant)
    make_orders(tenant, 2, store=foreign_store, buyer_username="secret_buyer")

    response = outsider_client.get(reverse("marketplaces:orders"), {"store": str(foreign_store.public_id)})

    assert "secret_buyer" not in response.content.decode()
    assert list(response.context["page"].object_list) == []


def test_orders_page_filters_by_store_and_status_and_searches(owner_client, tenant):
    bl_store = BrickLinkStoreFactory(tenant=tenant)
    bo_store = StoreConnectionFactory(tenant=tenant)
    OrderFactory(store=bl_store, marketplace_order_id="5001", buyer_username="alpha_bricks", status=OrderStatus.PAID)
    OrderFactory(store=bl_store, marketplace_order_id="5002", buyer_username="beta_bricks", status=OrderStatus.SHIPPED)
    OrderFactory(store=bo_store, marketplace_order_id="7001", buyer_name="Gianni Rossi", status=OrderStatus.PAID)
    url = reverse("marketplaces:orders")

    def ids(**params):
        page = owner_client.get(url, params).content.decode()
        return {oid for oid in ("5001", "5002", "7001") if f"#{oid}" in page}

    assert ids() == {"5001", "5002", "7001"}
    assert ids(store=str(bl_store.public_id)) == {"5001", "5002"}
    assert ids(status="paid") == {"5001", "7001"}
    assert ids(store=str(bl_store.public_id), status="paid") == {"5001"}
    assert ids(q="beta") == {"5002"}
    assert ids(q="rossi") == {"7001"}
    assert ids(q="7001") == {"7001"}


def test_orders_page_paginates_by_50_keeping_the_filters(owner_client, tenant):
    make_orders(tenant, 120, status=OrderStatus.PAID)

    first = owner_client.get(reverse("marketplaces:orders"), {"status": "paid"})
    third = owner_client.get(reverse("marketplaces:orders"), {"status": "paid", "page": 3})

    assert len(first.context["page"].object_list) == 50
    assert len(third.context["page"].object_list) == 20
    assert "status=paid&amp;page=2" in first.content.decode()
    assert "Page 3 of 3" in third.content.decode()


def _tied_orders(tenant, other_tenant):
    """7 orders of ``tenant`` with ties on ``ordered_at`` (created so that ids do not follow the
    dates), plus another tenant's orders interleaved, which no page may show."""
    store = BrickLinkStoreFactory(tenant=tenant)
    foreign = BrickLinkStoreFactory(tenant=other_tenant)
    day = datetime(2024, 3, 1, tzinfo=UTC)
    for hours in (5, 1, 1, 9, 5, 1, 3):
        OrderFactory(store=store, ordered_at=day + timedelta(hours=hours), buyer_name="Anna Rossi")
        OrderFactory(store=foreign, ordered_at=day + timedelta(hours=hours), buyer_name="Anna Rossi")
    return store


@pytest.mark.parametrize("per_page", [1, 2, 3, 4, 7, 10])
def test_order_page_from_the_end_returns_the_same_rows_in_the_same_order_as_a_plain_page(
    tenant, other_tenant, per_page, django_assert_num_queries
):
    from django.core.paginator import Paginator

    from marketplaces import selectors

    _tied_orders(tenant, other_tenant)
    orders = selectors.order_list(tenant=tenant)
    plain = list(Order.objects.filter(tenant=tenant).order_by("-ordered_at", "-id").values_list("id", flat=True))
    assert len(plain) == 7
    expected_pages = Paginator(plain, per_page)

    for number in [*range(1, expected_pages.num_pages + 1), None, "", "abc", "0", "-1", "99", "2.0"]:
        expected = expected_pages.get_page(number)
        with django_assert_num_queries(3):  # count, ids, rows: the same on either path
            page = selectors.order_page(orders=orders, number=number, per_page=per_page)

        assert [order.id for order in page.object_list] == list(expected.object_list), number
        assert (page.number, page.paginator.count, page.paginator.num_pages) == (
            expected.number,
            7,
            expected_pages.num_pages,
        )
        assert (page.has_next(), page.has_previous(), page.start_index(), page.end_index()) == (
            expected.has_next(),
            expected.has_previous(),
            expected.start_index(),
            expected.end_index(),
        )
        assert len(page) == len(expected)
        assert all(order.store.tenant_id == tenant.pk for order in page.object_list)


def test_order_page_reads_a_late_page_in_reverse_and_an_early_one_forwards(tenant, other_tenant):
    from django.test.utils import CaptureQueriesContext

    from marketplaces import selectors

    _tied_orders(tenant, other_tenant)
    orders = selectors.order_list(tenant=tenant)

    def ids_sql(number):
        with CaptureQueriesContext(connection) as ctx:
            selectors.order_page(orders=orders, number=number, per_page=2)
        return ctx.captured_queries[1]["sql"]

    assert '"ordered_at" DESC' in ids_sql(1) and "OFFSET" not in ids_sql(1)
    assert '"ordered_at" DESC' in ids_sql(2)
    # Pages 3 and 4 of 4 (rows 5-6 and 7): a small OFFSET from the other end.
    assert '"ordered_at" ASC' in ids_sql(3) and "OFFSET 1" in ids_sql(3)
    assert '"ordered_at" ASC' in ids_sql(4) and "OFFSET" not in ids_sql(4)
    # Without a total ordering the reversed read could swap tied rows: it stays forwards.
    by_date_only = Order.objects.filter(tenant=tenant).order_by("-ordered_at")
    with CaptureQueriesContext(connection) as ctx:
        selectors.order_page(orders=by_date_only, number=4, per_page=2)
    assert '"ordered_at" DESC' in ctx.captured_queries[1]["sql"]


def test_order_search_can_use_the_trigram_indexes(tenant, other_tenant):
    """The migration's GIN indexes match the SQL ``icontains`` compiles to (``UPPER(col::text)
    LIKE UPPER('%q%')``), column by column: an index on another expression would be ignored."""
    if connection.vendor != "postgresql":
        pytest.skip("pg_trgm indexes exist on PostgreSQL only")
    _tied_orders(tenant, other_tenant)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a 14-row table: make the planner show its options

    for column, index in [
        ("buyer_username", "order_buyer_username_trgm"),
        ("buyer_name", "order_buyer_name_trgm"),
        ("ship_name", "order_ship_name_trgm"),
    ]:
        plan = Order.objects.filter(**{f"{column}__icontains": "rossi"}).values_list("id").explain()
        assert f"Bitmap Index Scan on {index}" in plan, plan


def test_orders_page_query_count_does_not_grow_with_the_number_of_orders(
    owner_client, tenant, django_assert_max_num_queries
):
    make_orders(tenant, 3)
    with django_assert_max_num_queries(50) as few:
        owner_client.get(reverse("marketplaces:orders"))
    make_orders(tenant, 60)

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = owner_client.get(reverse("marketplaces:orders"))

    assert len(response.context["page"].object_list) == 50


def test_order_detail_shows_items_and_data_errors(owner_client, tenant):
    from tests.factories import OrderItemFactory

    order = OrderFactory(store=BrickLinkStoreFactory(tenant=tenant), data_errors=["The order has no shipping address."])
    OrderItemFactory(order=order, name="Stormtrooper (Dotted Mouth)")

    page = owner_client.get(reverse("marketplaces:order_detail", args=[order.public_id])).content.decode()

    assert "Stormtrooper (Dotted Mouth)" in page
    assert "The order has no shipping address." in page


# -- admin -------------------------------------------------------------------------------------


def test_admin_store_page_never_shows_credentials(client, tenant):
    admin = User.objects.create_superuser(email="admin@example.com", password="x")
    client.force_login(admin)
    store = BrickLinkStoreFactory(tenant=tenant)

    page = client.get(reverse("admin:marketplaces_storeconnection_change", args=[store.pk])).content.decode()
    order_page = client.get(
        reverse("admin:marketplaces_order_change", args=[OrderFactory(store=store).pk])
    ).content.decode()

    assert all(secret not in page for secret in BL_CREDENTIALS.values())
    assert store.credentials_hint in page
    assert all(secret not in order_page for secret in BL_CREDENTIALS.values())


def test_store_list_json_result_is_serialisable(tenant):
    # last_import_result is written with ImportResult.as_dict(): plain JSON only.
    from marketplaces.services import ImportResult

    assert json.loads(json.dumps(ImportResult(store_id=1, created_ids=[1]).as_dict()))["created_ids"] == [1]
