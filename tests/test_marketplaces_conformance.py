"""Conformance of the marketplace clients with the official API descriptions (docs/providers/).

Payloads here are shaped per docs/providers/bricklink.md (§3, §6, §9, §11) and docs/providers/brickowl.md
(§2, §3.1, §5, §8),
not per our sandbox, so they exercise what an independent implementation may send.
"""

import base64
import copy
import hashlib
import hmac
import json
from decimal import Decimal
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import pytest
import responses
from django.conf import settings

from marketplaces.bricklink.client import BrickLinkClient, BrickLinkCredentials
from marketplaces.bricklink.normalise import normalise_order as bricklink_order
from marketplaces.bricklink.normalise import normalise_status as bricklink_status
from marketplaces.brickowl.client import BrickOwlClient
from marketplaces.brickowl.normalise import normalise_order as brickowl_order
from marketplaces.errors import BadCredentials, MarketplaceError, NotFound
from marketplaces.models import Order
from marketplaces.services import store_import_orders
from marketplaces.sources import BrickLinkSource, BrickOwlSource
from tests.factories import BrickLinkStoreFactory, StoreConnectionFactory

pytestmark = pytest.mark.usefixtures("no_marketplace_backoff")

BL = settings.BRICKLINK_API_URL
BO = settings.BRICKOWL_API_URL
BO_KEY = "bo-conformance-key-0123456789"
CREDENTIALS = {
    "consumer_key": "CK7F3A9B2C4D5E6F70812",
    "consumer_secret": "CS91AB0C2D3E4F5061728394A5B6C7D8",
    "token_value": "TV5566AA7788BB99CC00DD11EE22FF33",
    "token_secret": "TS77CD8899AABBCCDDEEFF001122334455",
}

# docs/providers/bricklink.md §11, GET /orders/24680135 (data).
BL_ORDER = {
    "order_id": 24680135,
    "date_ordered": "2024-03-14T09:21:37.153Z",
    "date_status_changed": "2024-03-16T15:02:11.870Z",
    "seller_name": "mattoncini_roma",
    "store_name": "Mattoncini di Roma",
    "buyer_name": "brickfan_berlin",
    "buyer_email": "anna.mueller@example.de",
    "status": "SHIPPED",
    "is_filed": False,
    "salesTax_collected_by_bl": False,
    "vat_collected_by_bl": False,
    "payment": {
        "method": "PayPal (Onsite)",
        "currency_code": "EUR",
        "date_paid": "2024-03-14T09:24:05.000Z",
        "status": "Received",
    },
    "shipping": {
        "method_id": 48213,
        "method": "Poste Italiane Posta1 Pro (tracked)",
        "address": {
            "name": {"full": "Anna Müller", "first": "Anna", "last": "Müller"},
            "full": "Hauptstraße 12\n10115 Berlin\nGermany",
            "address1": "Hauptstraße 12",
            "address2": "",
            "country_code": "DE",
            "city": "Berlin",
            "state": "",
            "postal_code": "10115",
        },
    },
    "cost": {
        "currency_code": "EUR",
        "subtotal": "22.2900",
        "grand_total": "29.1900",
        "final_total": "29.1900",
        "salesTax": "0.0000",
        "vat": "0.0000",
        "etc1": "0.0000",
        "etc2": "0.0000",
        "insurance": "0.0000",
        "shipping": "6.9000",
        "credit": "0.0000",
        "coupon": "0.0000",
        "vat_rate": "22.00",
        "vat_amount": "5.2638",
    },
}


def _bl_item(inventory_id, no, name, quantity, price):
    return {
        "inventory_id": inventory_id,
        "item": {"no": no, "name": name, "type": "PART", "category_id": 5},
        "color_id": 5,
        "color_name": "Red",
        "quantity": quantity,
        "new_or_used": "N",
        "unit_price": price,
        "unit_price_final": price,
        "currency_code": "EUR",
    }


# Two batches adding up to cost.subtotal 22.29 (docs/providers/bricklink.md §11 basket, simplified).
BL_BATCHES = [
    [_bl_item(387654321, "3001", "Brick 2 x 4", 20, "0.1500"), _bl_item(387654322, "3023", "Plate", 50, "0.0360")],
    [_bl_item(387699001, "40570-1", "Halloween Cat &amp; Mouse", 1, "17.4900")],
]


def bl_order(**changes):
    order = copy.deepcopy(BL_ORDER)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(order.get(key), dict):
            order[key].update(value)
        else:
            order[key] = value
    return order


def bl_envelope(data, code=200, message="OK", description="OK"):
    return {"meta": {"description": description, "message": message, "code": code}, "data": data}


