"""The bookkeeping of one store import (marketplaces/imports.py): what the run did
(``ImportResult``), its claim on the store (``Lease``), the orders whose detail keeps failing
(``Failures``) and BrickLink's daily call budget (``Budget``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from .models import StoreConnection
from .upsert import Saved

# The claim is a lease renewed as the import goes, so a killed worker's claim lapses within
# minutes. It must outlast the longest step between renewals: one order's two calls, each with
# the client's retries (HTTP_TIMEOUT 35 s × 3 attempts), or one listing.
IMPORT_LEASE = timedelta(minutes=10)
LEASE_RENEW_EVERY = timedelta(minutes=1)
# An order whose detail fails this many imports in a row, over at least FAILURE_SPAN (so a few
# quick retries during a short outage do not count as "keeps failing"), is quarantined.
FAILURES_BEFORE_QUARANTINE = 3
FAILURE_SPAN = timedelta(minutes=30)
MAX_TRACKED_FAILURES = 500
MAX_RESULT_PROBLEMS = 50


def bricklink_daily_budget() -> int:
    """Calls a BrickLink store may use per UTC day: under BrickLink's ~5,000 to keep headroom."""
    return int(getattr(settings, "BRICKLINK_DAILY_CALL_BUDGET", 4500))


@dataclass
class ImportResult:
    """What one import run did. ``created_ids`` / ``changed_ids`` are ``Order`` primary keys, for
    the caller to queue invoice work; the counts are for the seller's page.

    ``flagged_ids``: written orders with data problems; ``quarantined_ids``: those of them that are
    quarantined. ``failed_order_ids``: listed orders the marketplace says do not exist;
    ``fetch_failed_ids``: orders whose detail failed this time and is tried again next import.
    ``problems``: sentences about the listing and those failures, for the stores page.
    ``already_running``: another import of the store holds the claim; it announces its own end
    (``store_imported``), so a caller can wait for that or queue work afterwards.
    ``listing_read``: the marketplace accepted the credentials and the order list was read.
    """

    store_id: int
    created_ids: list[int] = field(default_factory=list)
    changed_ids: list[int] = field(default_factory=list)
    unchanged: int = 0
    skipped_before_cutoff: int = 0
    skipped_not_wanted: int = 0
    flagged_ids: list[int] = field(default_factory=list)
    quarantined_ids: list[int] = field(default_factory=list)
    failed_order_ids: list[str] = field(default_factory=list)
    fetch_failed_ids: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    pending: int = 0
    api_calls: int = 0
    complete: bool = False
    listing_read: bool = False
    already_running: bool = False
    stopped_reason: str = ""
    error_code: str = ""
    retry_in: int | None = None
    started_at: str = ""
    finished_at: str = ""

    @property
    def orders_created(self) -> int:
        return len(self.created_ids)

    @property
    def orders_updated(self) -> int:
        return len(self.changed_ids)

    @property
    def order_ids(self) -> list[int]:
        """New and changed orders together."""
        return self.created_ids + self.changed_ids

    def as_dict(self) -> dict:
        return asdict(self)

    def stop(self, code: str, reason: str) -> None:
        self.complete, self.error_code, self.stopped_reason = False, code, reason

    def problem(self, message: str) -> None:
        if len(self.problems) < MAX_RESULT_PROBLEMS:
            self.problems.append(message)

    def count(self, saved: Saved) -> None:
        if saved.created:
            self.created_ids.append(saved.pk)
        elif saved.changed:
            self.changed_ids.append(saved.pk)
        else:
            self.unchanged += 1
        if saved.changed and saved.flagged:
            self.flagged_ids.append(saved.pk)
        if saved.changed and saved.quarantined:
            self.quarantined_ids.append(saved.pk)


# -- the claim -------------------------------------------------------------------------------------


class LeaseLost(Exception):
    """Another import claimed the store after our lease lapsed: stop and write nothing more."""


