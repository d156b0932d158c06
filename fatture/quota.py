"""Fatture in Cloud's per-company quotas, kept by every worker together in the shared cache.

Fatture counts requests per company and app (docs/providers/fatture-in-cloud.md §10.3): 1,000 per
hour (fixed window reset at the start of each hour), 40,000 per month (fixed calendar month), and
300 per 5 minutes (rolling, per company). A call over a limit answers 403 or 429 with
``Retry-After``. Successful answers say what remains (``RateLimit-*``, fatture.ratelimit): our
counters are raised to match, so we never believe we have more left than Fatture says.
"""

from __future__ import annotations

import logging
import math
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests
from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext

from brickinvoice.http import parse_retry_after

from .errors import FattureBudgetSpent
from .ratelimit import RateLimits, rate_limits

logger = logging.getLogger("fatture.quota")

DEFAULT_HOURLY_BUDGET = 950  # under the documented 1,000/hour, leaving room for clock skew and retries
DEFAULT_HOURLY_LIMIT = 1000  # Fatture's hourly limit, when its header does not say
DEFAULT_MONTHLY_LIMIT = 40_000  # Fatture's monthly limit per company and app (§10.3)
DEFAULT_RESERVE_PERCENT = 10.0  # of the month, left for the seller's other apps
# Headers read in a window's first moments may still describe the window before (clock skew).
CALIBRATION_GRACE_SECONDS = 120

# --- the per-company request budget, shared by every worker -------------------------------------
#
# Three budgets per company, all counters in the shared cache (Redis in production):
# - the month (40,000/month, fixed calendar month, §10.3): we spend at most FATTURE_MONTHLY_BUDGET
#   (40,000) less FATTURE_QUOTA_RESERVE_PERCENT (10 %) left for the seller's other apps, per UTC
#   calendar month, or per FATTURE_MONTH_SECONDS when a benchmark speeds the clock;
# - the hourly quota (1,000/hour, fixed window reset at the start of each hour, §10.3): we spend at
#   most FATTURE_HOURLY_BUDGET (950) of it per window of FATTURE_HOUR_SECONDS (3,600; only a
#   benchmark shortens it, together with an equally fast sandbox);
# - the short-term limit (300 requests / 5 minutes, a *rolling* window, §10.3): we spend at most
#   FATTURE_SHORT_BUDGET (150) per fixed bucket of FATTURE_SHORT_WINDOW_SECONDS (300). Any rolling
#   5-minute window overlaps at most two of our buckets, so it never sees more than 300 of our calls
#   even though our buckets and Fatture's window are not aligned. The same cap spreads the hour's
#   950 calls over at least 32 minutes instead of one burst.
# The hour and the month also keep an "others" offset: what Fatture's headers say is spent beyond
# our own count (the seller's other apps, or calls we did not count). A window is spent as far as
# our count plus that offset says; the offset only ever grows within a window.


@dataclass(frozen=True)
class Window:
    """One fixed quota window: its id, how long it has run and how long it has left (seconds)."""

    id: str
    elapsed: float
    left: float

    @property
    def length(self) -> float:
        return self.elapsed + self.left


def _budget_key(company_id: int, window: int | str) -> str:
    return f"fatture:budget:{company_id}:{window}"


def _others_key(company_id: int, window: int | str) -> str:
    return f"fatture:budget-others:{company_id}:{window}"


def _month_key(company_id: int, window: str) -> str:
    return f"fatture:budget-month:{company_id}:{window}"


def _month_others_key(company_id: int, window: str) -> str:
    return f"fatture:budget-month-others:{company_id}:{window}"


def _short_key(company_id: int, bucket: int) -> str:
    return f"fatture:budget-short:{company_id}:{bucket}"


def _blocked_key(company_id: int) -> str:
    return f"fatture:blocked-until:{company_id}"


def hourly_budget() -> int:
    return int(getattr(settings, "FATTURE_HOURLY_BUDGET", DEFAULT_HOURLY_BUDGET))


def monthly_limit() -> int:
    return max(0, int(getattr(settings, "FATTURE_MONTHLY_BUDGET", DEFAULT_MONTHLY_LIMIT)))


def reserve_calls(limit: int) -> int:
    """The part of a monthly ``limit`` we leave to the seller's other apps."""
    percent = float(getattr(settings, "FATTURE_QUOTA_RESERVE_PERCENT", DEFAULT_RESERVE_PERCENT))
    return math.ceil(limit * min(100.0, max(0.0, percent)) / 100)


def monthly_budget() -> int:
    """What we may spend in one month window: Fatture's limit less the reserve."""
    return monthly_limit() - reserve_calls(monthly_limit())


def _hour_seconds() -> int:
    return max(1, int(getattr(settings, "FATTURE_HOUR_SECONDS", 3600)))


def _short_budget() -> tuple[int, int]:
    window = max(1, int(getattr(settings, "FATTURE_SHORT_WINDOW_SECONDS", 300)))
    return int(getattr(settings, "FATTURE_SHORT_BUDGET", 150)), window


