"""The Fatture API client: bearer calls, refresh (ahead of expiry, on 401, once across workers),
invalid_grant, quota (429/403 + Retry-After, shared hourly budget), error mapping, no token in logs."""

import json
import logging
import threading
import time
from datetime import timedelta

import pytest
import requests
import responses
from django.db import connection as db
from django.utils import timezone
from freezegun import freeze_time
from responses import matchers

from brickinvoice import crypto
from fatture.client import FattureClient
from fatture.errors import (
    FattureAuthFailed,
    FattureNotFound,
    FatturePermissionDenied,
    FattureQuotaExceeded,
    FattureRejected,
    FattureUnavailable,
    NoCompanySelected,
)
from fatture.models import FattureConnection
from tests.factories_fatture import (
    ACCESS,
    NEW_ACCESS,
    NEW_REFRESH,
    REFRESH,
    VAT_TYPES,
    FattureConnectionFactory,
    api,
    token_payload,
    token_url,
)

CLIENT_SECRET = "fic-client-secret-DO-NOT-LEAK"
VAT_PATH = "/c/12345/info/vat_types"


@pytest.fixture(autouse=True)
def _fatture_app(settings):
    settings.FATTURE_CLIENT_ID = "bi-client-id"
    settings.FATTURE_CLIENT_SECRET = CLIENT_SECRET


def _bearer(token):
    return [matchers.header_matcher({"Authorization": f"Bearer {token}"})]


def _token_calls(rsps):
    return [c for c in rsps.calls if c.request.url == token_url()]


# --- plain calls ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_get_sends_bearer_token_and_returns_parsed_json(rsps):
    connection = FattureConnectionFactory()
    rsps.add(responses.GET, api(VAT_PATH), json=VAT_TYPES, match=_bearer(ACCESS))
    client = FattureClient(connection)
    assert client.get(client.company_path("info/vat_types")) == VAT_TYPES
    assert client.calls == 1


@pytest.mark.django_db
def test_post_put_delete_send_json_bodies(rsps):
    client = FattureClient(FattureConnectionFactory())
    body = {"data": {"name": "Mario Rossi", "code": "BL-mario"}}
    rsps.add(
        responses.POST,
        api("/c/12345/entities/clients"),
        json={"data": {"id": 7}},
        match=[matchers.json_params_matcher(body)],
    )
    rsps.add(
        responses.PUT,
        api("/c/12345/entities/clients/7"),
        json={"data": {"id": 7}},
        match=[matchers.json_params_matcher(body)],
    )
    rsps.add(responses.DELETE, api("/c/12345/entities/clients/7"), body="")
    assert client.post(client.company_path("entities/clients"), json=body)["data"]["id"] == 7
    assert client.put(client.company_path("entities/clients/7"), json=body)["data"]["id"] == 7
    assert client.delete(client.company_path("entities/clients/7")) == {}
    assert client.calls == 3


@pytest.mark.django_db
def test_company_path_without_company_is_no_company_selected():
    client = FattureClient(FattureConnectionFactory(company_id=None))
    with pytest.raises(NoCompanySelected) as exc:
        client.company_path("products")
    assert exc.value.code == "no_company_selected"
    assert exc.value.text.message == "No company selected."


# --- refresh -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_401_refreshes_once_saves_rotated_tokens_and_retries(rsps):
    connection = FattureConnectionFactory()
    rsps.add(
        responses.GET, api(VAT_PATH), status=401, json={"error": {"message": "Unauthorized"}}, match=_bearer(ACCESS)
    )
    rsps.add(responses.POST, token_url(), json=token_payload())
    rsps.add(responses.GET, api(VAT_PATH), json=VAT_TYPES, match=_bearer(NEW_ACCESS))

    assert FattureClient(connection).get(VAT_PATH) == VAT_TYPES

    assert [c.request.method for c in rsps.calls] == ["GET", "POST", "GET"]
    body = dict(p.split("=", 1) for p in rsps.calls[1].request.body.split("&"))
    assert body["grant_type"] == "refresh_token" and body["client_id"] == "bi-client-id"
    assert "client_secret" in body and requests.utils.unquote(body["refresh_token"]) == REFRESH
    stored = FattureConnection.objects.get(pk=connection.pk)
    assert (stored.access_token, stored.refresh_token) == (NEW_ACCESS, NEW_REFRESH)
    assert stored.token_expires_at > timezone.now() + timedelta(hours=23)


