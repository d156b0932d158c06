"""BrickLink and BrickOwl clients at the HTTP boundary: signing, envelopes, errors, paging, retries."""

import json
import logging
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from django.conf import settings
from oauthlib.common import Request as OAuthRequest
from oauthlib.oauth1.rfc5849 import signature, utils
from responses import matchers

from marketplaces.bricklink.client import BrickLinkClient, BrickLinkCredentials
from marketplaces.brickowl.client import BrickOwlClient
from marketplaces.errors import BadCredentials, IpMismatch, MarketplaceError, NotFound, QuotaExceeded, Unreachable
from tests.data.marketplace_payloads import (
    BL_CREDENTIALS,
    BO_KEY,
    bl_batches,
    bl_envelope,
    bl_order,
    bl_summary,
    bo_order,
)

pytestmark = pytest.mark.usefixtures("no_marketplace_backoff")


def bl_client():
    return BrickLinkClient(BrickLinkCredentials.from_dict(BL_CREDENTIALS))


BL = settings.BRICKLINK_API_URL
BO = settings.BRICKOWL_API_URL


def _header(request, name):
    value = request.headers[name]
    return value.decode() if isinstance(value, bytes) else value


def oauth_signature_is_valid(request, *, consumer_secret, token_secret) -> bool:
    """Verify the request with oauthlib's server-side HMAC-SHA1 check, as BrickLink would."""
    authorization = _header(request, "Authorization")
    sources = {"uri_query": urlsplit(request.url).query, "headers": {"Authorization": authorization}}
    server_request = OAuthRequest(request.url, request.method, headers={"Authorization": authorization})
    # As oauthlib's own endpoints do: every parameter but the signature goes into the base string.
    server_request.params = signature.collect_parameters(**sources, exclude_oauth_signature=True)
    server_request.signature = dict(signature.collect_parameters(**sources, exclude_oauth_signature=False))[
        "oauth_signature"
    ]
    return signature.verify_hmac_sha1(server_request, consumer_secret, token_secret)


# -- BrickLink ---------------------------------------------------------------------------------


def test_bricklink_request_carries_a_valid_hmac_sha1_signature_in_the_authorization_header(rsps):
    rsps.get(f"{BL}/orders", json=bl_envelope([]))

    bl_client().list_orders(filed=True, status="-purged")

    request = rsps.calls[0].request
    authorization = _header(request, "Authorization")
    assert authorization.startswith("OAuth ")
    oauth = dict(utils.parse_authorization_header(authorization))
    assert oauth["oauth_signature_method"] == "HMAC-SHA1"
    assert oauth["oauth_consumer_key"] == BL_CREDENTIALS["consumer_key"]
    assert oauth["oauth_token"] == BL_CREDENTIALS["token_value"]
    assert parse_qs(urlsplit(request.url).query) == {"direction": ["in"], "filed": ["true"], "status": ["-purged"]}
    # The secrets themselves never travel; the signature over the sent query proves them.
    assert BL_CREDENTIALS["consumer_secret"] not in authorization
    assert BL_CREDENTIALS["token_secret"] not in authorization
    assert oauth_signature_is_valid(
        request, consumer_secret=BL_CREDENTIALS["consumer_secret"], token_secret=BL_CREDENTIALS["token_secret"]
    )
    assert not oauth_signature_is_valid(
        request, consumer_secret=BL_CREDENTIALS["consumer_secret"], token_secret="some-other-secret"
    )


def test_bricklink_lists_unfiled_and_filed_orders_and_merges_them(rsps):
    unfiled, filed = bl_summary(bl_order(1001)), bl_summary(bl_order(1002))
    rsps.get(
        f"{BL}/orders",
        match=[matchers.query_param_matcher({"direction": "in", "filed": "false", "status": "-purged"})],
        json=bl_envelope([unfiled]),
    )
    rsps.get(
        f"{BL}/orders",
        match=[matchers.query_param_matcher({"direction": "in", "filed": "true", "status": "-purged"})],
        json=bl_envelope([filed, unfiled]),
    )
    client = bl_client()

    rows = client.list_all_orders(status="-purged")

    assert sorted(r["order_id"] for r in rows) == [1001, 1002]
    assert client.calls == 2