def hour_window(now: float) -> Window:
    hour = _hour_seconds()
    return Window(str(int(now // hour)), now % hour, hour - now % hour)


def month_window(now: float) -> Window:
    """The UTC calendar month (whether Fatture's month turns at midnight in Rome is not documented;
    the reserve covers the two hours), or a FATTURE_MONTH_SECONDS window on a benchmark's clock."""
    scaled = int(getattr(settings, "FATTURE_MONTH_SECONDS", 0) or 0)
    if scaled > 0:
        return Window(str(int(now // scaled)), now % scaled, scaled - now % scaled)
    moment = datetime.fromtimestamp(now, UTC)
    start = datetime(moment.year, moment.month, 1, tzinfo=UTC)
    end = datetime(moment.year + moment.month // 12, moment.month % 12 + 1, 1, tzinfo=UTC)
    return Window(f"{moment:%Y%m}", (moment - start).total_seconds(), (end - moment).total_seconds())


def _count(key: str, ttl: int) -> int:
    cache.add(key, 0, timeout=ttl)
    try:
        return cache.incr(key)
    except ValueError:  # the key expired between add and incr
        cache.add(key, 1, timeout=ttl)
        return 1


def _spent(values: dict[str, Any], counter_key: str, others_key: str) -> int:
    return int(values.get(counter_key) or 0) + int(values.get(others_key) or 0)


def _month_ttl(month: Window) -> int:
    return math.ceil(month.left) + 86400


def quota_wait(company_id: int, *, need: int = 1, now: float | None = None) -> float:
    """Seconds until this company may be called ``need`` times (0: now). Reads, never counts: a task
    asks before it claims its invoice, so a queue of waiting invoices costs no SQL and no API call.
    Invoice tasks ask for two calls (the usual cost of an invoice), so few of them start and then
    find the budget spent half-way."""
    now = time.time() if now is None else now
    hour, month = hour_window(now), month_window(now)
    short_budget, short_window = _short_budget()
    blocked_key = _blocked_key(company_id)
    hour_key, hour_others = _budget_key(company_id, hour.id), _others_key(company_id, hour.id)
    month_key, month_others = _month_key(company_id, month.id), _month_others_key(company_id, month.id)
    short_key = _short_key(company_id, int(now // short_window))
    values = cache.get_many([blocked_key, hour_key, hour_others, month_key, month_others, short_key])
    waits = [0.0]
    if (values.get(blocked_key) or 0) > now:
        waits.append(values[blocked_key] - now)
    if _spent(values, hour_key, hour_others) + need > hourly_budget():
        waits.append(hour.left)
    if int(values.get(short_key) or 0) + need > short_budget:
        waits.append(short_window - now % short_window)
    if _spent(values, month_key, month_others) + need > monthly_budget():
        waits.append(month.left)
    return max(waits)


def sustained_calls_per_hour() -> int:
    """Calls per real hour the hour's and the short-term budgets allow together."""
    short_budget, short_window = _short_budget()
    return int(min(hourly_budget() * 3600 / _hour_seconds(), short_budget * 3600 / short_window))


@dataclass(frozen=True)
class MonthOutlook:
    remaining: int  # calls we may still make this month
    budget: int  # calls we may make in a whole month
    seconds_left: float  # until the month window turns


def month_outlook(company_id: int, *, now: float | None = None) -> MonthOutlook:
    """The company's month as the budget sees it (a cache read; no API call)."""
    now = time.time() if now is None else now
    month = month_window(now)
    keys = [_month_key(company_id, month.id), _month_others_key(company_id, month.id)]
    spent = _spent(cache.get_many(keys), *keys)
    budget = monthly_budget()
    return MonthOutlook(max(0, budget - spent), budget, month.left)


def quota_turn(company_id: int, *, need: int = 2) -> float:
    """0 when the company may be called now; otherwise how long a waiting task should sleep.

    A backlog must not wake all at once at every bucket boundary (each wake-up is a task run): each
    waiting task books a place in the queue of the first bucket it could use, and the places are
    spread over the coming buckets, twice as many invoices per bucket as the budgets sustain (the
    hourly budget spread over the hour, capped by the short-term budget, at ``need`` calls per
    invoice). A task booked too early just books again."""
    wait = quota_wait(company_id, need=need)
    if wait <= 0:
        return 0.0
    now = time.time()
    short_budget, short_window = _short_budget()
    sustained = min(short_budget, hourly_budget() * short_window / _hour_seconds())
    # Booked twice over: an early task that finds the budget spent only books again (a cache read),
    # while an under-booked bucket would leave quota unused.
    per_bucket = max(1, math.ceil(2 * sustained / need))
    first_bucket = int((now + wait) // short_window)
    ticket = _count(f"fatture:quota-queue:{company_id}:{first_bucket}", int(wait) + 3600)
    buckets_ahead = (ticket - 1) // per_bucket
    return wait + buckets_ahead * short_window + random.uniform(0, short_window / 2)


def _month_spent(month: Window) -> FattureBudgetSpent:
    return FattureBudgetSpent(
        gettext(
            "This month's Fatture in Cloud request budget of %(budget)s is used up for this company; "
            "invoicing resumes when the next month begins."
        )
        % {"budget": monthly_budget()},
        retry_after=math.ceil(month.left),
    )


def quota_take(company_id: int, *, now: float | None = None) -> None:
    """Count one request against the company's budgets, or raise ``fatture_quota`` without calling.

    ``cache.add`` + ``cache.incr`` are atomic on Redis, so concurrent workers never over-spend.
    """
    now = time.time() if now is None else now
    hour, month = hour_window(now), month_window(now)
    blocked_key, hour_others = _blocked_key(company_id), _others_key(company_id, hour.id)
    month_key, month_others = _month_key(company_id, month.id), _month_others_key(company_id, month.id)
    values = cache.get_many([blocked_key, hour_others, month_key, month_others])
    blocked_until = values.get(blocked_key)
    if blocked_until and blocked_until > now:
        raise FattureBudgetSpent(
            gettext("Waiting for Fatture in Cloud's Retry-After."), retry_after=math.ceil(blocked_until - now)
        )
    # The month first, read only: a spent month must not spend the short bucket or the hour.
    if _spent(values, month_key, month_others) >= monthly_budget():
        raise _month_spent(month)
    short_budget, short_window = _short_budget()
    # The short bucket next: a refusal there must not spend the hour's budget.
    if _count(_short_key(company_id, int(now // short_window)), short_window + 60) > short_budget:
        raise FattureBudgetSpent(
            gettext("Short-term request budget of %(budget)s per %(window)s s used up for this company.")
            % {"budget": short_budget, "window": short_window},
            retry_after=math.ceil(short_window - now % short_window),
        )
    hour_count = _count(_budget_key(company_id, hour.id), _hour_seconds() + 120)
    if hour_count + int(values.get(hour_others) or 0) > hourly_budget():
        raise FattureBudgetSpent(
            gettext("Hourly request budget of %(budget)s used up for this company.") % {"budget": hourly_budget()},
            retry_after=math.ceil(hour.left),
        )
    month_count = _count(month_key, _month_ttl(month))
    if month_count + int(values.get(month_others) or 0) > monthly_budget():
        raise _month_spent(month)


def quota_block(company_id: int, seconds: float) -> None:
    """No worker calls this company's API for ``seconds`` (the provider's Retry-After)."""
    seconds = max(1.0, float(seconds))
    cache.set(_blocked_key(company_id), time.time() + seconds, timeout=math.ceil(seconds) + 1)


def _raise_offset(counter_key: str, others_key: str, spent: int, ttl: int) -> None:
    """Raise the window's "others" offset so that our count plus it reaches ``spent`` (never lower
    it). Two workers racing here both write a value read from a recent answer, so the one that
    loses is off by the calls in between; our own calls in flight make the offset smaller, never
    larger, and the margin or the reserve covers them."""
    values = cache.get_many([counter_key, others_key])
    offset = spent - int(values.get(counter_key) or 0)
    if offset > int(values.get(others_key) or 0):
        cache.set(others_key, offset, timeout=ttl)


def _grace(window: Window) -> float:
    return min(CALIBRATION_GRACE_SECONDS, window.length / 50)


def calibrate(company_id: int, limits: RateLimits, *, now: float | None = None) -> None:
    """Raise the company's hour and month counters so that what we think remains is never more
    than what Fatture says remains, less our margin (the hour) or the reserve (the month)."""
    now = time.time() if now is None else now
    hour, month = hour_window(now), month_window(now)
    if limits.hourly_remaining is not None and hour.elapsed >= _grace(hour):
        limit = limits.hourly_limit or DEFAULT_HOURLY_LIMIT
        margin = max(0, limit - hourly_budget())
        spent = hourly_budget() - max(0, limits.hourly_remaining - margin)
        keys = _budget_key(company_id, hour.id), _others_key(company_id, hour.id)
        _raise_offset(*keys, spent, _hour_seconds() + 120)
    if limits.monthly_remaining is not None and month.elapsed >= _grace(month):
        limit = limits.monthly_limit or monthly_limit()
        spent = monthly_budget() - max(0, limits.monthly_remaining - reserve_calls(limit))
        keys = _month_key(company_id, month.id), _month_others_key(company_id, month.id)
        _raise_offset(*keys, spent, _month_ttl(month))


def observe(company_id: int | None, response: requests.Response) -> None:
    """Remember Retry-After, and calibrate the budgets from the RateLimit-* headers (never logs the
    body)."""
    headers = response.headers
    if company_id is not None and response.status_code in (403, 429):
        retry_after = parse_retry_after(headers.get("Retry-After"))
        if retry_after is not None or response.status_code == 429:
            quota_block(company_id, retry_after if retry_after is not None else 60)
    limits = rate_limits(headers)
    if not limits.any:
        return
    logger.info(
        "fatture quota company=%s hourly_remaining=%s hourly_limit=%s monthly_remaining=%s monthly_limit=%s",
        company_id,
        limits.hourly_remaining,
        limits.hourly_limit,
        limits.monthly_remaining,
        limits.monthly_limit,
    )
    if company_id is None:
        return
    calibrate(company_id, limits)
    if limits.hourly_remaining == 0:
        now = time.time()
        quota_block(company_id, hour_window(now).left)
