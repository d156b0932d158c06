"""Fatture in Cloud's per-company quotas, kept by every worker together in the shared cache.

Fatture counts requests per company and app (docs/providers/fatture-in-cloud.md §10.3): 1,000 per
hour (fixed window reset at the start of each hour), 40,000 per month, and 300 per 5 minutes
(rolling, per company). A call over a limit answers 403 or 429 with ``Retry-After``.
"""

from __future__ import annotations

import logging
import math
import random
import time

import requests
from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext

from brickinvoice.http import parse_retry_after

from .errors import FattureBudgetSpent

logger = logging.getLogger("fatture.quota")

DEFAULT_HOURLY_BUDGET = 950  # under the documented 1,000/hour, leaving room for clock skew and retries

# --- the per-company request budget, shared by every worker -------------------------------------
#
# Two budgets per company, both counters in the shared cache (Redis in production):
# - the hourly quota (1,000/hour, fixed window reset at the start of each hour, §10.3): we spend at
#   most FATTURE_HOURLY_BUDGET (950) of it per window of FATTURE_HOUR_SECONDS (3,600; only a
#   benchmark shortens it, together with an equally fast sandbox);
# - the short-term limit (300 requests / 5 minutes, a *rolling* window, §10.3): we spend at most
#   FATTURE_SHORT_BUDGET (150) per fixed bucket of FATTURE_SHORT_WINDOW_SECONDS (300). Any rolling
#   5-minute window overlaps at most two of our buckets, so it never sees more than 300 of our calls
#   even though our buckets and Fatture's window are not aligned. The same cap spreads the hour's
#   950 calls over at least 32 minutes instead of one burst.


def _budget_key(company_id: int, window: int) -> str:
    return f"fatture:budget:{company_id}:{window}"


def _short_key(company_id: int, bucket: int) -> str:
    return f"fatture:budget-short:{company_id}:{bucket}"


def _blocked_key(company_id: int) -> str:
    return f"fatture:blocked-until:{company_id}"


def hourly_budget() -> int:
    return int(getattr(settings, "FATTURE_HOURLY_BUDGET", DEFAULT_HOURLY_BUDGET))


def _hour_seconds() -> int:
    return max(1, int(getattr(settings, "FATTURE_HOUR_SECONDS", 3600)))


def _short_budget() -> tuple[int, int]:
    window = max(1, int(getattr(settings, "FATTURE_SHORT_WINDOW_SECONDS", 300)))
    return int(getattr(settings, "FATTURE_SHORT_BUDGET", 150)), window


def _count(key: str, ttl: int) -> int:
    cache.add(key, 0, timeout=ttl)
    try:
        return cache.incr(key)
    except ValueError:  # the key expired between add and incr
        cache.add(key, 1, timeout=ttl)
        return 1


def quota_wait(company_id: int, *, need: int = 1, now: float | None = None) -> float:
    """Seconds until this company may be called ``need`` times (0: now). Reads, never counts: a task
    asks before it claims its invoice, so a queue of waiting invoices costs no SQL and no API call.
    Invoice tasks ask for two calls (the usual cost of an invoice), so few of them start and then
    find the budget spent half-way."""
    now = time.time() if now is None else now
    hour = _hour_seconds()
    short_budget, short_window = _short_budget()
    blocked_key = _blocked_key(company_id)
    hour_key = _budget_key(company_id, int(now // hour))
    short_key = _short_key(company_id, int(now // short_window))
    values = cache.get_many([blocked_key, hour_key, short_key])
    waits = [0.0]
    if (values.get(blocked_key) or 0) > now:
        waits.append(values[blocked_key] - now)
    if int(values.get(hour_key) or 0) + need > hourly_budget():
        waits.append(hour - now % hour)
    if int(values.get(short_key) or 0) + need > short_budget:
        waits.append(short_window - now % short_window)
    return max(waits)


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


def quota_take(company_id: int) -> None:
    """Count one request against the company's budgets, or raise ``fatture_quota`` without calling.

    ``cache.add`` + ``cache.incr`` are atomic on Redis, so concurrent workers never over-spend.
    """
    now = time.time()
    blocked_until = cache.get(_blocked_key(company_id))
    if blocked_until and blocked_until > now:
        raise FattureBudgetSpent(
            gettext("Waiting for Fatture in Cloud's Retry-After."), retry_after=math.ceil(blocked_until - now)
        )
    short_budget, short_window = _short_budget()
    # The short bucket first: a refusal there must not spend the hour's budget.
    if _count(_short_key(company_id, int(now // short_window)), short_window + 60) > short_budget:
        raise FattureBudgetSpent(
            gettext("Short-term request budget of %(budget)s per %(window)s s used up for this company.")
            % {"budget": short_budget, "window": short_window},
            retry_after=math.ceil(short_window - now % short_window),
        )
    hour = _hour_seconds()
    if _count(_budget_key(company_id, int(now // hour)), hour + 120) > hourly_budget():
        raise FattureBudgetSpent(
            gettext("Hourly request budget of %(budget)s used up for this company.") % {"budget": hourly_budget()},
            retry_after=math.ceil(hour - now % hour),
        )


def quota_block(company_id: int, seconds: float) -> None:
    """No worker calls this company's API for ``seconds`` (the provider's Retry-After)."""
    seconds = max(1.0, float(seconds))
    cache.set(_blocked_key(company_id), time.time() + seconds, timeout=math.ceil(seconds) + 1)


def observe(company_id: int | None, response: requests.Response) -> None:
    """Remember Retry-After and log the RateLimit-* headers (never the body)."""
    headers = response.headers
    if company_id is not None and response.status_code in (403, 429):
        retry_after = parse_retry_after(headers.get("Retry-After"))
        if retry_after is not None or response.status_code == 429:
            quota_block(company_id, retry_after if retry_after is not None else 60)
    hourly_remaining = headers.get("RateLimit-HourlyRemaining")
    if hourly_remaining is not None or headers.get("RateLimit-MonthlyRemaining") is not None:
        logger.info(
            "fatture quota company=%s hourly_remaining=%s hourly_limit=%s monthly_remaining=%s monthly_limit=%s",
            company_id,
            hourly_remaining,
            headers.get("RateLimit-HourlyLimit"),
            headers.get("RateLimit-MonthlyRemaining"),
            headers.get("RateLimit-MonthlyLimit"),
        )
    if company_id is not None and str(hourly_remaining).strip() == "0":
        now, hour = time.time(), _hour_seconds()
        quota_block(company_id, hour - now % hour)