@pytest.mark.django_db
def test_token_is_refreshed_before_it_expires(rsps):
    with freeze_time("2026-03-02 10:00:00"):
        connection = FattureConnectionFactory(token_expires_at=timezone.now() + timedelta(minutes=10))
    rsps.add(responses.POST, token_url(), json=token_payload())
    rsps.add(responses.GET, api(VAT_PATH), json=VAT_TYPES, match=_bearer(NEW_ACCESS))
    rsps.add(responses.GET, api(VAT_PATH), json=VAT_TYPES, match=_bearer(ACCESS))

    with freeze_time("2026-03-02 10:04:00"):  # 6 minutes left: no refresh yet
        FattureClient(connection).get(VAT_PATH)
    assert _token_calls(rsps) == []

    with freeze_time("2026-03-02 10:06:00"):  # 4 minutes left: refresh first, then one call
        client = FattureClient(FattureConnection.objects.get(pk=connection.pk))
        client.get(VAT_PATH)
    assert len(_token_calls(rsps)) == 1
    assert rsps.calls[-1].request.headers["Authorization"] == f"Bearer {NEW_ACCESS}"
    assert client.calls == 1


@pytest.mark.django_db
def test_no_second_refresh_when_another_worker_already_replaced_the_token(rsps):
    connection = FattureConnectionFactory()
    stale = FattureClient(FattureConnection.objects.get(pk=connection.pk))
    # Another worker refreshed meanwhile: the row now holds the new tokens.
    FattureConnection.objects.filter(pk=connection.pk).update(access_token=NEW_ACCESS, refresh_token=NEW_REFRESH)
    rsps.add(responses.GET, api(VAT_PATH), status=401, json={}, match=_bearer(ACCESS))
    rsps.add(responses.GET, api(VAT_PATH), json=VAT_TYPES, match=_bearer(NEW_ACCESS))
    rsps.add(responses.POST, token_url(), json=token_payload(access="a/never", refresh="r/never"))

    assert stale.get(VAT_PATH) == VAT_TYPES
    assert _token_calls(rsps) == []
    assert FattureConnection.objects.get(pk=connection.pk).refresh_token == NEW_REFRESH


@pytest.mark.django_db(transaction=True)
def test_two_workers_with_an_expired_token_refresh_only_once():
    connection = FattureConnectionFactory(token_expires_at=timezone.now() - timedelta(minutes=1))
    refreshes = []

    def slow_token_endpoint(request):
        refreshes.append(request.body)
        time.sleep(0.5)  # long enough for the other worker to queue on the row lock
        return 200, {}, json.dumps(token_payload())

    used_tokens, errors = [], []
    barrier = threading.Barrier(2)

    def worker():
        try:
            client = FattureClient(FattureConnection.objects.get(pk=connection.pk))
            barrier.wait()
            client.get(VAT_PATH)
            used_tokens.append(client.connection.access_token)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            db.close()

    with responses.RequestsMock() as rsps:
        rsps.add_callback(responses.POST, token_url(), callback=slow_token_endpoint)
        rsps.add(responses.GET, api(VAT_PATH), json=VAT_TYPES, match=_bearer(NEW_ACCESS))
        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        api_calls = [c for c in rsps.calls if c.request.method == "GET"]

    assert errors == []
    assert len(refreshes) == 1
    assert used_tokens == [NEW_ACCESS, NEW_ACCESS]
    assert [c.request.headers["Authorization"] for c in api_calls] == [f"Bearer {NEW_ACCESS}"] * 2
    stored = FattureConnection.objects.get(pk=connection.pk)
    assert (stored.access_token, stored.refresh_token) == (NEW_ACCESS, NEW_REFRESH)


