"""One adapter per marketplace for the import loop in ``imports``: how to list, how to fetch and
normalise one order, and how the listing cursor moves. The loop itself is marketplace-neutral.

Listing rows are outside data too: a row that is no object or has no readable order id cannot
become an ``Order``; it is described in ``listing_problems`` (with an excerpt of the row) for the
store's page instead of being dropped without a word.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils.translation import gettext as _

from accounts.choices import OrderStatus

from .boundary import Problems, excerpt, order_ref
from .bricklink.client import BrickLinkClient, BrickLinkCredentials
from .bricklink.normalise import normalise_order as bricklink_order
from .bricklink.normalise import normalise_status as bricklink_status
from .brickowl.client import BrickOwlClient
from .brickowl.normalise import normalise_order as brickowl_order
from .brickowl.normalise import normalise_status as brickowl_status
from .models import Marketplace, StoreConnection
from .moments import epoch_moment, iso_moment
from .normalised import NormalisedOrder, payload_hash
from .rawpayload import bounded_raw

# Statuses after which an order does not change any more (for the BrickOwl listing window).
FINAL_STATUSES = {OrderStatus.COMPLETED, OrderStatus.CANCELLED}
# How far back BrickOwl orders are re-listed to catch status changes: the list has no
# "updated since" filter we can trust (docs/providers/brickowl.md §3.1 [U]), so open orders are
# re-listed.
BRICKOWL_REVISIT = timedelta(days=90)
# Listing problems kept per import: a listing of thousands of broken rows stays readable.
MAX_LISTING_PROBLEMS = 20


@dataclass(frozen=True)
class ListedOrder:
    """One row of a marketplace's order list: enough to decide whether to fetch the detail."""

    order_id: str
    ordered_at: datetime | None
    status: str
    marker: str  # hash of the row: equal to the stored one means "unchanged, do not fetch"
    row: dict


class _Source:
    """What both adapters share: the listing-row checks and the problems they produce."""

    name = ""

    def __init__(self) -> None:
        self.listing_problems: list[str] = []

    def _listed(
        self, rows: list, *, ordered_at: Callable[[dict], datetime | None], status: Callable[[dict], str]
    ) -> list[ListedOrder]:
        """The rows with a readable order id, as ``ListedOrder``; the others become problems."""
        listed = []
        for position, row in enumerate(rows, start=1):
            order_id = order_ref(row.get("order_id")) if isinstance(row, dict) else ""
            if not order_id:
                self._unreadable_row(position, row)
                continue
            listed.append(
                ListedOrder(
                    order_id=order_id,
                    # Dates in a listing only sort and filter: a bad one is reported by the detail read.
                    ordered_at=ordered_at(row),
                    status=status(row),
                    marker=payload_hash(bounded_raw(row)),
                    row=row,
                )
            )
        return listed

    def _unreadable_row(self, position: int, row) -> None:
        if len(self.listing_problems) >= MAX_LISTING_PROBLEMS:
            return
        self.listing_problems.append(
            _("Row %(position)d of the %(marketplace)s order list has no readable order id and was skipped: %(row)s.")
            % {"position": position, "marketplace": self.name, "row": excerpt(row, 120)}
        )


class BrickLinkSource(_Source):
    """Full sweep every run: BrickLink's list has no paging and no date filter
    (docs/providers/bricklink.md §4.1)."""

    marketplace = Marketplace.BRICKLINK
    name = "BrickLink"
    daily_budget = True
    # Purged orders may have no detail any more; everything else is listed.
    list_status_filter = "-purged"

    def __init__(self, store: StoreConnection):
        super().__init__()
        self.client = BrickLinkClient(BrickLinkCredentials.from_dict(store.get_credentials()))

    @property
    def calls(self) -> int:
        return self.client.calls

    def list_orders(self, *, cursor: dict, since: datetime | None) -> list[ListedOrder]:
        rows = self.client.list_all_orders(status=self.list_status_filter)
        return self._listed(
            rows,
            ordered_at=lambda row: iso_moment(row.get("date_ordered"), "date_ordered", Problems()),
            status=lambda row: bricklink_status(row.get("status"), row.get("payment"))[0],
        )

    def fetch_raw(self, order_id: str) -> tuple:
        """Detail + items as BrickLink sent them: 2 calls."""
        return self.client.get_order(order_id), self.client.get_order_items(order_id)

    def normalise(self, order, items) -> NormalisedOrder:
        return bricklink_order(order, items)

    def next_cursor(self, *, cursor: dict, listed: list[ListedOrder], now: datetime, hold: set[str]) -> dict:
        return {}

    def store_name(self, listed: list[ListedOrder]) -> str:
        names = (o.row.get("store_name") for o in listed)
        return next((name.strip() for name in names if isinstance(name, str) and name.strip()), "")


class BrickOwlSource(_Source):
    """Listing by creation time from a cursor that stays at the oldest open order (within
    ``BRICKOWL_REVISIT``), so status changes of open orders show up in the list rows."""

    marketplace = Marketplace.BRICKOWL
    name = "BrickOwl"
    daily_budget = False  # 600 requests a minute, no daily cap (docs/providers/brickowl.md §1)

    def __init__(self, store: StoreConnection):
        super().__init__()
        self.client = BrickOwlClient(store.get_credentials().get("api_key", ""))

    @property
    def calls(self) -> int:
        return self.client.calls

    def list_orders(self, *, cursor: dict, since: datetime | None) -> list[ListedOrder]:
        start = cursor.get("order_time")
        if not isinstance(start, int):
            start = int(since.timestamp()) if since else 0
        rows = self.client.list_orders_since(start)
        return self._listed(
            rows,
            # order_date in list rows; order/view calls it order_time (docs/providers/brickowl.md §5).
            ordered_at=lambda row: epoch_moment(
                row.get("order_date") or row.get("order_time"), "order_date", Problems()
            ),
            status=lambda row: brickowl_status(row.get("status_id"))[0],
        )

    def fetch_raw(self, order_id: str) -> tuple:
        """order/view + order/items as BrickOwl sent them: 2 calls."""
        return self.client.order_view(order_id), self.client.order_items(order_id)

    def normalise(self, order, items) -> NormalisedOrder:
        return brickowl_order(order, items)

    def next_cursor(self, *, cursor: dict, listed: list[ListedOrder], now: datetime, hold: set[str]) -> dict:
        """The oldest open order, or an order in ``hold`` (its detail failed and is tried again),
        keeps the cursor; a quarantined order is left out of ``listed`` by the caller, so the
        cursor moves past it (it is read again by id, see ``imports``)."""
        dated = [(o.ordered_at, o) for o in listed if o.ordered_at is not None]
        if not dated:
            return cursor
        newest = max(when for when, _order in dated)
        open_orders = [when for when, o in dated if o.status not in FINAL_STATUSES or o.order_id in hold]
        start = min(open_orders) if open_orders else newest
        start = max(start, min(now - BRICKOWL_REVISIT, newest))
        return {"order_time": int(start.timestamp())}

    def store_name(self, listed: list[ListedOrder]) -> str:
        return ""


def source_for(store: StoreConnection) -> BrickLinkSource | BrickOwlSource:
    if store.marketplace == Marketplace.BRICKLINK:
        return BrickLinkSource(store)
    return BrickOwlSource(store)
