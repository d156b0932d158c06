"""Trust on the connect pages (issue 16): the outgoing IPs to register on BrickLink, the typed
secrets kept server-side after a failed connect (never in the HTML), and one store per account
across tenants (refused without saying who has it)."""

import hashlib
import json
import time

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse

from marketplaces import kept
from marketplaces.models import StoreConnection
from tests.data.marketplace_payloads import BL_CREDENTIALS, BO_KEY, bl_envelope
from tests.factories import BrickLinkStoreFactory, StoreConnectionFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_marketplace_backoff")]

BL = settings.BRICKLINK_API_URL
BO = settings.BRICKOWL_API_URL


# -- outgoing IPs ------------------------------------------------------------------------------


def test_bricklink_page_lists_every_configured_outgoing_ip(owner_client, settings):
    settings.OUTGOING_IPS = ["192.0.2.10", "198.51.100.4"]

    page = owner_client.get(reverse("marketplaces:connect_bricklink")).content.decode()

    assert "<code>192.0.2.10</code>" in page and "<code>198.51.100.4</code>" in page
    assert "ask support" not in page


def test_bricklink_page_without_outgoing_ips_says_what_to_do(owner_client, settings):
    settings.OUTGOING_IPS = []

    page = owner_client.get(reverse("marketplaces:connect_bricklink")).content.decode()

    assert "ask support for the address" in page
    assert "0.0.0.0" in page and "less safe" in page
    assert "<code>" not in page


# -- a failed connect keeps what was typed -----------------------------------------------------


SECRETS = ("consumer_secret", "token_value", "token_secret")


def refuse_bricklink(rsps):
    rsps.get(
        f"{BL}/settings/shipping_methods",
        json=bl_envelope(None, code=401, message="BAD_OAUTH_REQUEST", description="SIGNATURE_INVALID"),
    )


def accept_bricklink(rsps):
    rsps.get(f"{BL}/settings/shipping_methods", json=bl_envelope([{"method_id": 1, "name": "Posta1"}]))


def test_sessions_are_kept_on_the_server():
    assert settings.SESSION_ENGINE in (
        "django.contrib.sessions.backends.db",
        "django.contrib.sessions.backends.cache",
        "django.contrib.sessions.backends.cached_db",
    )


def test_failed_bricklink_connect_keeps_the_secrets_masked_and_never_in_the_page(owner_client, rsps):
    refuse_bricklink(rsps)

    response = owner_client.post(reverse("marketplaces:connect_bricklink"), BL_CREDENTIALS)

    assert response.status_code == 400
    page = response.content.decode()
    assert "Kept from your last try" in page
    assert all(BL_CREDENTIALS[name] not in page for name in SECRETS)
    assert f"••••••••{BL_CREDENTIALS['token_value'][-4:]}" in page  # the masked hint only
    # Kept encrypted in the server-side session, not in plain text.
    session = owner_client.session
    assert all(BL_CREDENTIALS[name] not in json.dumps(dict(session)) for name in SECRETS)
    # A plain reload within the time shows them kept and still not in the HTML.
    again = owner_client.get(reverse("marketplaces:connect_bricklink")).content.decode()
    assert "Kept from your last try" in again
    assert all(BL_CREDENTIALS[name] not in again for name in SECRETS)


def test_retry_with_empty_secret_fields_uses_the_kept_ones_then_forgets_them(owner_client, tenant, rsps):
    refuse_bricklink(rsps)
    owner_client.post(reverse("marketplaces:connect_bricklink"), BL_CREDENTIALS)
    rsps.reset()
    accept_bricklink(rsps)

    response = owner_client.post(
        reverse("marketplaces:connect_bricklink"), {"consumer_key": BL_CREDENTIALS["consumer_key"]}
    )

    assert response.status_code == 302
    sent = rsps.calls[0].request.headers["Authorization"]
    assert BL_CREDENTIALS["token_value"] in sent  # the kept token signed the call
    assert StoreConnection.objects.get(tenant=tenant).get_credentials() == BL_CREDENTIALS
    page = owner_client.get(reverse("marketplaces:connect_bricklink")).content.decode()
    assert "Kept from your last try" not in page


