"""BrickLink Store API v1 client: OAuth 1.0a-signed GETs, envelope unwrapping, typed errors.

Facts: docs/providers/bricklink.md. The quirks handled here:

- every call is signed with HMAC-SHA1 (consumer key/secret + token value/secret), signature in
  the ``Authorization`` header; requests-oauthlib signs the query parameters actually sent (§2);
- ``meta.code`` is checked even on HTTP 200: auth failures arrive as 200 + ``meta.code`` 401 (§3);
- ``TOKEN_IP_MISMATCHED`` means the token is bound to another IP, which the seller must fix (§2);
- ``GET /orders`` hides filed orders unless ``filed=true``, so both listings are read (§4.1);
- ``GET /orders/{id}/items`` is a list of batches (§4.2).

Every HTTP request counts against the seller's ~5,000 calls/day; ``calls`` says how many we made.
"""

import re
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings
from django.utils.translation import gettext
from requests_oauthlib import OAuth1

from brickinvoice.http import build_session, parse_retry_after

from ..errors import BadCredentials, IpMismatch, MarketplaceError, NotFound, QuotaExceeded, Unreachable, Unreadable
from ..retry import with_retries


@dataclass(frozen=True)
class BrickLinkCredentials:
    consumer_key: str
    consumer_secret: str
    token_value: str
    token_secret: str

    @classmethod
    def from_dict(cls, values: dict) -> "BrickLinkCredentials":
        return cls(**{name: str(values.get(name, "")).strip() for name in cls.__dataclass_fields__})

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    def __repr__(self) -> str:  # never print the secrets, even in a traceback
        return "BrickLinkCredentials(********)"


_IP_RE = re.compile(r"IP:\s*([0-9a-fA-F.:]+)")


class _BrickLinkOAuth1(OAuth1):
    """OAuth1 that sends ``realm=""`` first in the header, the form BrickLink documents (§2).

    oauthlib omits an empty realm; the realm is outside the signature base string (RFC 5849,
    section 3.4.1.3.1), so adding it afterwards leaves the signature valid.
    """

    def __call__(self, request):
        request = super().__call__(request)
        header = request.headers.get("Authorization")
        if isinstance(header, bytes):
            header = header.decode()
        if header and header.startswith("OAuth ") and "realm=" not in header:
            request.headers["Authorization"] = 'OAuth realm="", ' + header[len("OAuth ") :]
        return request


class BrickLinkClient:
    """One seller's BrickLink API. Methods return the envelope's ``data``; failures raise."""

    def __init__(self, credentials: BrickLinkCredentials):
        self.session = build_session("bricklink")
        self.session.auth = _BrickLinkOAuth1(
            credentials.consumer_key,
            client_secret=credentials.consumer_secret,
            resource_owner_key=credentials.token_value,
            resource_owner_secret=credentials.token_secret,
            signature_method="HMAC-SHA1",
            signature_type="AUTH_HEADER",
        )
        self.base_url = settings.BRICKLINK_API_URL

    @property
    def calls(self) -> int:
        """HTTP requests made so far, retries included (each one counts against the quota)."""
        return self.session.calls

    # -- endpoints ---------------------------------------------------------------------------

    def check_credentials(self) -> None:
        """One cheap, read-only call that fails the way any call would with bad keys or IP."""
        self._get("/settings/shipping_methods")

    def list_orders(self, *, filed: bool, status: str | None = None) -> list[dict]:
        """Orders received (``direction=in``); ``status`` is BrickLink's include/exclude list."""
        params = {"direction": "in", "filed": "true" if filed else "false"}
        if status:
            params["status"] = status
        data = self._get("/orders", params)
        if data is None:
            return []
        if not isinstance(data, list):
            # Nothing in it can be trusted to be an order: a store-level error, retried.
            raise Unreadable(f"BrickLink's order list is not a list (got {type(data).__name__}).")
        return data

    def list_all_orders(self, *, status: str | None = None) -> list:
        """Unfiled and filed orders together (2 calls): filed ones are invisible by default.

        Rows are returned as sent (the caller checks them); rows that are objects are merged by
        ``order_id``, anything else is passed on for the caller to report.
        """
        merged: dict[str, dict] = {}
        odd: list = []
        for filed in (False, True):
            for row in self.list_orders(filed=filed, status=status):
                if isinstance(row, dict):
                    merged.setdefault(repr(row.get("order_id")), row)
                else:
                    odd.append(row)
        return [*merged.values(), *odd]

    def get_order(self, order_id: str) -> Any:
        """The order's ``data`` as sent: the normaliser checks its shape (an object per §6)."""
        return self._get(f"/orders/{order_id}")

    def get_order_items(self, order_id: str) -> Any:
        """The item batches (a list of lists): a buyer adding items creates a new batch.

        Returned as sent, for the normaliser to check, except that a flat list of objects (one
        batch without the outer list, seen in fakes) is wrapped into one batch.
        """
        data = self._get(f"/orders/{order_id}/items")
        if data is None:
            return []
        if isinstance(data, list) and data and isinstance(data[0], dict):
            return [data]
        return data

    # -- transport ---------------------------------------------------------------------------

    def _get(self, path: str, params: dict | None = None) -> Any:
        return with_retries(lambda: self._get_once(path, params))

    def _get_once(self, path: str, params: dict | None) -> Any:
        try:
            response = self.session.get(f"{self.base_url}{path}", params=params)
        except requests.Timeout as exc:
            raise Unreachable(gettext("BrickLink did not answer in time.")) from exc
        except requests.RequestException as exc:
            # Only the exception type: its text can carry the URL.
            raise Unreachable(
                gettext("Could not reach BrickLink (%(error)s).") % {"error": type(exc).__name__}
            ) from exc
        return unwrap(response)


