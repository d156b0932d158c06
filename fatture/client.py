"""The one Fatture in Cloud API client (design §5: refresh, rate limit, error mapping).

``FattureClient(connection)`` speaks to ``settings.FATTURE_API_URL`` with the connection's bearer
token, through ``brickinvoice.http.build_session("fatture")`` (timeouts, one log line per call,
never a token). It

- refreshes the access token shortly before it expires and once on a 401, under a row lock on the
  connection so that two workers never refresh twice (the refresh token rotates, §2.2);
- marks the connection ``needs_reconnect`` when a refresh is refused, and refuses every call while
  the connection is not connected;
- keeps every worker inside Fatture's per-company hourly quota (1,000 requests/hour, §10.3) with a
  counter in the shared Django cache (Redis in production), and remembers a ``Retry-After`` so that
  no worker calls before it;
- turns every error answer into a typed ``ServiceError`` (fatture.errors).
"""

from __future__ import annotations

import logging
import math
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
    FattureNotConnected,
    FattureQuotaExceeded,
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

__all__ = ["FattureClient", "quota_take", "quota_block", "get_with_token"]


# --- the per-company request budget, shared by every worker -------------------------------------


def _budget_key(company_id: int, hour: int) -> str:
    return f"fatture:budget:{company_id}:{hour}"


def _blocked_key(company_id: int) -> str:
    return f"fatture:blocked-until:{company_id}"


def hourly_budget() -> int:
    return int(getattr(settings, "FATTURE_HOURLY_BUDGET", DEFAULT_HOURLY_BUDGET))


def quota_take(company_id: int) -> None:
    """Count one request against the company's hour, or raise ``fatture_quota`` without calling.

    Fatture's hourly window is fixed and resets at the start of each hour (§10.3), hence one counter
    per clock hour. ``cache.add`` + ``cache.incr`` are atomic on Redis, so workers never over-spend.
    """
    now = time.time()
    blocked_until = cache.get(_blocked_key(company_id))
    if blocked_until and blocked_until > now:
        raise FattureQuotaExceeded(
            "Waiting for Fatture in Cloud's Retry-After.", retry_after=math.ceil(blocked_until - now)
        )
    key = _budget_key(company_id, int(now // 3600))
    cache.add(key, 0, timeout=3600 + 120)
    try:
        used = cache.incr(key)
    except ValueError:  # the key expired between add and incr
        cache.add(key, 1, timeout=3600 + 120)
        used = 1
    if used > hourly_budget():
        raise FattureQuotaExceeded(
            f"Hourly request budget of {hourly_budget()} used up for this company.",
            retry_after=math.ceil(3600 - now % 3600),
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
        now = time.time()
        quota_block(company_id, 3600 - now % 3600)


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
