"""The one Fatture in Cloud API client (docs/architecture.md §5.9: refresh, rate limit,
error mapping).

``FattureClient(connection)`` speaks to ``settings.FATTURE_API_URL`` with the connection's bearer
token, through ``brickinvoice.http.build_session("fatture")`` (timeouts, one log line per call,
never a token). It

- refreshes the access token shortly before it expires and once on a 401, under a row lock on the
  connection so that two workers never refresh twice (the refresh token rotates,
  docs/providers/fatture-in-cloud.md §2.2);
- marks the connection ``needs_reconnect`` when a refresh is refused, and refuses every call while
  the connection is not connected;
- keeps every worker inside Fatture's per-company quotas (fatture.quota), and remembers a
  ``Retry-After`` so that no worker calls before it;
- turns every error answer into a typed ``ServiceError`` (fatture.errors);
- reads paginated lists page by page (``iter_pages``).

Facts: docs/providers/fatture-in-cloud.md (§2.2 token rotation, §3 paging, §10 errors and quotas).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import requests
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext

from accounts.tasks import notify_owners_after_commit
from brickinvoice.errors import describe
from brickinvoice.http import ProviderSession, build_session

from . import oauth
from .errors import (
    FattureAuthFailed,
    FattureNotConnected,
    FattureUnavailable,
    NoCompanySelected,
    error_detail,
    raise_for_response,
)
from .health import note_answered
from .models import FattureConnection
from .quota import observe, quota_take

logger = logging.getLogger("fatture.client")

JSON = dict[str, Any]  # a decoded JSON object

_COMPANY_PATH = re.compile(r"^/c/(\d+)(?:/|$)")
PER_PAGE = 100  # the API maximum; the spec default is only 5 (docs/providers/fatture-in-cloud.md §3)
MAX_PAGES = 500  # a guard against a provider that never reports its last page


def _company_of(path: str) -> int | None:
    match = _COMPANY_PATH.match(path)
    return int(match.group(1)) if match else None


# --- HTTP ---------------------------------------------------------------------------------------


def _send(
    session: ProviderSession,
    method: str,
    path: str,
    token: str,
    *,
    params: JSON | None = None,
    json: JSON | None = None,
) -> requests.Response:
    url = settings.FATTURE_API_URL + path
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    try:
        return session.request(method, url, params=params, json=json, headers=headers)
    except requests.Timeout as exc:
        raise FattureUnavailable(gettext("Fatture in Cloud did not answer in time.")) from exc
    except requests.RequestException as exc:
        raise FattureUnavailable(
            gettext("Fatture in Cloud could not be reached (%(error)s).") % {"error": type(exc).__name__}
        ) from exc


def _parse(response: requests.Response) -> JSON:
    if not response.content:
        return {}
    try:
        body = response.json()
    except ValueError as exc:
        raise FattureUnavailable(
            gettext("Fatture in Cloud answered with something that is not JSON."), status=response.status_code
        ) from exc
    if not isinstance(body, dict):
        # Every answer is a JSON object (docs/providers/fatture-in-cloud.md §1); anything else is a
        # broken answer, never something to index into.
        raise FattureUnavailable(
            gettext("Fatture in Cloud answered with an unexpected shape."), status=response.status_code
        )
    return body


def get_with_token(access_token: str, path: str) -> JSON:
    """One GET with a bare token, before any connection row exists (e.g. /user/info at connect)."""
    response = _send(build_session("fatture"), "GET", path, access_token)
    raise_for_response(response)
    return _parse(response)


class FattureClient:
    """Authenticated calls for one ``FattureConnection``. ``calls`` counts the HTTP requests made."""

    def __init__(self, connection: FattureConnection, *, session: ProviderSession | None = None):
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

    def get(self, path: str, params: JSON | None = None) -> JSON:
        return self.request("GET", path, params=params)

    def post(self, path: str, json: JSON) -> JSON:
        return self.request("POST", path, json=json)

    def put(self, path: str, json: JSON) -> JSON:
        return self.request("PUT", path, json=json)

    def delete(self, path: str) -> JSON:
        return self.request("DELETE", path)

    def iter_pages(self, path: str, params: JSON | None = None, *, max_pages: int = MAX_PAGES) -> Iterator[JSON]:
        """Every item of a paginated list (docs/providers/fatture-in-cloud.md §3): page after page,
        100 per page, until ``current_page`` reaches ``last_page`` (or, without ``last_page``, until
        ``next_page_url`` is empty or a page comes back empty)."""
        page = 1
        for _ in range(max_pages):
            answer = self.get(path, params={**(params or {}), "per_page": PER_PAGE, "page": page})
            data = answer.get("data") or []
            yield from data
            current = int(answer.get("current_page") or page)
            last = answer.get("last_page")
            if last is not None:
                if current >= int(last):
                    return
            elif not answer.get("next_page_url") or not data:
                return
            page = current + 1

    def request(self, method: str, path: str, *, params: JSON | None = None, json: JSON | None = None) -> JSON:
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
                self._needs_reconnect(
                    "fatture_auth_failed", error_detail(response) or gettext("401 after a fresh token.")
                )
        raise_for_response(response)
        note_answered(self.connection.pk)
        return _parse(response)

    # -- internals --------------------------------------------------------------------------------

    def _attempt(
        self, method: str, path: str, company_id: int | None, *, params: JSON | None, json: JSON | None
    ) -> requests.Response:
        if company_id is not None:
            quota_take(company_id)
        response = _send(self.session, method, path, self.connection.access_token, params=params, json=json)
        observe(company_id, response)
        return response

    def _ensure_usable(self) -> None:
        status = self.connection.status
        if status == FattureConnection.Status.NEEDS_RECONNECT:
            raise FattureAuthFailed(gettext("The connection needs reconnecting."))
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
                failure = FattureAuthFailed(gettext("The connection needs reconnecting."))
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
    # The owners are told at once (throttled per day); reconnecting resolves it (invoicing).
    notify_owners_after_commit(
        tenant_id=row.tenant_id, kind="fatture_reconnect", context={"reason": str(describe(code).message)}
    )
