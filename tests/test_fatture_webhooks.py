"""The Fatture in Cloud webhook sink (verification challenge, ES256 token with aud and exp,
deduplication on ce-id, the signal) and subscription management, with a test EC key."""

import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.test import Client

from fatture import webhooks
from fatture.client import FattureClient
from fatture.errors import FattureWebhooksUnavailable
from fatture.models import WebhookSubscription
from tests.factories_fatture import FattureConnectionFactory, api, subscription

BASE = "https://bi.example.com"
SINK = f"{BASE}/home/accounting/webhooks/fatture"
PATH = "/home/accounting/webhooks/fatture"
FIC_KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_KEY = ec.generate_private_key(ec.SECP256R1())


def pem(key) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.fixture
def enabled(settings):
    settings.FATTURE_WEBHOOKS_ENABLED = True
    settings.FATTURE_WEBHOOK_PUBLIC_KEY = pem(FIC_KEY)
    settings.PUBLIC_BASE_URL = BASE
    return settings


@pytest.fixture
def received():
    seen = []

    def receiver(sender, **kwargs):
        seen.append(kwargs)

    webhooks.einvoice_status_changed.connect(receiver)
    yield seen
    webhooks.einvoice_status_changed.disconnect(receiver)


@pytest.fixture
def connection(db):
    return FattureConnectionFactory()


def token(*, key=FIC_KEY, aud=SINK, exp_in=3 * 3600, jti="evt-1", **extra) -> str:
    now = int(time.time())
    claims = {"iss": "https://api-v2.fattureincloud.it", "sub": "company:12345", "aud": [aud], "iat": now}
    claims.update({"exp": now + exp_in, "jti": jti, "aid": 42, **extra})
    return jwt.encode(claims, key, algorithm="ES256")


def notify(client, *, event_id="evt-1", company="company:12345", ids=(9001, 9002), auth=None, **headers):
    return client.post(
        PATH,
        json.dumps({"data": {"ids": list(ids)}}),
        content_type="application/json",
        HTTP_AUTHORIZATION=auth if auth is not None else f"Bearer {token(jti=event_id)}",
        HTTP_CE_ID=event_id,
        HTTP_CE_TYPE=webhooks.STATUS_UPDATE,
        HTTP_CE_SUBJECT=company,
        HTTP_CE_SPECVERSION="1.0",
        HTTP_CE_TIME="2025-03-05T10:00:00Z",
        **headers,
    )


def csrf_client() -> Client:
    return Client(enforce_csrf_checks=True)


# --- the sink -------------------------------------------------------------------------------------


def test_the_sink_does_not_exist_while_webhooks_are_off(db, settings):
    settings.FATTURE_WEBHOOKS_ENABLED = False

    assert csrf_client().get(PATH).status_code == 404
    assert csrf_client().post(PATH, "{}", content_type="application/json").status_code == 404


def test_verification_challenge_in_header_or_query_is_echoed(enabled, db):
    by_header = csrf_client().get(PATH, HTTP_X_FIC_VERIFICATION_CHALLENGE="abc123")
    by_query = csrf_client().get(PATH, {"x-fic-verification-challenge": "q-456"})

    assert by_header.json() == {"verification": "abc123"} and by_query.json() == {"verification": "q-456"}
    assert csrf_client().get(PATH).status_code == 400


def test_a_signed_notification_reaches_the_signal_once(enabled, connection, received):
    first = notify(csrf_client())
    again = notify(csrf_client())  # at-least-once delivery: the same ce-id again

    assert first.status_code == 200 and again.status_code == 200
    assert received == [
        {
            "signal": webhooks.einvoice_status_changed,
            "company_id": 12345,
            "document_ids": [9001, 9002],
            "event_type": webhooks.STATUS_UPDATE,
            "event_id": "evt-1",
        }
    ]


@pytest.mark.parametrize(
    "auth",
    [
        "",
        "Basic abc",
        f"Bearer {token(key=OTHER_KEY)}",
        f"Bearer {token(exp_in=-3600)}",
        f"Bearer {token(aud='https://evil.example.com/hook')}",
        f"Bearer {token(jti='another-event')}",
        "Bearer not.a.jwt",
    ],
    ids=["missing", "basic", "other-key", "expired", "wrong-aud", "other-event", "garbage"],
)
def test_unsigned_or_misaddressed_notifications_are_refused(enabled, connection, received, auth):
    response = notify(csrf_client(), auth=auth)

    assert response.status_code == 401 and received == []


def test_a_token_signed_with_another_algorithm_is_refused(enabled, connection, received):
    forged = jwt.encode(
        {"aud": [SINK], "exp": int(time.time()) + 60, "jti": "evt-1"},
        "a-shared-secret-long-enough-for-hs256",
        algorithm="HS256",
    )

    assert notify(csrf_client(), auth=f"Bearer {forged}").status_code == 401 and received == []


def test_bad_subjects_and_unknown_companies(enabled, connection, received):
    assert notify(csrf_client(), company="user:1").status_code == 400
    assert notify(csrf_client(), company="company:999", event_id="evt-2").status_code == 410  # FiC drops it
    assert received == []


