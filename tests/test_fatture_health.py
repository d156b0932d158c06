"""The dashboard's Fatture row tells the connection's real state: it is verified by what Fatture
answered, checked in the background when that is old, and never "Connected" by default."""

import pytest
import responses
from django.conf import settings
from django.urls import reverse

from fatture import health
from fatture.models import FattureConnection
from tests.factories_invoicing import connected_seller

pytestmark = pytest.mark.django_db

USER_INFO = {"data": {"user": {"id": 1, "name": "Mario", "email": "mario@example.com"}}}


def _dashboard(client) -> str:
    return client.get(reverse("invoicing:dashboard")).content.decode()


def test_first_look_checks_in_the_background_and_then_says_connected(owner_client, tenant):
    connection = connected_seller(tenant)
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, f"{settings.FATTURE_API_URL}/user/info", json=USER_INFO)
        first = _dashboard(owner_client)
        assert len(rsps.calls) == 1  # the one background check (eager in tests)
        second = _dashboard(owner_client)
        assert len(rsps.calls) == 1  # fresh now: no second check
    assert "Checking the connection" in first
    assert "Last answer:" in second and "Checking the connection" not in second
    assert health.freshness(connection).answered_at is not None


def test_a_revoked_token_shows_needs_reconnecting_without_any_invoice_failing(owner_client, tenant):
    connection = connected_seller(tenant)
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, f"{settings.FATTURE_API_URL}/user/info", status=401, json={"error": {}})
        rsps.add(responses.POST, settings.FATTURE_TOKEN_URL, status=400, json={"error": "invalid_grant"})
        _dashboard(owner_client)
    connection.refresh_from_db()
    assert connection.status == FattureConnection.Status.NEEDS_RECONNECT
    html = _dashboard(owner_client)
    assert "Needs reconnecting" in html


def test_an_outage_reads_not_answering_until_fatture_answers_again(owner_client, tenant):
    connection = connected_seller(tenant)
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, f"{settings.FATTURE_API_URL}/user/info", status=500, json={"error": {}})
        _dashboard(owner_client)
    html = _dashboard(owner_client)
    assert "Not answering" in html
    health.note_answered(connection.pk)  # any later call Fatture answers clears it
    assert "Not answering" not in _dashboard(owner_client)


def test_an_answered_invoice_call_counts_as_verified_with_no_extra_call(tenant):
    from fatture.client import FattureClient

    connection = connected_seller(tenant)
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, f"{settings.FATTURE_API_URL}/c/{connection.company_id}/info", json={"data": {}})
        FattureClient(connection).get(f"/c/{connection.company_id}/info")
    assert not health.freshness(connection).stale