# docs/providers/brickowl.md §8, order/view (the fields the import reads, as strings and nulls).
BO_ORDER = {
    "order_id": "7654321",
    "order_time": "1710408097",
    "processed_time": None,
    "iso_order_time": "2024-03-14T09:21:37+00:00",
    "iso_processed_time": "1970-01-01T01:00:00+01:00",
    "store_id": "23456",
    "status": "Shipped",
    "status_id": "5",
    "ship_total": "6.90",
    "base_currency": "EUR",
    "payment_currency": "EUR",
    "payment_total": "29.19",
    "base_order_total": "29.19",
    "sub_total": "22.29",
    "coupon_discount": "0.00",
    "tax_rate": "0.00",
    "tax_amount": "0.00",
    "tax_scheme_id": None,
    "buyer_name": "Anna Müller",
    "refund_total": "0.00",
    "brickowl_fee": 0.55725,
    "customer_email": "anna.mueller@example.de",
    "customer_username": "brickfan_berlin",
    "ship_first_name": "Anna",
    "ship_last_name": "Müller",
    "ship_country_code": "DE",
    "ship_post_code": "10115",
    "ship_street_1": "Hauptstraße 12",
    "ship_street_2": "",
    "ship_city": "Berlin",
    "ship_region": "",
}
BO_ITEMS = [
    {
        "order_item_id": "55512345",
        "lot_id": "31234567",
        "boid": "771344-6",
        "name": "LEGO Red Brick 2 x 4 (3001)",
        "type": "Part",
        "color_id": None,
        "color_name": None,
        "full_con": "new",
        "ordered_quantity": "1",
        "base_price": "22.290",
    }
]


def bo_list_row(order_id, order_date, status_id="5"):
    return {
        "order_id": str(order_id),
        "order_date": str(order_date),
        "total_quantity": "1",
        "total_lots": "1",
        "base_order_total": "29.19",
        "status": "Shipped",
        "status_id": status_id,
    }


def bl_client():
    return BrickLinkClient(BrickLinkCredentials.from_dict(CREDENTIALS))


def _pct(value: str) -> str:
    """RFC 3986 percent-encoding, as OAuth 1.0a requires (unreserved characters kept)."""
    return quote(value, safe="-._~")


# -- BrickLink transport -------------------------------------------------------------------------


def test_bricklink_authorization_header_has_empty_realm_and_a_signature_over_the_sent_query(rsps):
    """docs/providers/bricklink.md §2: ``OAuth realm="", ...``; the base string covers every query parameter sent."""
    rsps.get(f"{BL}/orders", json=bl_envelope([]))

    bl_client().list_orders(filed=False, status="-purged,-cancelled")

    request = rsps.calls[0].request
    header = request.headers["Authorization"]
    header = header.decode() if isinstance(header, bytes) else header
    assert header.startswith('OAuth realm="", ')
    oauth = {}
    for part in header[len("OAuth ") :].split(", "):
        name, _, value = part.partition("=")
        oauth[name] = value.strip('"')
    # Recompute the signature independently of oauthlib (docs/providers/bricklink.md §2).
    sent = urlsplit(request.url)
    params = parse_qsl(sent.query, keep_blank_values=True)
    params += [(k, unquote(v)) for k, v in oauth.items() if k not in ("realm", "oauth_signature")]
    normalized = "&".join(sorted(f"{_pct(k)}={_pct(v)}" for k, v in params))
    base_url = f"{sent.scheme}://{sent.netloc}{sent.path}"
    base_string = "&".join(["GET", _pct(base_url), _pct(normalized)])
    key = f"{_pct(CREDENTIALS['consumer_secret'])}&{_pct(CREDENTIALS['token_secret'])}"
    expected = base64.b64encode(hmac.new(key.encode(), base_string.encode(), hashlib.sha1).digest()).decode()
    assert unquote(oauth["oauth_signature"]) == expected
    assert dict(parse_qsl(sent.query)) == {"direction": "in", "filed": "false", "status": "-purged,-cancelled"}
    assert oauth["oauth_signature_method"] == "HMAC-SHA1" and oauth["oauth_version"] == "1.0"


def test_bricklink_plain_html_401_from_a_gateway_is_bad_credentials_and_not_retried(rsps):
    rsps.get(f"{BL}/orders/1", status=401, body="<html><body>401 Authorization Required</body></html>")
    client = bl_client()

    with pytest.raises(BadCredentials) as caught:
        client.get_order("1")

    assert not caught.value.transient
    assert client.calls == 1  # a credentials problem is not retried like an outage


def test_bricklink_plain_html_404_is_not_found_so_the_import_skips_the_order(rsps):
    rsps.get(f"{BL}/orders/2", status=404, body="Not Found", content_type="text/plain")

    with pytest.raises(NotFound):
        bl_client().get_order("2")


# -- BrickLink normalising -----------------------------------------------------------------------


