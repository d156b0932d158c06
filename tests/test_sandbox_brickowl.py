"""The fake BrickOwl: key authentication, bare JSON with string values, 1970 for unset dates,
and the order/list arguments (order_time, limit cap, status, sort)."""

from datetime import date

import pytest

from sandbox.demo import BRICKOWL_API_KEY, demo_stores_load

pytestmark = pytest.mark.urls("sandbox.test_urls")
BASE = "/sandbox/brickowl"


@pytest.fixture
def bo(db, client):
    demo_stores_load(today=date(2025, 3, 10))

    def get(path, **params):
        return client.get(f"{BASE}/{path}", {"key": BRICKOWL_API_KEY, **params})

    return get


def _all_leaves(value):
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from ((f"{key}.{k}", v) for k, v in _all_leaves(inner))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from ((f"{index}.{k}", v) for k, v in _all_leaves(inner))
    else:
        yield "", value


def test_bad_or_missing_key_answers_the_error_object(db, client):
    demo_stores_load(today=date(2025, 3, 10))
    for params in ({"key": "wrong"}, {}):
        response = client.get(f"{BASE}/order/list", params)
        assert response.status_code == 401
        assert response.json() == {"error": {"status": "Invalid API Key"}}


def test_order_view_values_are_strings_except_the_fees(bo):
    order = bo("order/view", order_id="7654321").json()

    non_strings = {k.strip("."): v for k, v in _all_leaves(order) if v is not None and not isinstance(v, str)}
    assert set(non_strings) == {"brickowl_fee", "affiliate_fee"}
    assert order["sub_total"] == "22.29"
    assert order["base_order_total"] == "29.19"
    assert order["status"] == "Shipped" and order["status_id"] == "5"
    assert order["buyer_name"] == "Anna Müller" and order["customer_username"] == "brickfan_berlin"


def test_unset_processed_time_is_null_with_1970_iso_in_london_time(bo):
    order = bo("order/view", order_id="7654322").json()  # Payment Received: not processed yet

    assert order["processed_time"] is None
    assert order["iso_processed_time"] == "1970-01-01T01:00:00+01:00"
    assert order["iso_order_time"].endswith(("+00:00", "+01:00"))


def test_order_items_are_a_bare_array_of_string_values(bo):
    items = bo("order/items", order_id="7654321").json()

    assert isinstance(items, list) and len(items) == 4
    assert all(isinstance(item["ordered_quantity"], str) for item in items)
    assert [i["base_price"] for i in items] == ["0.150", "0.036", "4.500", "12.990"]


def test_order_list_rows_are_strings_oldest_first(bo):
    rows = bo("order/list").json()

    assert rows and all(isinstance(v, str) for row in rows for v in row.values())
    times = [int(row["order_date"]) for row in rows]
    assert times == sorted(times)
    assert {"order_id", "order_date", "total_quantity", "total_lots", "base_order_total", "status", "status_id"} <= set(
        rows[0]
    )


def test_order_list_filters_by_order_time_status_and_limit(bo):
    rows = bo("order/list").json()
    middle = int(rows[len(rows) // 2]["order_date"])

    after = bo("order/list", order_time=str(middle)).json()
    cancelled = bo("order/list", status="Cancelled").json()
    by_id = bo("order/list", status="8").json()
    two = bo("order/list", limit="2").json()

    assert after and all(int(r["order_date"]) >= middle for r in after)
    assert len(after) < len(rows)
    assert [r["order_id"] for r in cancelled] == ["7654328"] == [r["order_id"] for r in by_id]
    assert len(two) == 2 and two == rows[:2]


def test_order_list_limit_is_capped_at_5000(bo):
    assert len(bo("order/list", limit="999999").json()) == len(bo("order/list", limit="5000").json())


def test_unknown_order_is_an_error_object(bo):
    response = bo("order/view", order_id="1")

    assert response.status_code == 404
    assert "error" in response.json()


def test_user_details_describe_the_store(bo):
    details = bo("user/details").json()

    assert details["store_details"]["base_currency"] == "EUR"


def test_rate_limit_per_minute_answers_429(bo, settings):
    settings.SANDBOX_BRICKOWL_MINUTE_LIMIT = 1
    assert bo("order/list").status_code == 200

    response = bo("order/list")

    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
