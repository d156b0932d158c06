"""The fake BrickLink over real HTTP: OAuth 1.0a signatures checked with oauthlib, the envelope
with auth failures as HTTP 200 + meta.code 401, IP-bound tokens, listing filters, docs-shaped
payloads and the daily quota."""

from datetime import date

import pytest
import requests
from requests_oauthlib import OAuth1

from sandbox.demo import BRICKLINK_CREDENTIALS, BRICKLINK_IP_BOUND_TOKEN, demo_stores_load

pytestmark = pytest.mark.urls("sandbox.test_urls")


@pytest.fixture
def bl(live_server):
    demo_stores_load(today=date(2025, 3, 10))
    return f"{live_server.url}/sandbox/bricklink"


def signed(consumer_secret=None, token=None, token_secret=None) -> OAuth1:
    c = BRICKLINK_CREDENTIALS
    return OAuth1(
        c["consumer_key"],
        client_secret=consumer_secret or c["consumer_secret"],
        resource_owner_key=token or c["token_value"],
        resource_owner_secret=token_secret or c["token_secret"],
    )


def get(url, auth=None, **params):
    return requests.get(url, params=params, auth=auth or signed(), timeout=10)


def test_correctly_signed_request_lists_received_unfiled_orders(bl):
    response = get(f"{bl}/orders", direction="in", filed="false")

    body = response.json()
    assert response.status_code == 200
    assert body["meta"] == {"description": "OK", "message": "OK", "code": 200}
    ids = {row["order_id"] for row in body["data"]}
    assert 24680135 in ids
    assert 24680149 not in ids  # the filed order is hidden by default
    row = next(r for r in body["data"] if r["order_id"] == 24680135)
    assert row["cost"]["grand_total"] == "29.1900"
    assert "buyer_email" not in row and "shipping" not in row  # detail-only fields


def test_wrong_consumer_secret_is_refused_with_http_200_and_meta_code_401(bl):
    response = get(f"{bl}/orders", auth=signed(consumer_secret="not-the-secret"))

    body = response.json()
    assert response.status_code == 200
    assert body["meta"]["code"] == 401
    assert body["meta"]["message"] == "BAD_OAUTH_REQUEST"
    assert body["meta"]["description"].startswith("SIGNATURE_INVALID")
    assert "data" not in body


def test_query_parameters_are_part_of_the_signature(bl):
    auth = signed()
    prepared = requests.Request("GET", f"{bl}/orders", params={"filed": "false"}, auth=auth).prepare()
    tampered = prepared.url.replace("filed=false", "filed=true")

    response = requests.get(tampered, headers={"Authorization": prepared.headers["Authorization"]}, timeout=10)

    assert response.json()["meta"]["code"] == 401


def test_unknown_consumer_key_and_token(bl):
    bad_key = OAuth1("UNKNOWNKEY", "x", BRICKLINK_CREDENTIALS["token_value"], "y")
    assert get(f"{bl}/orders", auth=bad_key).json()["meta"]["description"] == "CONSUMER_KEY_UNKNOWN"
    bad_token = signed(token="NOPE", token_secret="NOPE")
    assert get(f"{bl}/orders", auth=bad_token).json()["meta"]["description"].startswith("TOKEN_VALUE_UNKNOWN")


def test_token_bound_to_another_ip_answers_token_ip_mismatched(bl):
    auth = signed(token=BRICKLINK_IP_BOUND_TOKEN["value"], token_secret=BRICKLINK_IP_BOUND_TOKEN["secret"])

    meta = get(f"{bl}/orders", auth=auth).json()["meta"]

    assert meta["code"] == 401
    assert meta["description"] == (
        f"TOKEN_IP_MISMATCHED: consumer: {BRICKLINK_CREDENTIALS['consumer_key']} IP: 127.0.0.1"
    )