def test_bricklink_reference_order_imports_with_the_invoice_total_paid_to_the_seller():
    result = bricklink_order(bl_order(), BL_BATCHES)

    assert result.data_errors == []
    assert result.marketplace_order_id == "24680135"
    assert result.amount_paid_to_seller == Decimal("29.1900") == result.grand_total
    assert [item.batch for item in result.items] == [1, 1, 2]
    assert result.items[2].name == "Halloween Cat & Mouse"


def test_bricklink_sales_tax_collected_without_an_amount_field_is_taken_from_final_total():
    """docs/providers/bricklink.md §6, §9 (a): ``cost.salesTax_collected_by_BL`` is usually absent; ``final_total`` is
    ``grand_total`` minus the tax BrickLink kept, which is not the seller's money."""
    cost = dict(BL_ORDER["cost"], grand_total="31.5300", final_total="29.1900")
    del cost["salesTax"]
    order = bl_order(salesTax_collected_by_bl=True, cost=cost)
    order["cost"] = cost

    result = bricklink_order(order, BL_BATCHES)

    assert result.marketplace_tax == Decimal("2.3400")
    assert result.amount_paid_to_seller == Decimal("29.1900")
    assert result.grand_total == Decimal("31.5300")
    assert result.data_errors == []


def test_bricklink_sales_tax_flag_without_any_amount_is_flagged_not_silently_invoiced():
    cost = dict(BL_ORDER["cost"], grand_total="31.5300")
    del cost["salesTax"], cost["final_total"]
    order = bl_order(salesTax_collected_by_bl=True)
    order["cost"] = cost

    result = bricklink_order(order, BL_BATCHES)

    assert any("sales tax" in error for error in result.data_errors)


def test_bricklink_collected_by_bl_flags_sent_as_strings_false_are_false():
    order = bl_order(vat_collected_by_bl="false", salesTax_collected_by_bl="false", cost={"vat": "1.0000"})

    result = bricklink_order(order, BL_BATCHES)

    assert result.marketplace_tax == Decimal("0")
    assert result.amount_paid_to_seller == Decimal("29.1900")
    assert result.data_errors == []


def test_bricklink_null_ids_are_empty_not_the_string_none():
    batches = copy.deepcopy(BL_BATCHES)
    batches[0][0]["inventory_id"] = None

    result = bricklink_order(bl_order(order_id=None), batches)

    assert result.marketplace_order_id == ""
    assert result.items[0].lot_id == ""


def test_bricklink_free_text_address_with_cr_separators_and_a_plain_string_name():
    address = {"name": "Anna Müller", "full": "Hauptstraße 12\r10115 Berlin\rGermany", "country_code": "DE"}
    order = bl_order(shipping={"address": address}, payment="Received")

    result = bricklink_order(order, BL_BATCHES)

    assert result.ship_name == "Anna Müller"
    assert (result.ship_address1, result.ship_postal_code, result.ship_city) == ("Hauptstraße 12", "10115", "Berlin")
    assert result.ship_address2 == ""


def test_bricklink_free_text_address_starting_with_the_recipient_name_skips_that_line():
    full = "Anna Müller\r\nHauptstraße 12\r\n10115 Berlin\r\nGermany"
    address = {"name": {"full": "Anna Müller"}, "full": full, "address1": "", "country_code": "DE"}

    result = bricklink_order(bl_order(shipping={"address": address}), BL_BATCHES)

    assert (result.ship_address1, result.ship_postal_code, result.ship_city) == ("Hauptstraße 12", "10115", "Berlin")


def test_bricklink_item_and_nested_objects_of_an_unexpected_type_do_not_crash_the_import():
    batches = copy.deepcopy(BL_BATCHES)
    batches[0][0]["item"] = "3001"

    result = bricklink_order(bl_order(cost=None, shipping=None), batches)

    assert result.items[0].item_no == ""
    assert any("no shipping address" in error for error in result.data_errors)
    assert bricklink_status("PENDING", "Received") == ("pending", None)


# -- BrickLink listing ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_bricklink_list_rows_with_a_null_order_id_are_skipped(rsps, tenant):
    row = {"order_id": None, "date_ordered": "2024-03-14T09:21:37.153Z", "status": "PAID"}
    good = {"order_id": 24680135, "date_ordered": "2024-03-14T09:21:37.153Z", "status": "PAID"}
    rsps.get(f"{BL}/orders", json=bl_envelope([row, good]))

    listed = BrickLinkSource(BrickLinkStoreFactory(tenant=tenant)).list_orders(cursor={}, since=None)

    assert [o.order_id for o in listed] == ["24680135"]


# -- BrickOwl transport ------------------------------------------------------------------------------


