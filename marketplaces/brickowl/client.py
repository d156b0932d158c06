"""BrickOwl API v1 client: ``key`` as a query parameter, bare JSON answers, typed errors.

Facts: docs/providers/brickowl.md. The quirks handled here:

- no envelope: success is the bare JSON; failure is a non-2xx status and/or ``{"error": ...}`` (§2);
- ``order/list`` has no offset: it caps at ``limit`` (max 5,000) rows, so history is walked by
  moving ``order_time`` (creation time, inclusive) to the newest ``order_date`` seen (§3.1);
- every value is a string; the normalising layer (``normalise.py``) parses them.

The key travels in the query string: ``brickinvoice.http`` logs only the path, and no error text
built here contains the URL or the key.
"""

import time
from typing import Any

import requests
from django.conf import settings
from django.utils.translation import gettext

from brickinvoice.http import build_session, parse_retry_after

from ..errors import BadCredentials, MarketplaceError, NotFound, QuotaExceeded, Unreachable, Unreadable
from ..retry import with_retries

# BrickOwl's documented maximum page size for order/list.
MAX_LIST_LIMIT = 5000
# Its documented default: a server that ignores or caps ``limit`` there (older docs) may cut a
# page at this size, so a page this long is treated as possibly incomplete.
DEFAULT_LIST_LIMIT = 500
# A bound on paging (a million orders): a server that keeps sending full pages must not loop us.
MAX_LIST_PAGES = 200

_CREDENTIAL_WORDS = ("key", "permission", "auth", "denied", "not allowed", "unauthori")


