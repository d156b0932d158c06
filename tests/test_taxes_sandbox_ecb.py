"""The sandbox's fake ECB feeds (sandbox/ecb.py): the same shape as the ECB's, so the rates
refresh runs end to end in the demo without the internet."""

from datetime import date

import pytest
from django.utils import timezone

from taxes.ecb import ecb_rates_refresh, rate_on
from taxes.ecb_feed import parse_ecb_feed

pytestmark = [pytest.mark.urls("sandbox.test_urls"), pytest.mark.django_db]
BASE = "http://sandbox.test/sandbox/ecb"


def test_the_fake_daily_feed_parses_cleanly_and_is_dated_on_the_latest_weekday(client):
    parsed = parse_ecb_feed(client.get("/sandbox/ecb/eurofxref-daily.xml").content)
    assert parsed.problems == ()
    (day,) = parsed.days
    assert day.day <= timezone.localdate() and day.day.weekday() < 5
    assert "USD" in day.rates


def test_the_fake_90_day_feed_has_weekdays_only_each_linked(client):
    parsed = parse_ecb_feed(client.get("/sandbox/ecb/eurofxref-hist-90d.xml").content)
    assert parsed.problems == () and len(parsed.days) == 64
    assert all(d.day.weekday() < 5 for d in parsed.days)


def test_the_refresh_runs_against_the_sandbox(client, rsps, settings):
    settings.ECB_DAILY_RATES_URL = f"{BASE}/eurofxref-daily.xml"
    settings.ECB_HISTORY_90D_URL = f"{BASE}/eurofxref-hist-90d.xml"
    for name in ("eurofxref-daily.xml", "eurofxref-hist-90d.xml"):
        rsps.add_callback(
            "GET",
            f"{BASE}/{name}",
            callback=lambda request, name=name: (200, {}, client.get(f"/sandbox/ecb/{name}").content),
        )
    result = ecb_rates_refresh()
    assert result.caught_up and result.days_stored == 65
    latest = parse_ecb_feed(client.get("/sandbox/ecb/eurofxref-daily.xml").content).days[0].day
    assert rate_on("USD", latest).rate_date == latest
    assert isinstance(latest, date)