def unwrap(response: requests.Response) -> Any:
    """The envelope's ``data``, or the typed error for the HTTP status and ``meta.code``."""
    if response.status_code == 429:
        raise QuotaExceeded(gettext("BrickLink answered 429 Too Many Requests."), retry_after=_retry_after(response))
    try:
        body = response.json()
    except ValueError:
        # A gateway's plain 401/403/404 still means what its status says: an HTML 401 is bad
        # credentials (the seller must act), not an outage to retry forever.
        if 400 <= response.status_code < 500:
            raise _error_for(response.status_code, "", "", response) from None
        # nginx 503 pages when too many requests are in flight, proxies, maintenance pages.
        raise Unreachable(
            gettext("BrickLink sent a non-JSON answer (HTTP %(status)s).") % {"status": response.status_code}
        ) from None
    meta = body.get("meta") if isinstance(body, dict) else None
    if not isinstance(meta, dict):
        if response.ok:
            raise Unreadable("BrickLink's answer had no 'meta' envelope.")
        meta = {}
    try:
        code = int(meta.get("code", response.status_code))
    except (TypeError, ValueError):
        code = response.status_code
    if response.ok and 200 <= code < 300:
        return body.get("data")
    if 200 <= code < 300:  # HTTP error with an OK envelope: trust the HTTP status
        code = response.status_code
    raise _error_for(code, str(meta.get("message") or ""), str(meta.get("description") or ""), response)


def _error_for(code: int, message: str, description: str, response) -> MarketplaceError:
    # The description can contain the consumer key ("consumer: <KEY>"), so it never goes into
    # ``detail`` as is: only the leading reason word and, for IP errors, the IP BrickLink saw.
    reason = (description.split(":", 1)[0] or message).strip()[:80]
    if "TOKEN_IP_MISMATCHED" in description or "TOKEN_IP_MISMATCHED" in message:
        seen = _IP_RE.search(description)
        where = (
            " " + gettext("BrickLink saw the request coming from IP %(ip)s.") % {"ip": seen.group(1)} if seen else ""
        )
        return IpMismatch(f"TOKEN_IP_MISMATCHED.{where}", status=code)
    if code == 401:
        return BadCredentials(f"BrickLink: {reason or 'BAD_OAUTH_REQUEST'}.", status=code)
    if code == 403:
        return MarketplaceError(
            f"BrickLink: {reason or 'PERMISSION_DENIED'}. "
            + gettext("The keys work but may not read orders (is this a seller account?)."),
            status=code,
        )
    if code == 404:
        return NotFound(f"BrickLink: {reason or 'RESOURCE_NOT_FOUND'}.", status=code)
    if code == 429:
        retry_after = _retry_after(response)
        return QuotaExceeded(f"BrickLink: {reason or 'quota exceeded'}.", status=code, retry_after=retry_after)
    if code >= 500:
        return Unreachable(f"BrickLink: {reason or 'server error'} (code {code}).", status=code)
    return MarketplaceError(f"BrickLink: {reason or 'error'} (code {code}).", status=code)


def _retry_after(response) -> float | None:
    return parse_retry_after(response.headers.get("Retry-After"))
