"""Fake BrickLink Store API v1 (facts: docs/providers/bricklink.md), under
``/sandbox/bricklink/`` mirroring ``/api/store/v1``.

- OAuth 1.0a HMAC-SHA1 signatures in the ``Authorization`` header are verified with oauthlib's
  server-side functions against the store's consumer secret and token secret. The signed URL is
  the one the client used (``request.build_absolute_uri()``), query parameters included (§2).
- Every answer is the envelope ``{meta: {description, message, code}, data}``; authentication
  failures are **HTTP 200 with meta.code 401** (``BAD_OAUTH_REQUEST``), as observed (§3):
  ``CONSUMER_KEY_UNKNOWN``, ``TOKEN_VALUE_UNKNOWN``, ``SIGNATURE_INVALID``,
  ``TIMESTAMP_REFUSED``, ``NONCE_USED`` and ``TOKEN_IP_MISMATCHED: consumer: <KEY> IP: <ip>``
  for a token registered for another IPv4 address (only the last three words are documented;
  the other strings are [U] and chosen here).
- A per-store, per-UTC-day call counter (``SANDBOX_BRICKLINK_DAILY_LIMIT``, default 5,000). What
  BrickLink answers past the quota is [U]; the fake answers HTTP 429 carrying an envelope with
  ``meta.code`` 429 and a ``Retry-After`` up to the next UTC midnight, covering the two reported
  symptoms (a gateway 429 and ``meta.code`` 429).
"""

from __future__ import annotations

import ipaddress
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from django.core.cache import cache
from django.http import JsonResponse
from django.views.decorators.http import require_GET
from oauthlib.oauth1.rfc5849 import signature as oauth_signature
from oauthlib.oauth1.rfc5849 import utils as oauth_utils

from .conf import knob
from .faults import counter_hit
from .models import SandboxOrder, SandboxStore

TIMESTAMP_WINDOW = 15 * 60  # seconds of clock skew accepted, like common OAuth 1.0a servers
_MESSAGES = {
    200: ("OK", "OK"),
    400: ("PARAMETER_MISSING_OR_INVALID", "PARAMETER_MISSING_OR_INVALID"),
    401: ("BAD_OAUTH_REQUEST", "BAD_OAUTH_REQUEST"),
    404: ("RESOURCE_NOT_FOUND", "RESOURCE_NOT_FOUND"),
    405: ("METHOD_NOT_ALLOWED", "METHOD_NOT_ALLOWED"),
    429: ("TOO_MANY_REQUESTS", "API daily quota exceeded"),
}
PAID_STATUSES = {"PAID", "PACKED", "SHIPPED", "RECEIVED", "COMPLETED"}


def envelope(code: int, data=None, *, description: str | None = None, http_status: int = 200) -> JsonResponse:
    message, default_description = _MESSAGES.get(code, ("ERROR", "ERROR"))
    body = {"meta": {"description": description or default_description, "message": message, "code": code}}
    if data is not None or code == 200:
        body["data"] = data
    return JsonResponse(body, status=http_status, safe=False, json_dumps_params={"ensure_ascii": False})


class _Refused(Exception):
    def __init__(self, description: str):
        super().__init__(description)
        self.description = description


def _oauth_params(request) -> dict[str, str]:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header.lower().startswith("oauth "):
        raise _Refused("NO_AUTHORIZATION_HEADER")
    try:
        return {k: oauth_utils.unescape(v) for k, v in oauth_utils.parse_authorization_header(header)}
    except ValueError as exc:
        raise _Refused("AUTHORIZATION_HEADER_INVALID") from exc


def _ip_allowed(token: dict, remote: str) -> bool:
    ip = token.get("ip") or "0.0.0.0"  # noqa: S104 - BrickLink's spelling of "any address"
    if ip == "0.0.0.0":  # noqa: S104
        return True
    mask = token.get("mask") or "255.255.255.255"
    try:
        network = ipaddress.IPv4Network(f"{ip}/{mask}", strict=False)
        return ipaddress.IPv4Address(remote) in network
    except ValueError:
        return False


def authenticate(request) -> SandboxStore:
    """The store whose credentials signed ``request``, or ``_Refused`` with BrickLink's reason."""
    params = _oauth_params(request)
    consumer_key = params.get("oauth_consumer_key", "")
    store = SandboxStore.objects.filter(marketplace=SandboxStore.Marketplace.BRICKLINK, lookup_key=consumer_key).first()
    if store is None:
        raise _Refused("CONSUMER_KEY_UNKNOWN")
    token = next((t for t in store.credentials.get("tokens", []) if t["value"] == params.get("oauth_token")), None)
    if token is None:
        raise _Refused(f"TOKEN_VALUE_UNKNOWN: consumer: {consumer_key}")
    if params.get("oauth_signature_method") != "HMAC-SHA1":
        raise _Refused("SIGNATURE_METHOD_NOT_SUPPORTED")
    try:
        timestamp = int(params.get("oauth_timestamp", ""))
    except ValueError:
        timestamp = 0
    if abs(time.time() - timestamp) > TIMESTAMP_WINDOW:
        raise _Refused("TIMESTAMP_REFUSED")
    oauth_request = SimpleNamespace(
        uri=request.build_absolute_uri(),
        http_method=request.method,
        params=oauth_signature.collect_parameters(
            uri_query=request.META.get("QUERY_STRING", ""),
            headers={"Authorization": request.META["HTTP_AUTHORIZATION"]},
            exclude_oauth_signature=True,
        ),
        signature=params.get("oauth_signature", ""),
    )
    if not oauth_signature.verify_hmac_sha1(
        oauth_request, store.credentials.get("consumer_secret", ""), token.get("secret", "")
    ):
        raise _Refused(f"SIGNATURE_INVALID: consumer: {consumer_key}")
    nonce_key = f"sandbox:bl:nonce:{consumer_key}:{params.get('oauth_nonce', '')}"
    if not cache.add(nonce_key, 1, timeout=TIMESTAMP_WINDOW * 2):
        raise _Refused("NONCE_USED")
    remote = request.META.get("REMOTE_ADDR", "")
    if not _ip_allowed(token, remote):
        raise _Refused(f"TOKEN_IP_MISMATCHED: consumer: {consumer_key} IP: {remote}")
    return store