@pytest.mark.django_db
def test_invalid_grant_marks_needs_reconnect_and_blocks_further_calls(rsps):
    connection = FattureConnectionFactory()
    rsps.add(responses.GET, api(VAT_PATH), status=401, json={"error": {"message": "Unauthorized"}})
    rsps.add(
        responses.POST,
        token_url(),
        status=400,
        json={"error": "invalid_grant", "error_description": "The refresh token is invalid."},
    )
    client = FattureClient(connection)

    with pytest.raises(FattureAuthFailed) as exc:
        client.get(VAT_PATH)
    assert exc.value.code == "fatture_auth_failed" and not exc.value.transient

    stored = FattureConnection.objects.get(pk=connection.pk)
    assert stored.status == FattureConnection.Status.NEEDS_RECONNECT
    assert stored.last_error_code == "fatture_auth_failed"
    assert "Token Expired / Authentication Failed" in stored.last_error_message
    assert "invalid_grant" in stored.last_error_detail
    assert (stored.access_token, stored.refresh_token) == ("", "")

    calls_before = len(rsps.calls)
    for fresh in (client, FattureClient(stored)):
        with pytest.raises(FattureAuthFailed):
            fresh.get(VAT_PATH)
    assert len(rsps.calls) == calls_before


@pytest.mark.django_db
def test_refresh_refused_with_401_also_needs_reconnect(rsps):
    connection = FattureConnectionFactory(token_expires_at=timezone.now())
    rsps.add(responses.POST, token_url(), status=401, json={"error": "invalid_client", "error_description": ""})
    with pytest.raises(FattureAuthFailed):
        FattureClient(connection).get(VAT_PATH)
    assert FattureConnection.objects.get(pk=connection.pk).status == FattureConnection.Status.NEEDS_RECONNECT


@pytest.mark.django_db
def test_token_endpoint_outage_is_transient_and_keeps_the_tokens(rsps):
    connection = FattureConnectionFactory(token_expires_at=timezone.now())
    rsps.add(responses.POST, token_url(), status=503, body="<html>Service Unavailable</html>")
    with pytest.raises(FattureUnavailable) as exc:
        FattureClient(connection).get(VAT_PATH)
    assert exc.value.transient
    stored = FattureConnection.objects.get(pk=connection.pk)
    assert stored.status == FattureConnection.Status.CONNECTED
    assert (stored.access_token, stored.refresh_token) == (ACCESS, REFRESH)


@pytest.mark.django_db
def test_401_after_a_fresh_token_needs_reconnect(rsps):
    connection = FattureConnectionFactory()
    rsps.add(responses.GET, api(VAT_PATH), status=401, json={"error": {"message": "Unauthorized"}})
    rsps.add(responses.POST, token_url(), json=token_payload())
    with pytest.raises(FattureAuthFailed):
        FattureClient(connection).get(VAT_PATH)
    assert len(_token_calls(rsps)) == 1  # refreshed once, not in a loop
    assert FattureConnection.objects.get(pk=connection.pk).status == FattureConnection.Status.NEEDS_RECONNECT


# --- quota ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_429_is_transient_quota_and_no_worker_calls_before_retry_after(rsps):
    connection = FattureConnectionFactory()
    rsps.add(
        responses.GET,
        api(VAT_PATH),
        status=429,
        headers={"Retry-After": "30"},
        json={"error": {"message": "Too Many Requests"}},
    )
    with pytest.raises(FattureQuotaExceeded) as exc:
        FattureClient(connection).get(VAT_PATH)
    assert (exc.value.code, exc.value.transient, exc.value.retry_after, exc.value.status) == (
        "fatture_quota",
        True,
        30,
        429,
    )

    with pytest.raises(FattureQuotaExceeded) as blocked:
        FattureClient(FattureConnection.objects.get(pk=connection.pk)).get(VAT_PATH)  # another worker
    assert 0 < blocked.value.retry_after <= 30
    assert len(rsps.calls) == 1


