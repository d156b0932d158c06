"""The platform admin cannot delete invoices (no delete permission, no "Delete selected"); it can
only look at them and retry them with the seller's own Retry (issue 16)."""

import pytest
from django.urls import reverse

from accounts.models import User
from invoicing.models import Invoice
from tests.factories_invoicing import connected_seller, make_order

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:invoicing_invoice_changelist"


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("ops@example.com", "ops-password-123456"))
    return client


@pytest.fixture
def invoice(tenant):
    connected_seller(tenant)
    return Invoice.objects.create(tenant=tenant, order=make_order(tenant), state="failed", error_code="internal_error")


def test_the_invoice_list_offers_no_delete_action(admin_client, invoice):
    page = admin_client.get(reverse(CHANGELIST)).content.decode()

    assert 'value="retry"' in page
    assert "delete_selected" not in page


def test_an_invoice_cannot_be_deleted_one_by_one_or_in_bulk(admin_client, invoice):
    change = admin_client.get(reverse("admin:invoicing_invoice_change", args=[invoice.pk])).content.decode()
    assert reverse("admin:invoicing_invoice_delete", args=[invoice.pk]) not in change

    assert (
        admin_client.post(reverse("admin:invoicing_invoice_delete", args=[invoice.pk]), {"post": "yes"}).status_code
        == 403
    )
    admin_client.post(
        reverse(CHANGELIST), {"action": "delete_selected", "_selected_action": [invoice.pk], "post": "yes"}
    )

    assert Invoice.objects.filter(pk=invoice.pk).exists()


def test_the_invoice_fields_are_read_only(admin_client, invoice):
    admin_client.post(reverse("admin:invoicing_invoice_change", args=[invoice.pk]), {"state": "issued", "number": "99"})

    invoice.refresh_from_db()
    assert (invoice.state, invoice.number) == ("failed", "")


def test_the_retry_action_queues_failed_invoices_like_the_sellers_retry(
    admin_client, invoice, tenant, django_capture_on_commit_callbacks
):
    issued = Invoice.objects.create(tenant=tenant, order=make_order(tenant), state="issued")

    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(
            reverse(CHANGELIST), {"action": "retry", "_selected_action": [invoice.pk, issued.pk]}, follow=True
        )

    assert "1 invoice queued again." in response.content.decode()
    invoice.refresh_from_db()
    assert (invoice.state, invoice.error_code, invoice.attempts) == ("pending", "", 0)
    assert Invoice.objects.get(pk=issued.pk).state == "issued"  # an issued invoice is never reopened
    assert len(callbacks) == 1  # one dispatcher kick for the company
