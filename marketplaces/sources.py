"""One adapter per marketplace for the import loop in ``services``: how to list, how to fetch
one order, and how the listing cursor moves. The loop itself is marketplace-neutral.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from accounts.choices import OrderStatus

from .bricklink.client import BrickLinkClient, BrickLinkCredentials
from .bricklink.normalise import normalise_order as bricklink_order
from .bricklink.normalise import normalise_status as bricklink_status
from .brickowl.client import BrickOwlClient
from .brickowl.normalise import normalise_order as brickowl_order
from .brickowl.normalise import normalise_status as brickowl_status
from .models import Marketplace, StoreConnection
from .normalised import NormalisedOrder, epoch_or_none, iso_or_none, payload_hash

# Statuses after which an order does not change any more (for the BrickOwl listing window).
FINAL_STATUSES = {OrderStatus.COMPLETED, OrderStatus.CANCELLED}
# How far back BrickOwl orders are re-listed to catch status changes: the list has no
# "updated since" filter we can trust (reference §3.1 [U]), so open orders are re-listed.
BRICKOWL_REVISIT = timedelta(days=90)


@dataclass(frozen=True)
class ListedOrder:
    """One row of a marketplace's order list: enough to decide whether to fetch the detail."""

    order_id: str
    ordered_at: datetime | None
    status: str
    marker: str  # hash of the row: equal to the stored one means "unchanged, do not fetch"
    row: dict


class BrickLinkSource:
    """Full sweep every run: BrickLink's list has no paging and no date filter (reference §4.1)."""

    marketplace = Marketplace.BRICKLINK
    daily_budget = True
    # Purged orders may have no detail any more; everything else is listed.
    list_status_filter = "-purged"

    def __init__(self, store: StoreConnection):
        self.client = BrickLinkClient(BrickLinkCredentials.from_dict(store.get_credentials()))

    @property
    def calls(self) -> int:
        return self.client.calls

    def list_orders(self, *, cursor: dict, since: datetime | None) -> list[ListedOrder]:
        rows = self.client.list_all_orders(status=self.list_status_filter)
        return [
            ListedOrder(
                order_id=_order_id(row),
                ordered_at=iso_or_none(row.get("date_ordered")),
                status=bricklink_status(row.get("status"), row.get("payment"))[0],
                marker=payload_hash(row),
                row=row,
            )
            for row in rows
            if isinstance(row, dict) and _order_id(row)
        ]

    def fetch(self, order_id: str) -> NormalisedOrder:
        """Detail + items: 2 calls."""
        return bricklink_order(self.client.get_order(order_id), self.client.get_order_items(order_id))

    def next_cursor(self, *, cursor: dict, listed: list[ListedOrder], now: datetime) -> dict:
        return {}

    def store_name(self, listed: list[ListedOrder]) -> str:
        return next((str(o.row.get("store_name")) for o in listed if o.row.get("store_name")), "")


class BrickOwlSource:
    """Listing by creation time from a cursor that stays at the oldest open order (within
    ``BRICKOWL_REVISIT``), so status changes of open orders show up in the list rows."""

    marketplace = Marketplace.BRICKOWL
    daily_budget = False  # 600 requests a minute, no daily cap (reference §1)

    def __init__(self, store: StoreConnection):
        self.client = BrickOwlClient(store.get_credentials().get("api_key", ""))

    @property
    def calls(self) -> int:
        return self.client.calls

    def list_orders(self, *, cursor: dict, since: datetime | None) -> list[ListedOrder]:
        start = cursor.get("order_time")
        if start is None:
            start = int(since.timestamp()) if since else 0
        rows = self.client.list_orders_since(int(start))
        listed = []
        for row in rows:
            order_id = _order_id(row) if isinstance(row, dict) else ""
            if order_id:
                listed.append(
                    ListedOrder(
                        order_id=order_id,
                        # order_date in list rows; order_view calls it order_time (reference §5).
                        ordered_at=epoch_or_none(row.get("order_date") or row.get("order_time")),
                        status=brickowl_status(row.get("status_id"))[0],
                        marker=payload_hash(row),
                        row=row,
                    )
                )
        return listed

    def fetch(self, order_id: str) -> NormalisedOrder:
        """order/view + order/items: 2 calls."""
        return brickowl_order(self.client.order_view(order_id), self.client.order_items(order_id))

    def next_cursor(self, *, cursor: dict, listed: list[ListedOrder], now: datetime) -> dict:
        dated = [o for o in listed if o.ordered_at]
        if not dated:
            return cursor
        newest = max(o.ordered_at for o in dated)
        open_orders = [o.ordered_at for o in dated if o.status not in FINAL_STATUSES]
        start = min(open_orders) if open_orders else newest
        start = max(start, min(now - BRICKOWL_REVISIT, newest))
        return {"order_time": int(start.timestamp())}

    def store_name(self, listed: list[ListedOrder]) -> str:
        return ""


def _order_id(row: dict) -> str:
    """The order id as a string; a missing or null id is "" (never the string "None")."""
    value = row.get("order_id")
    return "" if value is None else str(value).strip()


def source_for(store: StoreConnection) -> BrickLinkSource | BrickOwlSource:
    if store.marketplace == Marketplace.BRICKLINK:
        return BrickLinkSource(store)
    return BrickOwlSource(store)
