"""Trust on the connect pages (issue 16): the outgoing IPs to register on BrickLink, the typed
secrets kept server-side after a failed connect (never in the HTML), and one store per account
across tenants (refused without saying who has it)."""

import pytest
from django.conf import settings
from django.urls import reverse

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