class Lease:
    """The store's import claim: ``import_lock_until`` set by a conditional update, renewed as
    the import progresses, and compared on every renewal and at the end, so a run whose lease
    lapsed and was taken over never overwrites the other run's cursor."""

    def __init__(self, store_id: int):
        self.store_id = store_id
        self.until: datetime | None = None
        self.renewed_at = timezone.now()

    def claim(self) -> bool:
        now = timezone.now()
        until = now + IMPORT_LEASE
        free = Q(import_lock_until__isnull=True) | Q(import_lock_until__lt=now)
        if StoreConnection.objects.filter(free, pk=self.store_id).update(import_lock_until=until) != 1:
            return False
        self.until, self.renewed_at = until, now
        return True

    def renew(self) -> None:
        now = timezone.now()
        if now - self.renewed_at < LEASE_RENEW_EVERY:
            return
        until = now + IMPORT_LEASE
        if not StoreConnection.objects.filter(pk=self.store_id, import_lock_until=self.until).update(
            import_lock_until=until
        ):
            raise LeaseLost
        self.until, self.renewed_at = until, now

    def mine(self):
        """The stores row, as long as the claim is still ours."""
        return StoreConnection.objects.filter(pk=self.store_id, import_lock_until=self.until)


# -- per-order detail failures ---------------------------------------------------------------------


class Failures:
    """Orders whose detail call failed, kept on the store across imports (``order_failures``)."""

    def __init__(self, store: StoreConnection):
        self.entries: dict = dict(store.order_failures) if isinstance(store.order_failures, dict) else {}

    def failed(self, order_id: str, message: str, now: datetime) -> bool:
        """Count a failure; True when the order should now be quarantined."""
        entry = self.entries.get(order_id)
        entry = dict(entry) if isinstance(entry, dict) else {"count": 0, "first_at": now.isoformat()}
        entry["count"] = int(entry.get("count") or 0) + 1
        entry["error"] = message[:300]
        if entry["count"] >= FAILURES_BEFORE_QUARANTINE and now - _when(entry.get("first_at"), now) >= FAILURE_SPAN:
            self.entries.pop(order_id, None)
            return True
        self.entries[order_id] = entry
        return False

    def succeeded(self, order_id: str) -> None:
        self.entries.pop(order_id, None)

    def kept(self, listed_ids: set[str] | None) -> dict:
        """The entries to store: only orders still listed (when the listing was read), bounded."""
        items = [(k, v) for k, v in self.entries.items() if listed_ids is None or k in listed_ids]
        return dict(items[-MAX_TRACKED_FAILURES:])


def _when(value, default: datetime) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return default


# -- the BrickLink call budget --------------------------------------------------------------------


class BudgetExhausted(Exception):
    pass


class Budget:
    """The store's API calls today (UTC), saved as they happen so a crash loses no count."""

    def __init__(self, store: StoreConnection, *, limit: int | None, result: ImportResult):
        self.store, self.limit, self.result = store, limit, result
        self._seen = 0
        roll_day(store)

    def require(self, calls: int) -> None:
        if self.limit is not None and self.store.api_calls_today + calls > self.limit:
            raise BudgetExhausted

    def record(self, client_calls: int) -> None:
        delta, self._seen = client_calls - self._seen, client_calls
        if delta <= 0:
            return
        self.store.api_calls_today += delta
        self.result.api_calls += delta
        StoreConnection.objects.filter(pk=self.store.pk).update(
            api_calls_today=self.store.api_calls_today, api_calls_day=self.store.api_calls_day
        )

    def exhaust(self) -> None:
        """The marketplace said the quota is gone: spend nothing more today."""
        if self.limit is not None and self.store.api_calls_today < self.limit:
            self.store.api_calls_today = self.limit
            StoreConnection.objects.filter(pk=self.store.pk).update(api_calls_today=self.limit)


def roll_day(store: StoreConnection) -> None:
    """Start a new count when the UTC day changed."""
    today = datetime.now(UTC).date()
    if store.api_calls_day != today:
        store.api_calls_day, store.api_calls_today = today, 0
