"""The one Fatture in Cloud API client (design §5: refresh, rate limit, error mapping).

``FattureClient(connection)`` speaks to ``settings.FATTURE_API_URL`` with the connection's bearer
token, through ``brickinvoice.http.build_session("fatture")`` (timeouts, one log line per call,
never a token). It

- refreshes the access token shortly before it expires and once on a 401, under a row lock on the
  connection so that two workers never refresh twice (the refresh token rotates, §2.2);
- marks the connection ``needs_reconnect`` when a refresh is refused, and refuses every call while
  the connection is not connected;
- keeps every worker inside Fatture's per-company hourly quota (1,000 requests/hour) and its
  short-term limit (300 / 5 minutes, §10.3) with counters in the shared Django cache (Redis in
  production), and remembers a ``Retry-After`` so that no worker calls before it;
- turns every error answer into a typed ``ServiceError`` (fatture.errors).
"""

from __future__ import annotations

import logging
import math
import random
import re
import time

import requests
from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from brickinvoice.errors import describe
from brickinvoice.http import build_session

from . import oauth
from .errors import (
    FattureAuthFailed,
    FattureBudgetSpent,
    FattureNotConnected,
    FattureUnavailable,
    NoCompanySelected,
    error_detail,
    parse_retry_after,
    raise_for_response,
)
from .models import FattureConnection

logger = logging.getLogger("fatture.client")

DEFAULT_HOURLY_BUDGET = 950  # under the documented 1,000/hour, leaving room for clock skew and retries
_COMPANY_PATH = re.compile(r"^/c/(\d+)(?:/|$)")

