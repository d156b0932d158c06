"""Support, privacy and terms links in every page's footer, and the product's own privacy and
terms pages that state what data is kept (issue 16)."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_footer_links_privacy_terms_and_the_configured_support(client, settings):
    settings.SUPPORT_EMAIL = "help@brickinvoice.example"
    settings.SUPPORT_URL = ""

    page = client.get(reverse("landing")).content.decode()

    assert 'href="mailto:help@brickinvoice.example"' in page
    assert f'href="{reverse("privacy")}"' in page and f'href="{reverse("terms")}"' in page


def test_configured_urls_replace_the_product_pages_and_support_url_wins(owner_client, settings):
    settings.SUPPORT_EMAIL = "help@brickinvoice.example"
    settings.SUPPORT_URL = "https://help.brickinvoice.example/"
    settings.PRIVACY_URL = "https://brickinvoice.example/privacy-policy"
    settings.TERMS_URL = "https://brickinvoice.example/terms"

    page = owner_client.get(reverse("marketplaces:stores")).content.decode()

    assert 'href="https://help.brickinvoice.example/"' in page and "mailto:" not in page
    assert 'href="https://brickinvoice.example/privacy-policy"' in page
    assert 'href="https://brickinvoice.example/terms"' in page


def test_no_support_link_when_none_is_configured(client, settings):
    settings.SUPPORT_EMAIL = settings.SUPPORT_URL = ""

    page = client.get(reverse("landing")).content.decode()

    assert 'data-testid="footer-support"' not in page
    assert 'data-testid="footer-privacy"' in page


def test_the_privacy_page_states_the_data_kept_without_signing_in(client):
    page = client.get(reverse("privacy")).content.decode()

    for fact in ("shipping address", "stored encrypted", "VIES", "no advertising or tracking"):
        assert fact in page


def test_the_terms_page_is_public(client):
    response = client.get(reverse("terms"))

    assert response.status_code == 200
    assert "one BrickInvoice account at a time" in response.content.decode()