def test_brickowl_order_not_found_error_object_on_http_200_is_not_found(rsps):
    rsps.get(f"{BO}/order/view", status=200, json={"error": {"status": "Order not found"}})

    with pytest.raises(NotFound):
        BrickOwlClient(BO_KEY).order_view("999")


def test_brickowl_store_not_found_list_type_error_is_a_setup_error_not_a_missing_order(rsps):
    rsps.get(
        f"{BO}/order/list",
        status=200,
        json={"error": {"status": "Store not found, you may need to set list_type=customer"}},
    )

    with pytest.raises(MarketplaceError) as caught:
        BrickOwlClient(BO_KEY).list_orders()

    assert not isinstance(caught.value, NotFound)


def test_brickowl_server_that_caps_pages_at_the_default_500_is_still_read_to_the_end(rsps):
    """docs/providers/brickowl.md §3.1: default limit 500; a server ignoring ``limit`` must not hide orders."""
    rows = [bo_list_row(7000000 + n, 1710000000 + n) for n in range(1200)]

    def capped(request):
        since = int(dict(parse_qsl(urlsplit(request.url).query))["order_time"])
        return 200, {}, json.dumps([r for r in rows if int(r["order_date"]) >= since][:500])

    rsps.add_callback(responses.GET, f"{BO}/order/list", callback=capped)
    client = BrickOwlClient(BO_KEY)

    listed = client.list_orders_since(0)

    assert len({r["order_id"] for r in listed}) == 1200
    assert client.calls <= 4


def test_brickowl_short_list_is_one_call(rsps):
    rsps.get(f"{BO}/order/list", json=[bo_list_row(1, 1710408097), bo_list_row(2, 1710408099)])
    client = BrickOwlClient(BO_KEY)

    assert len(client.list_orders_since(0)) == 2
    assert client.calls == 1


# -- BrickOwl normalising and listing ---------------------------------------------------------------


def test_brickowl_reference_order_with_null_ids_and_1970_sentinel_imports_cleanly():
    result = brickowl_order(dict(BO_ORDER, order_id=None), BO_ITEMS)

    assert result.marketplace_order_id == ""
    assert result.amount_paid_to_seller == Decimal("29.1900")
    assert result.items[0].color == ""
    assert result.data_errors == []


@pytest.mark.django_db
def test_brickowl_list_row_with_order_time_instead_of_order_date_keeps_its_date(rsps, tenant):
    row = {"order_id": "7654321", "order_time": "1710408097", "status": "Shipped", "status_id": "5"}
    rsps.get(f"{BO}/order/list", json=[row, {"order_id": None, "order_date": "1710408097", "status_id": "5"}])
    store = StoreConnectionFactory(tenant=tenant, credentials=f'{{"api_key": "{BO_KEY}"}}')

    listed = BrickOwlSource(store).list_orders(cursor={}, since=None)

    assert [o.order_id for o in listed] == ["7654321"]
    assert listed[0].ordered_at.isoformat() == "2024-03-14T09:21:37+00:00"


@pytest.mark.django_db
def test_brickowl_import_skips_an_order_reported_not_found_and_imports_the_rest(rsps, tenant):
    store = StoreConnectionFactory(tenant=tenant, credentials=f'{{"api_key": "{BO_KEY}"}}')
    rsps.get(f"{BO}/order/list", json=[bo_list_row(111, 1710408000), bo_list_row(7654321, 1710408097)])

    def view(request):
        order_id = dict(parse_qsl(urlsplit(request.url).query))["order_id"]
        if order_id == "111":
            return 200, {}, json.dumps({"error": {"status": "Order not found"}})
        return 200, {}, json.dumps(BO_ORDER)

    rsps.add_callback(responses.GET, f"{BO}/order/view", callback=view)
    rsps.get(f"{BO}/order/items", json=BO_ITEMS)

    result = store_import_orders(store_id=store.id)

    assert result.complete, result.stopped_reason
    assert result.failed_order_ids == ["111"]
    assert list(Order.objects.filter(store=store).values_list("marketplace_order_id", flat=True)) == ["7654321"]


def test_brickowl_calls_are_paced_under_600_a_minute(settings):
    import time

    import responses as rsps_lib

    from marketplaces.brickowl.client import BrickOwlClient

    settings.BRICKOWL_MIN_CALL_INTERVAL = 0.1
    client = BrickOwlClient("paced-key")
    with rsps_lib.RequestsMock() as rsps:
        rsps.add(rsps_lib.GET, f"{settings.BRICKOWL_API_URL}/order/view", json={"order_id": "1"})
        started = time.monotonic()
        for _ in range(4):
            client.order_view("1")
        elapsed = time.monotonic() - started
    assert elapsed >= 0.3  # three gaps of at least 0.1 s: at most 600 calls a minute