__all__ = ["FattureClient", "quota_take", "quota_block", "quota_turn", "quota_wait", "get_with_token"]


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
            "Waiting for Fatture in Cloud's Retry-After.", retry_after=math.ceil(blocked_until - now)
        )
    short_budget, short_window = _short_budget()
    # The short bucket first: a refusal there must not spend the hour's budget.
    if _count(_short_key(company_id, int(now // short_window)), short_window + 60) > short_budget:
        raise FattureBudgetSpent(
            f"Short-term request budget of {short_budget} per {short_window} s used up for this company.",
            retry_after=math.ceil(short_window - now % short_window),
        )
    hour = _hour_seconds()
    if _count(_budget_key(company_id, int(now // hour)), hour + 120) > hourly_budget():
        raise FattureBudgetSpent(
            f"Hourly request budget of {hourly_budget()} used up for this company.",
            retry_after=math.ceil(hour - now % hour),
        )


def quota_block(company_id: int, seconds: float) -> None:
    """No worker calls this company's API for ``seconds`` (the provider's Retry-After)."""
    seconds = max(1.0, float(seconds))
    cache.set(_blocked_key(company_id), time.time() + seconds, timeout=math.ceil(seconds) + 1)


def _company_of(path: str) -> int | None:
    match = _COMPANY_PATH.match(path)
    return int(match.group(1)) if match else None


def _observe(company_id: int | None, response: requests.Response) -> None:
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


# --- HTTP ---------------------------------------------------------------------------------------


def _send(session, method: str, path: str, token: str, *, params=None, json=None) -> requests.Response:
    url = settings.FATTURE_API_URL + path
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    try:
        return session.request(method, url, params=params, json=json, headers=headers)
    except requests.Timeout as exc:
        raise FattureUnavailable("Fatture in Cloud did not answer in time.") from exc
    except requests.RequestException as exc:
        raise FattureUnavailable(f"Fatture in Cloud could not be reached ({type(exc).__name__}).") from exc


def _parse(response: requests.Response) -> dict:
    if not response.content:
        return {}
    try:
        return response.json()
    except ValueError as exc:
        raise FattureUnavailable(
            "Fatture in Cloud answered with something that is not JSON.", status=response.status_code
        ) from exc


def get_with_token(access_token: str, path: str) -> dict:
    """One GET with a bare token, before any connection row exists (e.g. /user/info at connect)."""
    response = _send(build_session("fatture"), "GET", path, access_token)
    raise_for_response(response)
    return _parse(response)


class FattureClient:
    """Authenticated calls for one ``FattureConnection``. ``calls`` counts the HTTP requests made."""

    def __init__(self, connection: FattureConnection, *, session=None):
        self.connection = connection
        self.session = session or build_session("fatture")

    @property
    def calls(self) -> int:
        return self.session.calls

    @property
    def company_id(self) -> int | None:
        return self.connection.company_id

    def company_path(self, suffix: str) -> str:
        """``/c/{company_id}/{suffix}``; ``no_company_selected`` while no company is chosen."""
        if not self.connection.company_id:
            raise NoCompanySelected()
        return f"/c/{self.connection.company_id}/{suffix.lstrip('/')}"

    def get(self, path: str, params: dict | None = None) -> dict:
        return self.request("GET", path, params=params)

    def post(self, path: str, json: dict) -> dict:
        return self.request("POST", path, json=json)

    def put(self, path: str, json: dict) -> dict:
        return self.request("PUT", path, json=json)

    def delete(self, path: str) -> dict:
        return self.request("DELETE", path)

    def request(self, method: str, path: str, *, params=None, json=None) -> dict:
        self._ensure_usable()
        company_id = _company_of(path)
        if self.connection.token_expires_soon():
            self._refresh(rejected_token=None)
        token_used = self.connection.access_token
        response = self._attempt(method, path, company_id, params=params, json=json)
        if response.status_code == 401:
            self._refresh(rejected_token=token_used)
            response = self._attempt(method, path, company_id, params=params, json=json)
            if response.status_code == 401:
                self._needs_reconnect("fatture_auth_failed", error_detail(response) or "401 after a fresh token.")
        raise_for_response(response)
        return _parse(response)

    # -- internals --------------------------------------------------------------------------------

    def _attempt(self, method, path, company_id, *, params, json) -> requests.Response:
        if company_id is not None:
            quota_take(company_id)
        response = _send(self.session, method, path, self.connection.access_token, params=params, json=json)
        _observe(company_id, response)
        return response

    def _ensure_usable(self) -> None:
        status = self.connection.status
        if status == FattureConnection.Status.NEEDS_RECONNECT:
            raise FattureAuthFailed("The connection needs reconnecting.")
        if status != FattureConnection.Status.CONNECTED or not self.connection.access_token:
            raise FattureNotConnected()

    def _refresh(self, *, rejected_token: str | None) -> None:
        """Refresh under a row lock. ``rejected_token`` is the token a 401 refused (None: proactive).

        The tokens are re-read after the lock is acquired: if another worker refreshed meanwhile,
        its tokens are used and no second refresh happens.
        """
        failure: FattureAuthFailed | None = None
        with transaction.atomic():
            row = FattureConnection.objects.select_for_update().get(pk=self.connection.pk)
            if row.status != FattureConnection.Status.CONNECTED:
                failure = FattureAuthFailed("The connection needs reconnecting.")
            elif rejected_token is not None and row.access_token != rejected_token:
                pass  # another worker already replaced the refused token
            elif rejected_token is None and not row.token_expires_soon():
                pass  # another worker already refreshed ahead of expiry
            else:
                try:
                    tokens = oauth.token_refresh(refresh_token=row.refresh_token)
                except oauth.OAuthRejected as exc:
                    _mark_needs_reconnect(row, "fatture_auth_failed", exc.detail)
                    failure = FattureAuthFailed(exc.detail, status=exc.status)
                else:
                    row.access_token = tokens.access_token
                    row.refresh_token = tokens.refresh_token or row.refresh_token
                    row.token_expires_at = tokens.expires_at
                    row.save(update_fields=["access_token", "refresh_token", "token_expires_at", "updated_at"])
                    logger.info("fatture token refreshed connection=%s", row.public_id)
        self.connection.refresh_from_db()
        if failure:
            raise failure

    def _needs_reconnect(self, code: str, detail: str) -> None:
        with transaction.atomic():
            row = FattureConnection.objects.select_for_update().get(pk=self.connection.pk)
            _mark_needs_reconnect(row, code, detail)
        self.connection.refresh_from_db()
        raise FattureAuthFailed(detail, status=401)


def _mark_needs_reconnect(row: FattureConnection, code: str, detail: str) -> None:
    """Tokens that Fatture no longer accepts are wiped; only a new consent helps now."""
    row.status = FattureConnection.Status.NEEDS_RECONNECT
    row.access_token = ""
    row.refresh_token = ""
    row.token_expires_at = None
    row.last_error_code = code
    row.last_error_message = describe(code).message
    row.last_error_detail = (detail or "")[:2000]
    row.save(
        update_fields=[
            "status",
            "access_token",
            "refresh_token",
            "token_expires_at",
            "last_error_code",
            "last_error_message",
            "last_error_detail",
            "updated_at",
        ]
    )
    logger.warning("fatture connection %s needs reconnecting (%s)", row.public_id, code)