class BrickOwlClient:
    """One seller's BrickOwl API. Methods return parsed JSON; failures raise."""

    def __init__(self, api_key: str):
        self._key = api_key.strip()
        self.session = build_session("brickowl")
        self._last_call = float("-inf")
        self.base_url = settings.BRICKOWL_API_URL

    def __repr__(self) -> str:
        return "BrickOwlClient(********)"

    @property
    def calls(self) -> int:
        return self.session.calls

    # -- endpoints ---------------------------------------------------------------------------

    def user_details(self) -> dict:
        """The key owner and store details: validates the key and gives the store currency.

        The response shape is [U] (§3: like the deprecated token/details); callers
        read it with ``.get()``.
        """
        data = self._get("user/details")
        return data if isinstance(data, dict) else {}

    def list_orders(self, *, order_time: int = 0, limit: int = MAX_LIST_LIMIT) -> list[dict]:
        """One page: received orders created at or after ``order_time`` (Unix seconds)."""
        params = {"list_type": "store", "sort_by": "created", "order_time": str(order_time), "limit": str(limit)}
        data = self._get("order/list", params)
        if isinstance(data, dict):  # some fakes key the list by order id
            data = list(data.values())
        if data is None:
            return []
        if not isinstance(data, list):
            # Nothing in it can be trusted to be an order: a store-level error, retried.
            raise Unreadable(f"BrickOwl's order list is not a list (got {type(data).__name__}).")
        return data

    def list_orders_since(self, order_time: int, *, limit: int = MAX_LIST_LIMIT) -> list[dict]:
        """Every received order created at or after ``order_time``, across as many pages as needed.

        A full page means there may be more: the next page starts at the newest ``order_date`` of
        this one (inclusive, so rows of that second come again and are de-duplicated). This assumes
        the capped page holds the *oldest* rows at or after ``order_time`` (``sort_by=created``),
        which the docs imply but do not state [U]. A page of exactly 500 rows (the documented
        default) also counts as possibly capped, for a server that ignores ``limit``; the extra page it
        costs returns nothing new and ends the walk.
        """
        seen: dict[str, Any] = {}
        cursor = int(order_time)
        for _page in range(MAX_LIST_PAGES):
            rows = self.list_orders(order_time=cursor, limit=limit)
            # Rows are kept as sent (the caller reports the unreadable ones), keyed to drop the
            # repeats of the inclusive cursor second.
            fresh = [row for row in rows if _row_key(row) not in seen]
            for row in fresh:
                seen.setdefault(_row_key(row), row)
            # Shorter than asked for, and not exactly BrickOwl's default cap: nothing is left.
            if len(rows) < limit and (len(rows) != DEFAULT_LIST_LIMIT or not fresh):
                return list(seen.values())
            newest = max(_int(row.get("order_date") if isinstance(row, dict) else None) for row in rows)
            # A full page of one single second cannot be paged past by time; step over it rather
            # than loop forever (it would take 5,000 orders in one second).
            cursor = newest if newest > cursor else cursor + 1
        raise MarketplaceError(f"BrickOwl's order list did not end after {MAX_LIST_PAGES} pages.")

    def order_view(self, order_id: str) -> Any:
        """The order as sent: the normaliser checks its shape (an object per §5), so a malformed
        answer is stored and shown with the order instead of failing the call."""
        return self._get("order/view", {"order_id": str(order_id)})

    def order_items(self, order_id: str) -> Any:
        """The items as sent (a list per §6; an object keyed by item id becomes its values)."""
        data = self._get("order/items", {"order_id": str(order_id)})
        if isinstance(data, dict):
            data = list(data.values())
        return [] if data is None else data

    # -- transport ---------------------------------------------------------------------------

    def _get(self, path: str, params: dict | None = None) -> Any:
        return with_retries(lambda: self._get_once(path, params))

    def _pace(self) -> None:
        """Keep under BrickOwl's 600 calls a minute (§1): a first import of thousands of
        orders would otherwise hit 429 within seconds and stop. One store imports in one task at a
        time, so pacing per client is pacing per key."""
        interval = float(getattr(settings, "BRICKOWL_MIN_CALL_INTERVAL", 0.1))
        wait = self._last_call + interval - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._last_call = time.monotonic()

    def _get_once(self, path: str, params: dict | None) -> Any:
        self._pace()
        try:
            response = self.session.get(f"{self.base_url}/{path}", params={"key": self._key, **(params or {})})
        except requests.Timeout as exc:
            raise Unreachable(gettext("BrickOwl did not answer in time.")) from exc
        except requests.RequestException as exc:
            # Only the exception type: its text carries the URL, and the URL carries the key.
            raise Unreachable(gettext("Could not reach BrickOwl (%(error)s).") % {"error": type(exc).__name__}) from exc
        return self._unwrap(response)

    def _unwrap(self, response: requests.Response) -> Any:
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        error = body.get("error") if isinstance(body, dict) else None
        text = self._error_text(error) if error is not None else ""
        if status == 429:
            raise QuotaExceeded(
                gettext("BrickOwl answered 429 Too Many Requests (600 requests a minute)."),
                retry_after=_retry_after(response),
            )
        if status >= 500:
            raise Unreachable(gettext("BrickOwl server error (HTTP %(status)s).") % {"status": status}, status=status)
        if status in (401, 403) or (error is not None and any(w in text.lower() for w in _CREDENTIAL_WORDS)):
            raise BadCredentials(f"BrickOwl: {text or f'HTTP {status}'}", status=status)
        if status == 404 or _names_missing_resource(text):
            raise NotFound(f"BrickOwl: {text or 'not found'}", status=status)
        if error is not None or not response.ok:
            raise MarketplaceError(f"BrickOwl: {text or f'HTTP {status}'}", status=status)
        if body is None:
            raise Unreachable(
                gettext("BrickOwl sent a non-JSON answer (HTTP %(status)s).") % {"status": status}, status=status
            )
        return body

    def _error_text(self, error) -> str:
        text = (error.get("status") or error.get("message") or str(error)) if isinstance(error, dict) else str(error)
        # Never echo the key back, should BrickOwl ever quote it.
        return str(text).replace(self._key, "********")[:300] if self._key else str(text)[:300]


def _names_missing_resource(text: str) -> bool:
    """An error object like ``{"error": {"status": "Order not found"}}`` (possibly on HTTP 200):
    one order is gone, skip it. "Store not found ... list_type" is a setup problem, not that."""
    lowered = text.lower()
    return "not found" in lowered and "store" not in lowered


def _row_key(row: Any) -> str:
    """A listing row's identity for de-duplication: its order id, or the row itself."""
    if isinstance(row, dict):
        return "id:" + repr(row.get("order_id"))
    return "row:" + repr(row)[:200]


def _int(value) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return 0


def _retry_after(response) -> float | None:
    return parse_retry_after(response.headers.get("Retry-After"))
