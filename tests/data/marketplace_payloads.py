"""Realistic BrickLink / BrickOwl payloads and `responses`-based fakes.

The payloads are shaped like the examples of docs/providers/bricklink.md §11 and
docs/providers/brickowl.md §8.

The JSON files next to this module are those example payloads; the builders
derive other orders from them (other ids, dates, statuses) so that totals stay consistent.
"""

import copy
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import responses
from django.conf import settings

DATA = Path(__file__).parent

BL_CREDENTIALS = {
    "consumer_key": "CK7F3A9B2C4D5E6F70812",
    "consumer_secret": "CS91AB0C2D3E4F5061728394A5B6C7D8",
    "token_value": "TV5566AA7788BB99CC00DD11EE22FF33",
    "token_secret": "TS77CD8899AABBCCDDEEFF001122334455",
}
BO_KEY = "bokey5f2e8c1d9a7b4e3f6a0b1c2d3e4f5a6b"


def load(name: str):
    return json.loads((DATA / name).read_text())


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


# -- BrickLink --------------------------------------------------------------------------------


def bl_envelope(data=None, *, code=200, message="OK", description="OK") -> dict:
    return {"meta": {"description": description, "message": message, "code": code}, "data": data}


def bl_order(order_id=24680135, *, ordered=None, changed=None, status=None, **changes) -> dict:
    """The example order (docs/providers/bricklink.md §11) with another id, dates or status;
    ``changes`` use dotted keys."""
    order = copy.deepcopy(load("bricklink/order_24680135.json")["data"])
    order["order_id"] = int(order_id)
    if ordered:
        order["date_ordered"] = iso(ordered)
        order["payment"]["date_paid"] = iso(ordered)
    if changed:
        order["date_status_changed"] = iso(changed)
    if status:
        order["status"] = status
    for dotted, value in changes.items():
        target = order
        *path, last = dotted.split("__")
        for key in path:
            target = target[key]
        target[last] = value
    return order


def bl_batches() -> list[list[dict]]:
    return copy.deepcopy(load("bricklink/order_24680135_items.json")["data"])


def bl_summary(order: dict) -> dict:
    """The list row BrickLink returns for an order (docs/providers/bricklink.md §4.1)."""
    keys = [
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
    ]
    row = {k: order.get(k) for k in keys}
    row["payment"] = dict(order.get("payment") or {})
    cost = order.get("cost") or {}
    row["cost"] = {k: cost.get(k) for k in ("currency_code", "subtotal", "grand_total", "final_total")}
    return row


class FakeBrickLink:
    """BrickLink's order endpoints over `responses`, with state the test can change between runs."""

    def __init__(self, rsps: responses.RequestsMock):
        self.base = settings.BRICKLINK_API_URL
        self.orders: dict[str, dict] = {}
        self.items: dict[str, list] = {}
        self.filed: set[str] = set()
        self.raw_overrides: dict[str, dict] = {}  # order id -> body to send instead (malformed data)
        self.raw_bodies: dict[str, str] = {}  # order id -> literal JSON text of `data` (e.g. 1e400)
        self.missing_details: set[str] = set()  # listed, but the detail answers 404 (purged meanwhile)
        self.failing_details: set[str] = set()  # the detail answers 500 every time
        self.exploding_details: set[str] = set()  # the HTTP layer raises an unexpected exception
        self.extra_rows: list = []  # listing rows as sent, e.g. without an order id
        self.list_data = None  # replaces the whole listing's `data` (e.g. an object, not a list)
        self.on_detail = None  # called with the order id before each detail answer
        self.rsps = rsps
        rsps.add_callback(responses.GET, re.compile(re.escape(self.base) + r"/orders(\?.*)?$"), self._list)
        rsps.add_callback(responses.GET, re.compile(re.escape(self.base) + r"/orders/(\d+)/items$"), self._items)
        rsps.add_callback(responses.GET, re.compile(re.escape(self.base) + r"/orders/(\d+)$"), self._detail)

    def add(self, order: dict, batches=None, *, filed=False):
        order_id = str(order["order_id"])
        order["is_filed"] = filed
        self.orders[order_id] = order
        self.items[order_id] = bl_batches() if batches is None else batches
        (self.filed.add if filed else self.filed.discard)(order_id)
        return order

    def _list(self, request):
        query = parse_qs(urlsplit(request.url).query)
        filed = query.get("filed", ["false"])[0] == "true"
        if self.list_data is not None:
            return 200, {}, json.dumps(bl_envelope(self.list_data))
        rows = [bl_summary(o) for oid, o in self.orders.items() if (oid in self.filed) == filed]
        return 200, {}, json.dumps(bl_envelope(rows + ([] if filed else self.extra_rows)))

    def _detail(self, request):
        order_id = urlsplit(request.url).path.rsplit("/", 1)[1]
        if self.on_detail:
            self.on_detail(order_id)
        if order_id in self.exploding_details:
            raise RuntimeError("the fake's HTTP layer blew up")
        if order_id in self.failing_details:
            return 500, {}, json.dumps(bl_envelope(None, code=500, message="INTERNAL_SERVER_ERROR"))
        if order_id not in self.orders or order_id in self.missing_details:
            return 200, {}, json.dumps(bl_envelope(None, code=404, message="RESOURCE_NOT_FOUND"))
        if order_id in self.raw_bodies:
            return 200, {}, '{"meta": {"code": 200, "message": "OK"}, "data": ' + self.raw_bodies[order_id] + "}"
        return 200, {}, json.dumps(bl_envelope(self.raw_overrides.get(order_id, self.orders[order_id])))

    def _items(self, request):
        order_id = urlsplit(request.url).path.rsplit("/", 2)[1]
        return 200, {}, json.dumps(bl_envelope(self.items.get(order_id, [])))

    # What the test asserts on.
    def calls(self, kind: str | None = None) -> list[str]:
        """Paths called, in order; ``kind`` = "list", "detail" or "items" filters them."""
        paths = [urlsplit(c.request.url).path[len(urlsplit(self.base).path) :] for c in self.rsps.calls]
        if kind == "list":
            return [p for p in paths if p == "/orders"]
        if kind == "detail":
            return [p.split("/")[2] for p in paths if re.fullmatch(r"/orders/\d+", p)]
        if kind == "items":
            return [p.split("/")[2] for p in paths if re.fullmatch(r"/orders/\d+/items", p)]
        return paths