@pytest.mark.django_db
def test_403_with_retry_after_is_quota(rsps):
    connection = FattureConnectionFactory()
    rsps.add(
        responses.GET,
        api(VAT_PATH),
        status=403,
        headers={"Retry-After": "1200"},
        json={"error": {"message": "Hourly quota exceeded"}},
    )
    with pytest.raises(FattureQuotaExceeded) as exc:
        FattureClient(connection).get(VAT_PATH)
    assert exc.value.transient and exc.value.retry_after == 1200
    with pytest.raises(FattureQuotaExceeded):
        FattureClient(connection).get(VAT_PATH)
    assert len(rsps.calls) == 1


@pytest.mark.django_db
def test_403_without_retry_after_is_a_permanent_permission_error(rsps):
    connection = FattureConnectionFactory()
    rsps.add(
        responses.GET,
        api(VAT_PATH),
        status=403,
        json={"error": {"message": "Permesso negato", "code": "NO_PERMISSION"}},
    )
    with pytest.raises(FatturePermissionDenied) as exc:
        FattureClient(connection).get(VAT_PATH)
    assert (exc.value.code, exc.value.transient) == ("fatture_permission", False)
    assert "Permesso negato" in exc.value.detail
    with pytest.raises(FatturePermissionDenied):
        FattureClient(connection).get(VAT_PATH)
    assert len(rsps.calls) == 2  # no Retry-After: nothing blocks the next call


@pytest.mark.django_db
def test_hourly_budget_shared_by_workers_blocks_calls_once_exhausted(rsps, settings):
    settings.FATTURE_HOURLY_BUDGET = 3
    connection = FattureConnectionFactory()
    rsps.add(responses.GET, api(VAT_PATH), json=VAT_TYPES)
    with freeze_time("2026-03-02 10:59:00"):
        for _ in range(3):
            FattureClient(FattureConnection.objects.get(pk=connection.pk)).get(VAT_PATH)
        with pytest.raises(FattureQuotaExceeded) as exc:
            FattureClient(connection).get(VAT_PATH)
        assert exc.value.transient and exc.value.retry_after == 60  # until the hour resets
        assert len(rsps.calls) == 3
    with freeze_time("2026-03-02 11:00:05"):  # a new hour, a new budget
        FattureClient(connection).get(VAT_PATH)
    assert len(rsps.calls) == 4


@pytest.mark.django_db
def test_budget_is_per_company(rsps, settings):
    settings.FATTURE_HOURLY_BUDGET = 1
    first = FattureConnectionFactory()
    second = FattureConnectionFactory(company_id=999)
    rsps.add(responses.GET, api(VAT_PATH), json=VAT_TYPES)
    rsps.add(responses.GET, api("/c/999/info/vat_types"), json=VAT_TYPES)
    FattureClient(first).get(VAT_PATH)
    FattureClient(second).get("/c/999/info/vat_types")
    with pytest.raises(FattureQuotaExceeded):
        FattureClient(first).get(VAT_PATH)


@pytest.mark.django_db
def test_rate_limit_headers_are_logged(rsps, caplog):
    caplog.set_level(logging.INFO, logger="fatture.client")
    rsps.add(
        responses.GET,
        api(VAT_PATH),
        json=VAT_TYPES,
        headers={
            "RateLimit-HourlyRemaining": "998",
            "RateLimit-HourlyLimit": "1000",
            "RateLimit-MonthlyRemaining": "39990",
            "RateLimit-MonthlyLimit": "40000",
        },
    )
    FattureClient(FattureConnectionFactory()).get(VAT_PATH)
    assert "hourly_remaining=998 hourly_limit=1000 monthly_remaining=39990 monthly_limit=40000" in caplog.text


# --- error mapping -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_422_surfaces_fatture_validation_messages(rsps):
    rsps.add(
        responses.POST,
        api("/c/12345/issued_documents"),
        status=422,
        json={
            "error": {
                "message": "Il totale dei pagamenti non corrisponde al totale da pagare.",
                "validation_result": {"data.entity": ["The data.entity field is required."]},
            },
            "extra": {"totals": {"amount_due": 610}},
        },
    )
    client = FattureClient(FattureConnectionFactory())
    with pytest.raises(FattureRejected) as exc:
        client.post(client.company_path("issued_documents"), json={"data": {}})
    assert (exc.value.code, exc.value.status, exc.value.transient) == ("invoice_creation_failed", 422, False)
    assert "Il totale dei pagamenti non corrisponde" in exc.value.detail
    assert "data.entity: The data.entity field is required." in exc.value.detail