def test_a_newly_typed_secret_replaces_the_kept_one(owner_client, tenant, rsps):
    refuse_bricklink(rsps)
    owner_client.post(reverse("marketplaces:connect_bricklink"), {**BL_CREDENTIALS, "token_secret": "WRONG-SECRET-1"})
    rsps.reset()
    accept_bricklink(rsps)

    owner_client.post(
        reverse("marketplaces:connect_bricklink"),
        {"consumer_key": BL_CREDENTIALS["consumer_key"], "token_secret": BL_CREDENTIALS["token_secret"]},
    )

    assert StoreConnection.objects.get(tenant=tenant).get_credentials() == BL_CREDENTIALS


def test_kept_secrets_are_forgotten_after_a_short_time(owner_client, rsps, monkeypatch):
    refuse_bricklink(rsps)
    owner_client.post(reverse("marketplaces:connect_bricklink"), BL_CREDENTIALS)
    later = time.time() + kept.KEEP_SECONDS + 1
    monkeypatch.setattr(kept.time, "time", lambda: later)

    response = owner_client.post(
        reverse("marketplaces:connect_bricklink"), {"consumer_key": BL_CREDENTIALS["consumer_key"]}
    )

    assert response.status_code == 200  # the form asks for the secrets again, nobody is called
    assert "Kept from your last try" not in response.content.decode()
    assert len(rsps.calls) == 1


def test_failed_brickowl_connect_keeps_the_key_out_of_the_page(owner_client, tenant, rsps):
    rsps.get(f"{BO}/user/details", status=401, json={"error": {"status": "Invalid API Key"}})
    response = owner_client.post(reverse("marketplaces:connect_brickowl"), {"api_key": BO_KEY})
    assert response.status_code == 400 and BO_KEY not in response.content.decode()
    rsps.reset()
    rsps.get(f"{BO}/user/details", json={"uid": 7, "username": "bricks", "store_details": {"store_id": 99}})

    response = owner_client.post(reverse("marketplaces:connect_brickowl"), {"api_key": ""})

    assert response.status_code == 302
    assert StoreConnection.objects.get(tenant=tenant).get_credentials() == {"api_key": BO_KEY}


# -- one connection per store across tenants ---------------------------------------------------


def bricklink_ref() -> str:
    return "sha256:" + hashlib.sha256(BL_CREDENTIALS["consumer_key"].encode()).hexdigest()[:40]


def test_a_bricklink_store_connected_by_another_tenant_is_refused_without_saying_who(
    owner_client, tenant, other_tenant, outsider, rsps
):
    BrickLinkStoreFactory(tenant=other_tenant, account_ref=bricklink_ref(), name="Secret Shop")
    accept_bricklink(rsps)

    response = owner_client.post(reverse("marketplaces:connect_bricklink"), BL_CREDENTIALS)

    assert response.status_code == 400
    page = response.content.decode()
    assert "already connected to another BrickInvoice account" in page
    assert all(who not in page for who in ("Other Bricks", "outsider@example.com", "Secret Shop"))
    assert not StoreConnection.objects.filter(tenant=tenant).exists()


def test_the_store_can_be_connected_once_the_other_tenant_disconnected_it(owner_client, tenant, other_tenant, rsps):
    BrickLinkStoreFactory(
        tenant=other_tenant, account_ref=bricklink_ref(), status=StoreConnection.Status.DISCONNECTED, credentials=""
    )
    accept_bricklink(rsps)

    response = owner_client.post(reverse("marketplaces:connect_bricklink"), BL_CREDENTIALS)

    assert response.status_code == 302
    assert StoreConnection.objects.get(tenant=tenant).account_ref == bricklink_ref()


def test_a_brickowl_store_needing_attention_elsewhere_is_still_taken(owner_client, tenant, other_tenant, rsps):
    StoreConnectionFactory(tenant=other_tenant, account_ref="store:99", status=StoreConnection.Status.NEEDS_ATTENTION)
    rsps.get(f"{BO}/user/details", json={"uid": 7, "username": "owl", "store_details": {"store_id": 99}})

    response = owner_client.post(reverse("marketplaces:connect_brickowl"), {"api_key": "another-key-of-that-store-1"})

    assert response.status_code == 400
    assert "already connected to another BrickInvoice account" in response.content.decode()
    assert not StoreConnection.objects.filter(tenant=tenant).exists()


def test_the_database_refuses_two_live_connections_of_one_account(tenant, other_tenant):
    BrickLinkStoreFactory(tenant=other_tenant, account_ref=bricklink_ref())

    with pytest.raises(IntegrityError), transaction.atomic():
        BrickLinkStoreFactory(tenant=tenant, account_ref=bricklink_ref())