def test_bricklink_http_200_with_meta_code_401_is_bad_credentials(rsps):
    rsps.get(
        f"{BL}/orders/1",
        status=200,
        json=bl_envelope(None, code=401, message="BAD_OAUTH_REQUEST", description="SIGNATURE_INVALID"),
    )

    with pytest.raises(BadCredentials) as caught:
        bl_client().get_order("1")

    assert caught.value.code == "marketplace_bad_credentials"
    assert not caught.value.transient
    assert "SIGNATURE_INVALID" in caught.value.detail


def test_bricklink_token_ip_mismatch_names_the_ip_and_never_the_consumer_key(rsps):
    description = f"TOKEN_IP_MISMATCHED: consumer: {BL_CREDENTIALS['consumer_key']} IP: 203.0.113.7"
    rsps.get(
        f"{BL}/settings/shipping_methods",
        json=bl_envelope(None, code=401, message="BAD_OAUTH_REQUEST", description=description),
    )

    with pytest.raises(IpMismatch) as caught:
        bl_client().check_credentials()

    assert caught.value.code == "bricklink_ip_mismatch"
    assert "203.0.113.7" in caught.value.detail
    assert BL_CREDENTIALS["consumer_key"] not in str(caught.value)
    assert "TOKEN_IP_MISMATCHED" in caught.value.text.message


def test_bricklink_items_are_batches(rsps):
    rsps.get(f"{BL}/orders/24680135/items", json=bl_envelope(bl_batches()))

    batches = bl_client().get_order_items("24680135")

    assert [len(b) for b in batches] == [3, 1]


def test_bricklink_404_envelope_is_not_found(rsps):
    rsps.get(f"{BL}/orders/9", json=bl_envelope(None, code=404, message="RESOURCE_NOT_FOUND"))

    with pytest.raises(NotFound):
        bl_client().get_order("9")


@pytest.mark.parametrize(
    "reply",
    [
        {"status": 429, "body": "Too Many Requests", "content_type": "text/plain"},
        {"status": 200, "json": bl_envelope(None, code=429, message="TOO_MANY_REQUESTS")},
    ],
)
def test_bricklink_quota_is_a_transient_quota_error_and_not_retried(rsps, reply):
    rsps.get(f"{BL}/orders", **reply)
    client = bl_client()

    with pytest.raises(QuotaExceeded) as caught:
        client.list_orders(filed=False)

    assert caught.value.code == "marketplace_quota" and caught.value.transient
    assert client.calls == 1


def test_bricklink_busy_503_html_page_is_retried_then_succeeds(rsps, settings):
    settings.MARKETPLACE_RETRIES = 2
    rsps.get(f"{BL}/orders/1", status=503, body="<html>503 Service Temporarily Unavailable</html>")
    rsps.get(f"{BL}/orders/1", json=bl_envelope(bl_order(1)))
    client = bl_client()

    order = client.get_order("1")

    assert order["order_id"] == 1
    assert client.calls == 2  # the retry counts against the daily quota too


def test_bricklink_timeouts_are_retried_a_bounded_number_of_times(rsps, settings):
    settings.MARKETPLACE_RETRIES = 2
    rsps.get(f"{BL}/orders/1", body=requests.ReadTimeout("read timed out"))
    client = bl_client()

    with pytest.raises(Unreachable) as caught:
        client.get_order("1")

    assert caught.value.code == "marketplace_unreachable" and caught.value.transient
    assert client.calls == 3


def test_bricklink_403_is_a_permanent_marketplace_error(rsps):
    rsps.get(f"{BL}/orders", json=bl_envelope(None, code=403, message="PERMISSION_DENIED"))

    with pytest.raises(MarketplaceError) as caught:
        bl_client().list_orders(filed=False)

    assert caught.value.code == "marketplace_error" and not caught.value.transient