# -- BrickOwl ---------------------------------------------------------------------------------


def bo_order(order_id="7654321", *, ordered=None, status_id=None, **changes) -> dict:
    order = copy.deepcopy(load("brickowl/order_7654321.json"))
    order["order_id"] = str(order_id)
    if ordered:
        order["order_time"] = str(int(ordered.timestamp()))
        order["iso_order_time"] = ordered.astimezone(UTC).isoformat()
    if status_id is not None:
        names = {
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
        order["status_id"], order["status"] = str(status_id), names.get(str(status_id), "Weird")
    order.update(changes)
    return order


def bo_items() -> list[dict]:
    return copy.deepcopy(load("brickowl/order_7654321_items.json"))


def bo_list_row(order: dict) -> dict:
    return {
        "order_id": order["order_id"],
        "order_date": order["order_time"],
        "total_quantity": order["total_quantity"],
        "total_lots": order["total_lots"],
        "base_order_total": order["base_order_total"],
        "status": order["status"],
        "status_id": order["status_id"],
        "base_currency": order["base_currency"],
    }


class FakeBrickOwl:
    """BrickOwl's order endpoints over `responses`: order/list honours order_time and limit."""

    def __init__(self, rsps: responses.RequestsMock, *, key: str = BO_KEY):
        self.base = settings.BRICKOWL_API_URL
        self.key = key
        self.orders: dict[str, dict] = {}
        self.items: dict[str, list] = {}
        self.rows: list[dict] | None = None  # bare list rows (paging tests without details)
        self.raw_views: dict[str, str] = {}  # order id -> literal JSON text of order/view (e.g. 1e400)
        self.failing: set[str] = set()  # order/view answers 500 every time
        self.exploding: set[str] = set()  # the HTTP layer raises an unexpected exception
        self.extra_rows: list = []  # listing rows as sent, e.g. without an order id
        self.rsps = rsps
        for path, handler in [("order/list", self._list), ("order/view", self._view), ("order/items", self._items)]:
            rsps.add_callback(responses.GET, re.compile(re.escape(f"{self.base}/{path}") + r"(\?.*)?$"), handler)

    def add(self, order: dict, items=None):
        self.orders[order["order_id"]] = order
        self.items[order["order_id"]] = bo_items() if items is None else items
        return order

    def _params(self, request) -> dict:
        return {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}

    def _auth(self, params):
        if params.get("key") != self.key:
            return 401, {}, json.dumps({"error": {"status": "Invalid API Key"}})
        return None

    def _list(self, request):
        params = self._params(request)
        if denied := self._auth(params):
            return denied
        since, limit = int(params.get("order_time", 0)), int(params.get("limit", 500))
        rows = self.rows if self.rows is not None else [bo_list_row(o) for o in self.orders.values()]
        rows = sorted((r for r in rows if int(r["order_date"]) >= since), key=lambda r: int(r["order_date"]))
        return 200, {}, json.dumps(rows[:limit] + self.extra_rows)

    def _view(self, request):
        params = self._params(request)
        if denied := self._auth(params):
            return denied
        order_id = params.get("order_id")
        if order_id in self.exploding:
            raise RuntimeError("the fake's HTTP layer blew up")
        if order_id in self.failing:
            return 500, {}, "<html>Internal Server Error</html>"
        if order_id in self.raw_views:
            return 200, {}, self.raw_views[order_id]
        order = self.orders.get(order_id)
        if order is None:
            return 404, {}, json.dumps({"error": {"status": "Order not found"}})
        return 200, {}, json.dumps(order)

    def _items(self, request):
        params = self._params(request)
        if denied := self._auth(params):
            return denied
        return 200, {}, json.dumps(self.items.get(params.get("order_id"), []))

    def calls(self, kind: str | None = None) -> list[str]:
        found = []
        for call in self.rsps.calls:
            split = urlsplit(call.request.url)
            path = split.path.rsplit("/", 2)
            name = f"{path[-2]}/{path[-1]}"
            if kind is None or name == f"order/{kind}":
                found.append(parse_qs(split.query).get("order_id", [name])[0])
        return found
