"""A backlog is planned, not attempted: before a large or first sync the seller reads "N invoices,
about D days at your quota", from what remains of the month's budget and the measured calls per
invoice; a backlog larger than the month goes out over the coming months, oldest first."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from freezegun import freeze_time

from fatture.quota import quota_take
from invoicing.accounting import QuotaOutlook
from invoicing.backlog import DEFAULT_CALLS_PER_INVOICE, backlog_plan, calls_per_invoice
from invoicing.models import Invoice
from tests.factories_invoicing import connected_seller, make_order

NOW = datetime(2026, 3, 21, 12, tzinfo=UTC)


def _outlook(remaining, *, days_left=10.5, per_window=36000, per_hour=950):
    return QuotaOutlook(remaining, per_window, NOW + timedelta(days=days_left), per_hour)


def test_a_backlog_within_the_month_goes_at_the_hourly_pace():
    plan = backlog_plan(invoices=100, calls_per_invoice=2, outlook=_outlook(36000), now=NOW)
    assert plan.calls == 200 and plan.fits_this_window
    assert plan.days == pytest.approx(200 / (950 * 24)) and plan.whole_days == 1


def test_a_whale_larger_than_the_month_waits_for_the_next_months():
    """20,000 orders of new buyers: 40,000 calls against 6,000 left and 36,000 a month."""
    plan = backlog_plan(invoices=20000, calls_per_invoice=2, outlook=_outlook(6000), now=NOW)
    assert not plan.fits_this_window
    # This month's 10.5 days, then 34,000 calls of the next month at 22,800 a day.
    assert plan.days == pytest.approx(10.5 + 34000 / 22800)
    bigger = backlog_plan(invoices=50000, calls_per_invoice=2, outlook=_outlook(6000), now=NOW)
    assert bigger.days == pytest.approx(10.5 + 2 * 30 + 22000 / 22800)  # two whole months, then part


@pytest.mark.django_db
def test_calls_per_invoice_is_measured_from_the_sellers_issued_invoices(tenant):
    assert calls_per_invoice(tenant=tenant) == DEFAULT_CALLS_PER_INVOICE  # nothing issued yet
    for i, calls in enumerate([1, 1, 1, 3]):
        Invoice.objects.create(
            tenant=tenant,
            order=make_order(tenant, username=f"b{i}"),
            state=Invoice.State.ISSUED,
            api_calls=calls,
            issued_at=NOW,
        )
    assert calls_per_invoice(tenant=tenant) == 1.5


@pytest.mark.django_db
def test_the_confirmation_page_says_how_long_the_backlog_takes_at_the_quota(owner_client, tenant, settings):
    settings.FATTURE_MONTHLY_BUDGET, settings.FATTURE_QUOTA_RESERVE_PERCENT = 10, 0
    connection = connected_seller(tenant, confirmed=False)
    for day in (1, 2, 3, 4):
        make_order(tenant, username=f"day-{day}", ordered_at=datetime(2026, 3, day, 8, tzinfo=UTC))
    with freeze_time("2026-03-20 12:00:00"):
        page = owner_client.get(reverse("invoicing:sync_confirm")).content.decode()
        assert "4 invoices, in less than a day at your quota" in page  # 8 calls of 10 left
        assert 'data-testid="dry-run-months"' not in page
        for _ in range(5):
            quota_take(connection.company_id)  # five calls of this month are spent
        page = owner_client.get(reverse("invoicing:sync_confirm")).content.decode()
    # 5 calls now, 3 when the month turns in 11.5 days.
    assert "4 invoices, about 12 days at your quota" in page
    assert "about 8 requests to Fatture in Cloud, 2.0 per invoice" in page
    assert 'data-testid="dry-run-months"' in page and "oldest orders first" in page