def test_replayed_nonce_is_refused(bl):
    prepared = requests.Request("GET", f"{bl}/orders", auth=signed()).prepare()
    first = requests.get(prepared.url, headers=dict(prepared.headers), timeout=10).json()
    again = requests.get(prepared.url, headers=dict(prepared.headers), timeout=10).json()

    assert first["meta"]["code"] == 200
    assert again["meta"] == {"description": "NONCE_USED", "message": "BAD_OAUTH_REQUEST", "code": 401}


def test_filed_true_lists_only_filed_orders(bl):
    rows = get(f"{bl}/orders", filed="true").json()["data"]

    assert [r["order_id"] for r in rows] == [24680149]
    assert rows[0]["is_filed"] is True


def test_status_include_and_exclude_lists(bl):
    included = get(f"{bl}/orders", status="paid,cancelled").json()["data"]
    excluded = get(f"{bl}/orders", status="-cancelled,-pending,-shipped").json()["data"]

    assert {r["status"] for r in included} == {"PAID", "CANCELLED"}
    assert {"CANCELLED", "PENDING", "SHIPPED"}.isdisjoint({r["status"] for r in excluded})
    assert "COMPLETED" in {r["status"] for r in excluded}


def test_direction_out_lists_nothing_for_a_seller_store(bl):
    assert get(f"{bl}/orders", direction="out").json()["data"] == []


def test_order_detail_matches_the_reference_payload(bl):
    order = get(f"{bl}/orders/24680135").json()["data"]

    assert order["order_id"] == 24680135
    assert order["buyer_name"] == "brickfan_berlin"
    assert order["shipping"]["address"]["country_code"] == "DE"
    assert {k: order["cost"][k] for k in ("subtotal", "shipping", "grand_total", "vat_rate", "vat_amount")} == {
        "subtotal": "22.2900",
        "shipping": "6.9000",
        "grand_total": "29.1900",
        "vat_rate": "22.00",
        "vat_amount": "5.2638",
    }
    assert order["date_ordered"].endswith("Z") and len(order["date_ordered"]) == 24


def test_items_are_batches_with_html_entities_and_4_decimal_money(bl):
    batches = get(f"{bl}/orders/24680135/items").json()["data"]

    assert [len(batch) for batch in batches] == [3, 1]
    names = [item["item"]["name"] for batch in batches for item in batch]
    assert "Stormtrooper &#40;Dotted Mouth&#41;" in names
    assert "Halloween Cat &amp; Mouse" in names
    plate = batches[0][1]
    assert (plate["unit_price"], plate["unit_price_final"], plate["new_or_used"]) == ("0.0400", "0.0360", "U")


def test_uk_buyer_has_country_code_uk_and_vat_collected_by_bricklink(bl):
    order = get(f"{bl}/orders/24680141").json()["data"]

    assert order["shipping"]["address"]["country_code"] == "UK"
    assert order["vat_collected_by_bl"] is True
    assert order["cost"]["vat"] != "0.0000"


def test_us_buyer_has_sales_tax_collected_by_bricklink_outside_final_total(bl):
    cost_and_flag = get(f"{bl}/orders/24680142").json()["data"]
    cost = cost_and_flag["cost"]

    assert cost_and_flag["salesTax_collected_by_bl"] is True
    assert float(cost["grand_total"]) - float(cost["salesTax"]) == pytest.approx(float(cost["final_total"]))


def test_unknown_order_answers_404_in_the_envelope(bl):
    response = get(f"{bl}/orders/1")

    assert response.status_code == 404
    assert response.json()["meta"]["code"] == 404


def test_daily_quota_exceeded_answers_429_with_retry_after(bl, settings):
    settings.SANDBOX_BRICKLINK_DAILY_LIMIT = 2
    assert get(f"{bl}/orders").json()["meta"]["code"] == 200
    assert get(f"{bl}/settings/shipping_methods").json()["meta"]["code"] == 200

    response = get(f"{bl}/orders")

    assert response.status_code == 429
    assert response.json()["meta"]["code"] == 429
    assert 0 < int(response.headers["Retry-After"]) <= 86401