@pytest.mark.django_db
def test_409_is_a_permanent_conflict_with_the_message(rsps):
    rsps.add(
        responses.POST,
        api("/c/12345/entities/clients"),
        status=409,
        json={"error": {"message": "Cliente duplicato: codice già esistente"}},
    )
    with pytest.raises(FattureRejected) as exc:
        FattureClient(FattureConnectionFactory()).post("/c/12345/entities/clients", json={"data": {}})
    assert exc.value.status == 409 and "Cliente duplicato" in exc.value.detail


@pytest.mark.django_db
def test_404_is_not_found_for_the_caller_to_map(rsps):
    rsps.add(responses.GET, api("/c/12345/products/42"), status=404, json={"error": {"message": "Not found"}})
    with pytest.raises(FattureNotFound) as exc:
        FattureClient(FattureConnectionFactory()).get("/c/12345/products/42")
    assert exc.value.status == 404 and not exc.value.transient


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("failure", "code"),
    [
        ({"status": 502, "body": "Bad Gateway"}, "fatture_server_error"),
        ({"body": requests.Timeout("read timed out")}, "fatture_unavailable"),
        ({"body": requests.ConnectionError("connection refused")}, "fatture_unavailable"),
    ],
)
def test_5xx_and_network_failures_are_transient_and_say_which(rsps, failure, code):
    """A 500 is "Fatture in Cloud had an internal error", not "did not answer in time"."""
    rsps.add(responses.GET, api(VAT_PATH), **failure)
    with pytest.raises(FattureUnavailable) as exc:
        FattureClient(FattureConnectionFactory()).get(VAT_PATH)
    assert (exc.value.code, exc.value.transient) == (code, True)
    assert ("internal error" in exc.value.text.message) == (code == "fatture_server_error")


# --- secrets -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_tokens_and_client_secret_never_reach_the_logs(rsps, caplog, owner_client, tenant):
    """The whole life of a connection at DEBUG level: connect, refresh, an API call, an error."""
    from urllib.parse import parse_qs, urlsplit

    from django.urls import reverse

    from tests.factories_fatture import PreRegistrationFactory, user_info

    caplog.set_level(logging.DEBUG)
    PreRegistrationFactory(email="mario.rossi@example.com")
    rsps.add(responses.POST, token_url(), json=token_payload(access=ACCESS, refresh=REFRESH, expires_in=60))
    rsps.add(responses.GET, api("/user/info"), json=user_info())
    state = parse_qs(
        urlsplit(owner_client.post(reverse("fatture:start"), {"backend": "fatture_in_cloud"})["Location"]).query
    )["state"][0]
    owner_client.get(reverse("fatture:callback"), {"code": "c/CODE-SECRET", "state": state})

    rsps.replace(responses.POST, token_url(), json=token_payload())  # expires in 60 s: refreshed first
    rsps.add(responses.GET, api(VAT_PATH), status=422, json={"error": {"message": "Errore"}})
    with pytest.raises(FattureRejected):
        FattureClient(FattureConnection.objects.get(tenant=tenant)).get(VAT_PATH)

    assert "fatture GET /user/info status=200" in caplog.text
    assert "fatture POST /oauth/token status=200" in caplog.text
    for secret in (ACCESS, REFRESH, NEW_ACCESS, NEW_REFRESH, CLIENT_SECRET, "c/CODE-SECRET", state):
        assert secret not in caplog.text


@pytest.mark.django_db
def test_token_columns_hold_only_ciphertext():
    connection = FattureConnectionFactory()
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT access_token, refresh_token FROM fatture_fattureconnection WHERE id = %s", [connection.pk]
        )
        raw_access, raw_refresh = cursor.fetchone()
    for raw, secret in ((raw_access, ACCESS), (raw_refresh, REFRESH)):
        assert raw.startswith(crypto.MARKER) and secret not in raw and crypto.decrypt(raw) == secret
    assert "ACCESS-SECRET" not in repr(FattureConnection.objects.get(pk=connection.pk).access_token)


