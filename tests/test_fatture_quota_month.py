"""The month is Fatture's real ceiling: a per-company monthly budget (less a reserve for the seller's
other apps) shared by every worker, calibrated from the RateLimit-* headers, and invoices that wait
for the next month in the database with a message that says so, instead of a storm of 403s."""

from datetime import UTC, datetime, timedelta

import pytest
import responses
from freezegun import freeze_time

from fatture.client import FattureClient
from fatture.errors import FattureQuotaExceeded
from fatture.models import FattureConnection
from fatture.quota import monthly_budget, quota_wait
from invoicing import queueing
from invoicing.backlog import quota_outlook
from invoicing.models import Invoice
from tests.factories_fatture import VAT_TYPES, FattureConnectionFactory, api
from tests.factories_invoicing import make_order

pytestmark = pytest.mark.django_db

VAT_PATH = "/c/12345/info/vat_types"
COMPANY = 12345
APRIL = datetime(2026, 4, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _small_month(settings):
    # 10 a month, 20 % reserved for the seller's other apps: we spend 8.
    settings.FATTURE_MONTHLY_BUDGET, settings.FATTURE_QUOTA_RESERVE_PERCENT = 10, 20
    settings.FATTURE_CLIENT_ID, settings.FATTURE_CLIENT_SECRET = "bi-client-id", "secret"


def _get(connection_pk, path=VAT_PATH):
    return FattureClient(FattureConnection.objects.get(pk=connection_pk)).get(path)


def test_the_reserve_is_left_to_the_sellers_other_apps(settings):
    assert monthly_budget() == 8
    settings.FATTURE_MONTHLY_BUDGET, settings.FATTURE_QUOTA_RESERVE_PERCENT = 40000, 10
    assert monthly_budget() == 36000


def test_a_spent_month_refuses_calls_without_sending_them_until_the_next_month(rsps):
    connection = FattureConnectionFactory()
    rsps.add(responses.GET, api(VAT_PATH), json=VAT_TYPES)
    with freeze_time("2026-03-31 23:00:00"):
        for _ in range(8):
            _get(connection.pk)
        with pytest.raises(FattureQuotaExceeded) as exc:
            _get(connection.pk)
        assert exc.value.retry_after == 3600  # until 1 April, 00:00 UTC
        assert "month" in exc.value.detail
        assert quota_wait(COMPANY) == 3600
    assert len(rsps.calls) == 8  # the refused call never left
    with freeze_time("2026-04-01 00:00:30"):  # a new month, a new budget
        _get(connection.pk)
    assert len(rsps.calls) == 9


def test_the_month_is_shared_by_every_worker_and_each_company_has_its_own(rsps):
    first, second = FattureConnectionFactory(), FattureConnectionFactory(company_id=999)
    rsps.add(responses.GET, api(VAT_PATH), json=VAT_TYPES)
    rsps.add(responses.GET, api("/c/999/info/vat_types"), json=VAT_TYPES)
    with freeze_time("2026-03-10 10:00:00"):
        for minute in range(8):  # spread over hours: neither the hour nor the short bucket binds
            with freeze_time(f"2026-03-1{minute // 4} {10 + minute % 4}:00:00"):
                _get(first.pk)
        with pytest.raises(FattureQuotaExceeded):
            _get(first.pk)
        _get(second.pk, "/c/999/info/vat_types")
    assert len(rsps.calls) == 9


def test_a_benchmark_clock_shortens_the_month(rsps, settings):
    settings.FATTURE_MONTH_SECONDS = 600
    connection = FattureConnectionFactory()
    rsps.add(responses.GET, api(VAT_PATH), json=VAT_TYPES)
    with freeze_time("2026-03-10 10:01:00"):
        for _ in range(8):
            _get(connection.pk)
        assert quota_wait(COMPANY) == 540  # the 600-second "month" ends at 10:10
    with freeze_time("2026-03-10 10:10:01"):
        assert quota_wait(COMPANY) == 0


# --- calibration from the headers ----------------------------------------------------------------


def _limits(hourly_remaining="990", monthly_remaining="9", monthly_limit="10"):
    return {
        "RateLimit-HourlyRemaining": hourly_remaining,
        "RateLimit-HourlyLimit": "1000",
        "RateLimit-MonthlyRemaining": monthly_remaining,
        "RateLimit-MonthlyLimit": monthly_limit,
    }


def test_headers_saying_other_apps_spent_the_month_stop_us_at_the_reserve(rsps):
    """Fatture says 5 of 10 remain (other apps spent 4): with 2 kept in reserve, 3 are ours."""
    connection = FattureConnectionFactory()
    rsps.add(responses.GET, api(VAT_PATH), json=VAT_TYPES, headers=_limits(monthly_remaining="5"))
    with freeze_time("2026-03-10 10:30:00"):
        _get(connection.pk)
        assert quota_outlook(COMPANY).remaining == 3
        for _ in range(3):
            _get(connection.pk)
        with pytest.raises(FattureQuotaExceeded):
            _get(connection.pk)
    assert len(rsps.calls) == 4


def test_headers_never_give_back_budget_we_counted(rsps):
    connection = FattureConnectionFactory()
    rsps.add(responses.GET, api(VAT_PATH), json=VAT_TYPES, headers=_limits(monthly_remaining="10"))
    with freeze_time("2026-03-10 10:30:00"):
        for _ in range(3):
            _get(connection.pk)
        assert quota_outlook(COMPANY).remaining == 5  # ours counted 3; Fatture's "10 left" is ignored


def test_a_smaller_monthly_limit_in_the_headers_wins_over_the_setting(rsps, settings):
    settings.FATTURE_MONTHLY_BUDGET, settings.FATTURE_QUOTA_RESERVE_PERCENT = 40000, 10
    connection = FattureConnectionFactory()
    rsps.add(responses.GET, api(VAT_PATH), json=VAT_TYPES, headers=_limits("990", "1500", "2000"))
    with freeze_time("2026-03-10 10:30:00"):
        _get(connection.pk)
        # 1,500 remain of 2,000; 10 % of 2,000 stays in reserve.
        assert quota_outlook(COMPANY).remaining == 1300


def test_hourly_headers_spend_our_hour_with_the_same_margin(rsps, settings):
    settings.FATTURE_MONTHLY_BUDGET = 40000
    connection = FattureConnectionFactory()
    rsps.add(responses.GET, api(VAT_PATH), json=VAT_TYPES, headers=_limits("51", "30000", "40000"))
    with freeze_time("2026-03-10 10:30:00"):
        _get(connection.pk)
        assert quota_wait(COMPANY) == 0  # 51 left, 50 kept as margin: one more call is ours
        _get(connection.pk)
        assert quota_wait(COMPANY) == 1800  # until 11:00


def test_garbage_headers_change_nothing(rsps):
    connection = FattureConnectionFactory()
    rsps.add(responses.GET, api(VAT_PATH), json=VAT_TYPES, headers=_limits("-3", "lots", "１０"))
    with freeze_time("2026-03-10 10:30:00"):
        _get(connection.pk)
        assert quota_outlook(COMPANY).remaining == 7


def test_headers_in_a_new_windows_first_seconds_are_not_trusted(rsps):
    """Just after midnight on the 1st the answer may still count last month's calls."""
    connection = FattureConnectionFactory()
    rsps.add(responses.GET, api(VAT_PATH), json=VAT_TYPES, headers=_limits("0", "0"))
    with freeze_time("2026-04-01 00:00:10"):
        _get(connection.pk)
        assert quota_outlook(COMPANY).remaining == 7


# --- invoices wait for the next month -------------------------------------------------------------


# Fatture's remaining 2: only the reserve is left; 3: one call of ours is left, less than an invoice
# may need (a new buyer costs two), so the month is as good as spent and must be worded so.
@pytest.mark.parametrize("monthly_remaining", ["2", "3"])
def test_a_spent_month_parks_the_head_until_the_next_month_with_a_clear_message(
    tenant, rsps, django_capture_on_commit_callbacks, monthly_remaining
):
    connection = FattureConnectionFactory()
    rsps.add(responses.GET, api(VAT_PATH), json=VAT_TYPES, headers=_limits(monthly_remaining=monthly_remaining))
    invoices = [
        Invoice.objects.create(
            tenant=tenant,
            order=make_order(tenant, username=f"buyer-{i}"),
            company_id=COMPANY,
            sort_at=APRIL - timedelta(days=30 - i),
        )
        for i in range(3)
    ]
    sent: list[int] = []
    with freeze_time("2026-03-31 22:00:00"):
        _get(connection.pk)  # Fatture says only the reserve is left
        with django_capture_on_commit_callbacks(execute=True):
            queueing.dispatch(send=sent.append)
    assert sent == [] and len(rsps.calls) == 1  # no message, no call
    head = Invoice.objects.get(id=invoices[0].id)
    assert head.state == Invoice.State.PENDING and head.waiting_for_quota and head.queued_at is None
    assert APRIL <= head.next_attempt_at <= APRIL + timedelta(minutes=10)
    assert "month" in head.error_message and "oldest first" in head.error_hint
    # The others wait behind it (one head per company), not as messages.
    assert Invoice.objects.filter(company_id=COMPANY, next_attempt_at__isnull=True).count() == 2
    with freeze_time(head.next_attempt_at + timedelta(seconds=1)), django_capture_on_commit_callbacks(execute=True):
        queueing.dispatch(send=sent.append)
    assert sent == [head.id]
