"""Fake BrickOwl API v1 (facts: docs/providers/brickowl.md), under
``/sandbox/brickowl/`` mirroring ``/v1``.

- The ``key`` query parameter authenticates. A missing or unknown key answers HTTP 401 with
  ``{"error": {"status": "Invalid API Key"}}``: the error object shape is observed (§2), the exact
  status code and text are [U].
- No envelope: bare JSON arrays and objects, every value a string (ids, money, counts, epoch
  times), ``null`` when absent; ``brickowl_fee``/``affiliate_fee`` are JSON numbers (§5). An unset
  processed time is ``null`` with ``iso_processed_time`` 1970 in London time (§5).
- ``order/list``: ``status`` (name or id), ``order_time`` (creation time ≥, Unix seconds),
  ``limit`` (default 500, capped at 5,000), ``list_type`` (``store``; ``customer`` lists nothing),
  ``sort_by`` (``created`` default, or ``updated``). The order of rows is not documented [U]: the
  fake answers oldest first, so a capped page holds the oldest rows at or after ``order_time``.
- 600 requests per key per minute (``SANDBOX_BRICKOWL_MINUTE_LIMIT``), then HTTP 429.
"""

from __future__ import annotations

import time

from django.http import JsonResponse
from django.views.decorators.http import require_GET

from .conf import knob
from .faults import counter_hit
from .models import SandboxOrder, SandboxStore

DEFAULT_LIMIT = 500
MAX_LIMIT = 5000
STATUSES = {
    "0": "Pending",
    "1": "Payment Submitted",
    "2": "Payment Received",
    "3": "Processing",
    "4": "Processed",
    "5": "Shipped",
    "6": "Received",
    "7": "On Hold",
    "8": "Cancelled",
}


def _json(data, status: int = 200) -> JsonResponse:
    return JsonResponse(data, status=status, safe=False, json_dumps_params={"ensure_ascii": False})


def error(text: str, status: int) -> JsonResponse:
    return _json({"error": {"status": text}}, status=status)


def api(view):
    """Authenticate by ``key``, apply the per-minute limit, then run ``view(request, store)``."""

    def wrapper(request):
        key = request.GET.get("key", "")
        store = SandboxStore.objects.filter(marketplace=SandboxStore.Marketplace.BRICKOWL, lookup_key=key).first()
        if not key or store is None:
            return error("Invalid API Key", 401)
        used = counter_hit(f"sandbox:bo:calls:{store.pk}:{int(time.time() // 60)}", ttl=120)
        if used > knob("SANDBOX_BRICKOWL_MINUTE_LIMIT"):
            response = error("Rate limit exceeded", 429)
            response["Retry-After"] = str(60 - int(time.time() % 60))
            return response
        return view(request, store)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return require_GET(wrapper)


def list_entry(order: dict) -> dict:
    """An ``order/list`` row (§3.1): ``order_date`` is the list's name for ``order_time``."""
    return {
        "order_id": order["order_id"],
        "order_date": order["order_time"],
        "total_quantity": order["total_quantity"],
        "total_lots": order["total_lots"],
        "base_order_total": order["base_order_total"],
        "status": order["status"],
        "status_id": order["status_id"],
        "base_currency": order["base_currency"],
        "url": order.get("url"),
    }


def _status_id(raw: str) -> str | None:
    raw = raw.strip()
    if raw in STATUSES:
        return raw
    by_name = {name.lower(): sid for sid, name in STATUSES.items()}
    return by_name.get(raw.lower())


@api
def order_list(request, store):
    params = request.GET
    if params.get("list_type", "store") not in ("store", "customer"):
        return error("Invalid list_type", 400)
    if params.get("list_type", "store") == "customer":
        return _json([])  # sandbox stores never buy
    try:
        order_time = int(params.get("order_time") or 0)
        limit = int(params.get("limit") or DEFAULT_LIMIT)
    except ValueError:
        return error("Invalid order_time or limit", 400)
    limit = max(1, min(limit, MAX_LIMIT))
    sort_by = params.get("sort_by", "created")
    if sort_by not in ("created", "updated"):
        return error("Invalid sort_by", 400)
    status_id = None
    if params.get("status"):
        status_id = _status_id(params["status"])
        if status_id is None:
            return error("Invalid status", 400)
    rows = SandboxOrder.objects.filter(store=store).order_by("updated_at" if sort_by == "updated" else "ordered_at")
    out = []
    for order in rows.iterator():
        payload = order.payload
        if int(payload["order_time"]) < order_time:
            continue
        if status_id is not None and payload["status_id"] != status_id:
            continue
        out.append(list_entry(payload))
        if len(out) >= limit:
            break
    return _json(out)


def _order(request, store) -> SandboxOrder | None:
    return SandboxOrder.objects.filter(store=store, order_id=str(request.GET.get("order_id", ""))).first()


@api
def order_view(request, store):
    order = _order(request, store)
    return _json(order.payload) if order else error("Order not found", 404)


@api
def order_items(request, store):
    order = _order(request, store)
    return _json(order.items) if order else error("Order not found", 404)


@api
def user_details(request, store):
    """The key owner (§3: the shape of the deprecated ``token/details`` [U])."""
    profile = store.profile
    return _json(
        {
            "username": profile.get("username", ""),
            "uid": profile.get("uid", ""),
            "has_store": "1",
            "store_details": {
                "store_id": profile.get("store_id", ""),
                "name": store.name,
                "base_currency": profile.get("currency", "EUR"),
                "country": profile.get("country", "IT"),
            },
        }
    )


def not_found(request, rest=""):
    return error("Method not found", 404)
