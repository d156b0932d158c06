"""The retry button's `next` is no open redirect and never a 500."""

import pytest
from django.urls import reverse

from invoicing.models import Invoice
from tests.factories_invoicing import make_order


@pytest.fixture
def retry_url(tenant):
    invoice = Invoice.objects.create(tenant=tenant, order=make_order(tenant), state=Invoice.State.NEEDS_ATTENTION)
    return reverse("invoicing:invoice_retry", args=[invoice.public_id])


@pytest.mark.django_db
@pytest.mark.parametrize(
    "next_url",
    ["https://evil.example/phish", "//evil.example/phish", "/\\evil.example", "javascript:alert(1)", "not a url", ""],
)
def test_retry_ignores_a_next_that_leaves_the_site_or_is_no_url(owner_client, retry_url, next_url):
    response = owner_client.post(retry_url, {"next": next_url})
    assert response.status_code == 302
    assert response["Location"] == reverse("invoicing:dashboard")


@pytest.mark.django_db
def test_retry_follows_a_next_on_this_site(owner_client, retry_url):
    response = owner_client.post(retry_url, {"next": "/home/orders?status=failed"})
    assert response.status_code == 302 and response["Location"] == "/home/orders?status=failed"


@pytest.mark.django_db
def test_retry_over_https_refuses_a_plain_http_next(owner_client, retry_url):
    response = owner_client.post(retry_url, {"next": "http://testserver/home/orders"}, secure=True)
    assert response["Location"] == reverse("invoicing:dashboard")