def test_bricklink_credentials_repr_hides_secrets():
    assert "TS77" not in repr(BrickLinkCredentials.from_dict(BL_CREDENTIALS))


# -- BrickOwl ----------------------------------------------------------------------------------


def test_brickowl_sends_the_key_as_a_query_parameter_and_parses_the_bare_json(rsps):
    rsps.get(
        f"{BO}/order/view",
        match=[matchers.query_param_matcher({"key": BO_KEY, "order_id": "7654321"})],
        json=bo_order(),
    )

    order = BrickOwlClient(BO_KEY).order_view("7654321")

    assert order["status_id"] == "5" and order["base_order_total"] == "29.19"


def test_brickowl_key_never_appears_in_logs_or_error_text(rsps, caplog):
    rsps.get(f"{BO}/order/view", status=401, json={"error": {"status": f"Invalid API Key {BO_KEY}"}})
    caplog.set_level(logging.INFO, logger="brickinvoice.http")

    with pytest.raises(BadCredentials) as caught:
        BrickOwlClient(BO_KEY).order_view("1")

    assert BO_KEY not in str(caught.value) and BO_KEY not in caught.value.detail
    assert "/order/view" in caplog.text
    assert BO_KEY not in caplog.text


def test_brickowl_error_object_on_http_200_is_an_error(rsps):
    rsps.get(f"{BO}/order/list", json={"error": {"status": "Store not found, you may need to set list_type=customer"}})

    with pytest.raises(MarketplaceError) as caught:
        BrickOwlClient(BO_KEY).list_orders()

    assert "Store not found" in caught.value.detail


def test_brickowl_connection_error_text_does_not_leak_the_url_with_the_key(rsps):
    rsps.get(f"{BO}/user/details", body=requests.ConnectionError(f"Max retries exceeded with url: /?key={BO_KEY}"))

    with pytest.raises(Unreachable) as caught:
        BrickOwlClient(BO_KEY).user_details()

    assert BO_KEY not in str(caught.value)


def test_brickowl_429_is_quota(rsps):
    rsps.get(f"{BO}/order/items", status=429, headers={"Retry-After": "30"}, json={"error": {"status": "Rate limit"}})

    with pytest.raises(QuotaExceeded) as caught:
        BrickOwlClient(BO_KEY).order_items("1")

    assert caught.value.retry_after == 30


def test_brickowl_more_than_5000_orders_are_paged_by_order_time(rsps):
    """order/list caps at 5,000 rows and has no offset: the next page starts at the newest
    order_date seen (inclusive), and the rows of that second are not duplicated."""
    start = 1_700_000_000
    rows = [
        {"order_id": str(100000 + i), "order_date": str(start + i // 2), "status_id": "2", "status": "Payment Received"}
        for i in range(5600)
    ]
    requested = []

    def list_page(request):
        params = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
        requested.append(params)
        since, limit = int(params["order_time"]), int(params["limit"])
        page = [r for r in rows if int(r["order_date"]) >= since][:limit]
        return 200, {}, json.dumps(page)

    rsps.add_callback(responses.GET, re.compile(re.escape(f"{BO}/order/list") + r"\?.*"), list_page)
    client = BrickOwlClient(BO_KEY)

    listed = client.list_orders_since(start)

    assert len(listed) == 5600
    assert len({r["order_id"] for r in listed}) == 5600
    assert [p["order_time"] for p in requested] == [str(start), str(start + 4999 // 2)]
    assert all(p["limit"] == "5000" and p["key"] == BO_KEY and p["list_type"] == "store" for p in requested)
    assert client.calls == 2


def test_brickowl_5xx_is_retried(rsps, settings):
    settings.MARKETPLACE_RETRIES = 1
    rsps.get(f"{BO}/order/items", status=502, body="Bad gateway")
    rsps.get(f"{BO}/order/items", json=[])
    client = BrickOwlClient(BO_KEY)

    assert client.order_items("1") == []
    assert client.calls == 2