def _over_quota(store: SandboxStore) -> JsonResponse | None:
    now = datetime.now(UTC)
    used = counter_hit(f"sandbox:bl:calls:{store.pk}:{now:%Y%m%d}", ttl=2 * 86400)
    if used <= knob("SANDBOX_BRICKLINK_DAILY_LIMIT"):
        return None
    midnight = datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)
    response = envelope(429, description="API_QUOTA_EXCEEDED: daily quota of API calls used up", http_status=429)
    response["Retry-After"] = str(int((midnight - now).total_seconds()) + 1)
    return response


def api(view):
    """Authenticate, count the call, then run ``view(request, store, **kwargs)``."""

    def wrapper(request, **kwargs):
        try:
            store = authenticate(request)
        except _Refused as refused:
            return envelope(401, description=refused.description)
        return _over_quota(store) or view(request, store, **kwargs)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return require_GET(wrapper)


# --- endpoints ----------------------------------------------------------------------------------

SUMMARY_FIELDS = (
    "order_id",
    "date_ordered",
    "date_status_changed",
    "seller_name",
    "store_name",
    "buyer_name",
    "total_count",
    "unique_count",
    "status",
    "is_filed",
    "salesTax_collected_by_bl",
    "vat_collected_by_bl",
)


def order_summary(order: dict) -> dict:
    """The list entry of one order (§4.1): no buyer e-mail, address, shipping or items."""
    summary = {key: order[key] for key in SUMMARY_FIELDS if key in order}
    payment = order.get("payment") or {}
    summary["payment"] = {k: payment.get(k) for k in ("method", "status", "date_paid", "currency_code") if k in payment}
    summary["cost"] = {
        k: order["cost"][k] for k in ("currency_code", "subtotal", "grand_total", "final_total") if k in order["cost"]
    }
    summary["disp_cost"] = {
        k: order["disp_cost"][k]
        for k in ("currency_code", "subtotal", "grand_total", "final_total")
        if k in order.get("disp_cost", {})
    }
    return summary


def _status_filter(raw: str):
    """``status=paid,packed`` includes, ``status=-purged,-cancelled`` excludes (case-insensitive).
    How a mix resolves is [U]: here an order must be in the includes (if any) and not excluded."""
    wanted = [s.strip().upper() for s in raw.split(",") if s.strip()]
    include = {s for s in wanted if not s.startswith("-")}
    exclude = {s[1:] for s in wanted if s.startswith("-")}
    return lambda status: (not include or status in include) and status not in exclude


@api
def orders(request, store):
    direction = request.GET.get("direction", "in").lower()
    filed = request.GET.get("filed", "false").lower()
    if direction not in ("in", "out") or filed not in ("true", "false"):
        return envelope(400, description="PARAMETER_MISSING_OR_INVALID: direction or filed")
    if direction == "out":
        return envelope(200, [])  # the sandbox stores never buy
    keep = _status_filter(request.GET.get("status", ""))
    rows = []
    for order in SandboxOrder.objects.filter(store=store).order_by("-ordered_at"):
        payload = order.payload
        if bool(payload.get("is_filed")) == (filed == "true") and keep(str(payload.get("status", "")).upper()):
            rows.append(order_summary(payload))
    return envelope(200, rows)


def _order(store, order_id: str) -> SandboxOrder | None:
    return SandboxOrder.objects.filter(store=store, order_id=str(order_id)).first()


@api
def order_detail(request, store, order_id):
    order = _order(store, order_id)
    if order is None:
        return envelope(404, description=f"RESOURCE_NOT_FOUND: order {order_id}", http_status=404)
    return envelope(200, order.payload)


@api
def order_items(request, store, order_id):
    order = _order(store, order_id)
    if order is None:
        return envelope(404, description=f"RESOURCE_NOT_FOUND: order {order_id}", http_status=404)
    return envelope(200, order.items)


@api
def shipping_methods(request, store):
    return envelope(200, store.profile.get("shipping_methods", []))


@api
def notifications(request, store):
    return envelope(200, [])


def not_found(request, rest=""):
    return envelope(404, description="INVALID_URI", http_status=404)