@pytest.mark.django_db
def test_short_term_budget_spreads_calls_without_spending_the_hour(rsps, settings):
    """Fatture's 300 / 5 min limit is rolling: we spend at most half of it per fixed bucket."""
    from django.core.cache import cache

    from fatture.quota import quota_wait

    settings.FATTURE_SHORT_BUDGET, settings.FATTURE_SHORT_WINDOW_SECONDS = 2, 300
    connection = FattureConnectionFactory()
    rsps.add(responses.GET, api(VAT_PATH), json=VAT_TYPES)
    with freeze_time("2026-03-02 10:04:00"):
        assert quota_wait(connection.company_id) == 0
        for _ in range(2):
            FattureClient(FattureConnection.objects.get(pk=connection.pk)).get(VAT_PATH)
        assert quota_wait(connection.company_id) == 60  # until the 10:05 bucket
        with pytest.raises(FattureQuotaExceeded) as exc:
            FattureClient(connection).get(VAT_PATH)
        assert exc.value.retry_after == 60 and len(rsps.calls) == 2
        hour_key = f"fatture:budget:{connection.company_id}:{int(time.time() // 3600)}"
        assert cache.get(hour_key) == 2  # the refused call did not spend the hour
    with freeze_time("2026-03-02 10:05:01"):
        assert quota_wait(connection.company_id) == 0
        FattureClient(connection).get(VAT_PATH)
    assert len(rsps.calls) == 3


@pytest.mark.django_db
def test_quota_wait_reads_the_hourly_budget_and_retry_after(settings):
    from fatture.quota import quota_block, quota_take, quota_wait

    settings.FATTURE_HOURLY_BUDGET = 1
    with freeze_time("2026-03-02 10:59:30"):
        quota_take(77)
        assert quota_wait(77) == 30  # the hour's budget is spent until 11:00
        quota_block(77, 90)
        assert quota_wait(77) == 90  # a longer Retry-After wins


@pytest.mark.django_db
def test_waiting_tasks_are_spread_over_the_coming_buckets(settings):
    """A backlog books places over the coming buckets, not everyone at the next one."""
    from fatture.quota import quota_block, quota_turn

    # 2 calls per bucket sustained, 2 calls per invoice, booked twice over: 2 invoices per bucket.
    settings.FATTURE_SHORT_BUDGET, settings.FATTURE_SHORT_WINDOW_SECONDS = 2, 300
    with freeze_time("2026-03-02 10:00:00"):
        assert quota_turn(78) == 0  # nothing spent: go now
        quota_block(78, 60)
        waits = [quota_turn(78) for _ in range(6)]
    buckets = [int((w - 60) // 300) for w in waits]
    assert buckets == [0, 0, 1, 1, 2, 2]
    assert all(60 <= w - 300 * b <= 60 + 150 for w, b in zip(waits, buckets, strict=True))


@pytest.mark.django_db
def test_the_token_endpoint_comes_from_fatture_token_url(rsps, settings):
    """A Fatture whose token endpoint is not under its API host (``FATTURE_TOKEN_URL``)."""
    settings.FATTURE_TOKEN_URL = "https://auth.example.test/oauth2/token"
    with freeze_time("2026-03-02 10:00:00"):
        connection = FattureConnectionFactory(token_expires_at=timezone.now() + timedelta(minutes=10))
    rsps.add(responses.POST, "https://auth.example.test/oauth2/token", json=token_payload())
    rsps.add(responses.GET, api(VAT_PATH), json=VAT_TYPES, match=_bearer(NEW_ACCESS))
    with freeze_time("2026-03-02 10:06:00"):  # 4 minutes left: refreshed first
        assert FattureClient(connection).get(VAT_PATH) == VAT_TYPES
    assert [c.request.url for c in rsps.calls][0] == "https://auth.example.test/oauth2/token"
