"""A safe first sync: nothing is invoiced before the seller has seen the dry run and confirmed it,
and a sync that would issue a large batch at once waits for the same confirmation."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import SellerSettings
from invoicing import dryrun, queueing
from invoicing.models import Invoice
from tests.factories_invoicing import connected_seller, make_order

pytestmark = pytest.mark.django_db


def test_nothing_is_invoiced_before_the_first_sync_is_confirmed(tenant, fake):
    connected_seller(tenant, confirmed=False)
    make_order(tenant, username="early")
    assert queueing.awaiting_confirmation(tenant=tenant) == 1
    assert queueing.invoices_queue_eligible(tenant=tenant) == 0
    assert not Invoice.objects.exists() and fake.documents == []


def test_the_dry_run_counts_totals_regions_and_late_invoices_without_creating_anything(tenant, fake):
    connected_seller(tenant, confirmed=False)
    today = timezone.now()
    make_order(tenant, username="recent", paid_at=today - timedelta(days=2), ordered_at=today - timedelta(days=3))
    make_order(tenant, username="old", paid_at=today - timedelta(days=40), ordered_at=today - timedelta(days=41))
    make_order(tenant, username="abroad", ship_country="US", ship_postal_code="10001", paid_at=today)
    summary = dryrun.dry_run(tenant=tenant)
    assert summary.first_sync and summary.needs_confirmation and summary.count == 3
    assert dict(summary.region_counts) == {"domestic": 2, "export": 1}
    assert summary.late == 1 and sum(summary.totals.values()) > 0
    assert fake.calls() == [] and not Invoice.objects.exists()


def test_a_later_start_date_leaves_the_older_orders_out(tenant, fake):
    connected_seller(tenant, confirmed=False)
    make_order(tenant, username="older", ordered_at=datetime(2026, 1, 5, tzinfo=UTC))
    make_order(tenant, username="newer", ordered_at=datetime(2026, 3, 1, tzinfo=UTC))
    assert dryrun.dry_run(tenant=tenant, start=datetime(2026, 2, 1).date()).count == 1


def test_confirming_issues_the_backlog_oldest_first_from_the_start_date(
    owner_client, tenant, fake, django_capture_on_commit_callbacks
):
    connected_seller(tenant, confirmed=False)
    for day in (9, 3, 6, 1):
        make_order(
            tenant,
            username=f"day-{day}",
            ordered_at=datetime(2026, 3, day, 8, tzinfo=UTC),
            paid_at=datetime(2026, 3, day, 9, tzinfo=UTC),
        )
    page = owner_client.get(reverse("invoicing:sync_confirm")).content.decode()
    assert 'data-testid="dry-run-count">4<' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(reverse("invoicing:sync_confirm"), {"start": "2026-03-02"})
    assert response.status_code == 302
    settings_row = SellerSettings.objects.get(tenant=tenant)
    assert settings_row.invoicing_confirmed_at and settings_row.cutoff_date.isoformat() == "2026-03-02"
    issued = Invoice.objects.filter(state=Invoice.State.ISSUED).order_by("issued_at")
    assert [i.invoice_date.day for i in issued] == [3, 6, 9]  # the 1st is before the start date
    assert [int(i.number) for i in issued] == [1, 2, 3]


def test_a_member_cannot_start_invoicing(member_client, tenant):
    connected_seller(tenant, confirmed=False)
    assert member_client.post(reverse("invoicing:sync_confirm"), {"start": ""}).status_code == 403


def test_a_large_batch_waits_for_confirmation_even_after_the_first_sync(tenant, fake, settings):
    settings.INVOICING_CONFIRM_ABOVE = 2
    connected_seller(tenant)
    for n in range(3):
        make_order(tenant, username=f"batch-{n}")
    assert queueing.awaiting_confirmation(tenant=tenant) == 3
    assert queueing.invoices_queue_eligible(tenant=tenant) == 0
    assert queueing.invoices_queue_eligible(tenant=tenant, confirmed=True) == 3


def test_the_dashboard_asks_to_check_and_start(owner_client, tenant):
    connected_seller(tenant, confirmed=False)
    make_order(tenant)
    html = owner_client.get(reverse("invoicing:dashboard")).content.decode()
    assert 'data-testid="awaiting-confirmation"' in html and reverse("invoicing:sync_confirm") in html