def test_structured_cloudevents_are_read_from_the_body(enabled, connection, received):
    body = {
        "specversion": "1.0",
        "id": "evt-9",
        "type": webhooks.STATUS_UPDATE,
        "subject": "company:12345",
        "source": "https://api-v2.fattureincloud.it",
        "data": {"ids": [9003, "junk", 9003]},
    }
    response = csrf_client().post(
        PATH,
        json.dumps(body),
        content_type="application/cloudevents+json",
        HTTP_AUTHORIZATION=f"Bearer {token(jti='evt-9')}",
    )

    assert response.status_code == 200 and received[0]["document_ids"] == [9003]


def test_the_public_key_may_be_base64_der(enabled, connection, received):
    der = FIC_KEY.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    enabled.FATTURE_WEBHOOK_PUBLIC_KEY = base64.b64encode(der).decode()

    assert notify(csrf_client()).status_code == 200 and received


def test_a_missing_or_wrong_key_refuses_rather_than_trusts(enabled, connection, received):
    enabled.FATTURE_WEBHOOK_PUBLIC_KEY = ""
    assert notify(csrf_client()).status_code == 503
    enabled.FATTURE_WEBHOOK_PUBLIC_KEY = "bm90IGEga2V5"
    assert notify(csrf_client(), event_id="evt-3").status_code == 503
    assert received == []


def test_other_event_types_are_acknowledged_without_the_signal(enabled, connection, received):
    notify(csrf_client())
    other = csrf_client().post(
        PATH,
        json.dumps({"data": {"ids": [1]}}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token(jti='evt-5')}",
        HTTP_CE_ID="evt-5",
        HTTP_CE_TYPE="it.fattureincloud.webhooks.issued_documents.invoices.update",
        HTTP_CE_SUBJECT="company:12345",
    )
    assert other.status_code == 200 and [r["event_id"] for r in received] == ["evt-1"]


# --- subscriptions --------------------------------------------------------------------------------


def test_subscribe_posts_the_sink_and_stores_the_subscription(enabled, connection, rsps):
    rsps.post(api("/c/12345/subscriptions"), json=subscription())
    client = FattureClient(connection)

    row = webhooks.webhook_subscribe(client)
    again = webhooks.webhook_subscribe(client)

    assert again == row and len(rsps.calls) == 1
    assert (row.subscription_id, row.sink, row.company_id, row.tenant) == ("SUB123", SINK, 12345, connection.tenant)
    assert json.loads(rsps.calls[0].request.body) == {
        "data": {
            "sink": SINK,
            "types": [webhooks.STATUS_UPDATE],
            "verification_method": "header",
            "config": {"mapping": "binary"},
        }
    }


def test_subscribe_keeps_warnings_in_either_shape(enabled, connection, rsps):
    rsps.post(api("/c/12345/subscriptions"), json={**subscription(), "warnings": "already registered"})

    assert webhooks.webhook_subscribe(FattureClient(connection)).warnings == ["already registered"]


def test_an_app_not_enabled_for_webhooks_is_told_apart(enabled, connection, rsps):
    refused = {"error": {"message": "This app is not enabled to register webhooks", "code": "NO_PERMISSION"}}
    rsps.post(api("/c/12345/subscriptions"), json=refused, status=403)

    with pytest.raises(FattureWebhooksUnavailable) as caught:
        webhooks.webhook_subscribe(FattureClient(connection))

    assert caught.value.code == "fatture_webhooks_unavailable" and not WebhookSubscription.objects.exists()


def test_a_plain_http_sink_is_refused_outside_development(enabled, connection):
    enabled.DEBUG = False
    enabled.SANDBOX = False

    with pytest.raises(ValueError):
        webhooks.webhook_subscribe(FattureClient(connection), sink="http://bi.example.com/hook")


def test_unsubscribe_deletes_at_fatture_and_forgets(enabled, connection, rsps):
    rsps.post(api("/c/12345/subscriptions"), json=subscription())
    rsps.delete(api("/c/12345/subscriptions/SUB123"), json={"error": {"message": "Not found"}}, status=404)
    client = FattureClient(connection)
    webhooks.webhook_subscribe(client)

    assert webhooks.webhook_unsubscribe(client) is True  # already gone at FiC counts as done
    assert webhooks.webhook_unsubscribe(client) is False
    assert not WebhookSubscription.objects.exists()


def test_the_stored_sink_is_an_accepted_audience(enabled, connection, rsps, received):
    rsps.post(api("/c/12345/subscriptions"), json=subscription(sink="https://old.example.com/hook"))
    webhooks.webhook_subscribe(FattureClient(connection), sink="https://old.example.com/hook")

    response = notify(csrf_client(), auth=f"Bearer {token(aud='https://old.example.com/hook')}")

    assert response.status_code == 200 and received


def test_the_sink_never_uses_a_session_or_a_tenant(enabled, connection, received, outsider_client):
    # A logged-in user of another tenant is nobody to the sink: only the token counts.
    assert notify(outsider_client, auth="").status_code == 401
    assert notify(outsider_client).status_code == 200 and received[0]["company_id"] == 12345
