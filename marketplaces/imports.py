"""Importing one store's orders (design §4 step 5): list, select, fetch, normalise, write.

What it guarantees (issue 12):

- **One order never fails the others.** Fetching, normalising and writing each order is done
  under its own catch-all: typed marketplace errors and unexpected exceptions alike (the latter
  logged with their traceback). A malformed order is stored quarantined with its problems; an
  order whose detail keeps failing is quarantined after ``FAILURES_BEFORE_QUARANTINE`` imports in
  a row; a listing row without a readable id is described in ``ImportResult.problems``.
- **The store says how it is.** Every store-level failure (credentials, quota, unreachable,
  unreadable listing, an unexpected error) ends as ``last_error_*`` on the store and in its
  status; a later import whose listing works clears it and makes the store active again.
- **Invoicing hears about every import** through ``marketplaces.signals.store_imported``.
- **One import per store at a time**, claimed with a short lease renewed while it works.
"""

import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import partial

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.choices import DEFAULT_INVOICEABLE_STATUSES, OrderStatus
from accounts.notifications import notification_resolved
from accounts.services import settings_for
from accounts.tasks import notify_owners_after_commit
from brickinvoice.errors import ServiceError

from .boundary import excerpt
from .errors import BadCredentials, ImportFailed, MarketplaceError, NotFound, QuotaExceeded, Unreachable, Unreadable
from .models import Marketplace, Order, StoreConnection
from .normalised import NormalisedOrder, unreadable_order
from .signals import store_imported
from .sources import BrickLinkSource, BrickOwlSource, ListedOrder, source_for
from .upsert import Saved, order_quarantine, order_save

Source = BrickLinkSource | BrickOwlSource
logger = logging.getLogger(__name__)

# The claim is a lease renewed as the import goes, so a killed worker's claim lapses within
# minutes. It must outlast the longest step between renewals: one order's two calls, each with
# the client's retries (HTTP_TIMEOUT 35 s × 3 attempts), or one listing.
IMPORT_LEASE = timedelta(minutes=10)
LEASE_RENEW_EVERY = timedelta(minutes=1)
# Wait before retrying an import that failed on a store-level, transient error (the task doubles it).
UNREACHABLE_RETRY_SECONDS = 300
# An order whose detail fails this many imports in a row, over at least FAILURE_SPAN (so a few
# quick retries during a short outage do not count as "keeps failing"), is quarantined.
FAILURES_BEFORE_QUARANTINE = 3
FAILURE_SPAN = timedelta(minutes=30)
# This many detail calls in a row unreachable: the marketplace is down, not one order.
UNREACHABLE_STREAK = 5
# Orders read again per import (by id, when their ``reread_at`` is due: quarantined or asked for).
REREADS_PER_IMPORT = 20
MAX_TRACKED_FAILURES = 500
MAX_RESULT_PROBLEMS = 50
DEFAULT_NAMES: dict[str, str] = {Marketplace.BRICKLINK: "BrickLink store", Marketplace.BRICKOWL: "BrickOwl store"}


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


class _LeaseLost(Exception):
    """Another import claimed the store after our lease lapsed: stop and write nothing more."""


class _Lease:
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
            raise _LeaseLost
        self.until, self.renewed_at = until, now

    def mine(self):
        """The stores row, as long as the claim is still ours."""
        return StoreConnection.objects.filter(pk=self.store_id, import_lock_until=self.until)


# -- per-order detail failures ---------------------------------------------------------------------


class _Failures:
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


# -- the import ------------------------------------------------------------------------------------


def store_import_orders(*, store_id: int) -> ImportResult:
    """Pull new and changed orders of one store into ``Order`` / ``OrderItem``.

    - Idempotent: upsert on (store, marketplace order id). A listing row equal to the one seen
      last time (its hash, which covers BrickLink's ``date_status_changed``) is not fetched
      again; a fetched order whose payload hash is unchanged is not rewritten.
    - Only orders placed on or after the seller's cutoff date, and, for orders not yet stored,
      only those in a status the seller invoices (the others are picked up once they get
      there); a stored order that changes (cancelled, items added) is always refreshed.
    - BrickLink: stops before the daily call budget runs out and records why; the next run
      (the next day) lists again and fetches only what is still missing.
    - Never raises: see the module docstring for what happens to bad orders and store errors.
      Progress is committed order by order.
    """
    store = StoreConnection.objects.select_related("tenant").get(id=store_id)
    result = ImportResult(store_id=store.id, started_at=timezone.now().isoformat())
    if store.status == StoreConnection.Status.DISCONNECTED or not store.credentials:
        result.stop("store_disconnected", _("The store is disconnected; connect it again to import."))
        return result
    lease = _Lease(store.id)
    if not lease.claim():
        result.already_running = True
        result.stop(
            "import_running",
            _("An import of this store is already running; the orders it finds are imported when it ends."),
        )
        return result
    error: ServiceError | None = None
    failures = _Failures(store)
    try:
        error = _import(store, result, lease, failures)
    finally:
        _finish(store, result, error, lease, failures)
    transaction.on_commit(partial(_announce, store.id, result))
    return result


def _announce(store_id: int, result: ImportResult) -> None:
    """Tell invoicing (and anyone else) that an import ended; a failing receiver is logged by
    ``send_robust`` and never undoes the import."""
    store_imported.send_robust(sender=StoreConnection, store_id=store_id, result=result)


def _import(store: StoreConnection, result: ImportResult, lease: _Lease, failures: _Failures) -> ServiceError | None:
    """The run itself; returns the store-level error to record, if any. Never raises."""
    to_fetch: list[ListedOrder] = []
    budget = None
    try:
        source = source_for(store)
        budget = _Budget(store, limit=bricklink_daily_budget() if source.daily_budget else None, result=result)
        seller = settings_for(store.tenant)
        wanted = set(seller.invoiceable_statuses or DEFAULT_INVOICEABLE_STATUSES) - {OrderStatus.CANCELLED}
        budget.require(2)
        try:
            listed = source.list_orders(cursor=store.import_cursor or {}, since=_cutoff_start(seller.cutoff_date))
        finally:
            budget.record(source.calls)
        result.listing_read = True
        for problem in source.listing_problems:
            result.problem(problem)
        due = _due_rereads(store)
        to_fetch = _select(store, listed, result, cutoff=seller.cutoff_date, wanted=wanted, due=set(due))
        listed_ids = {o.order_id for o in listed}
        to_fetch += [stand_in for order_id, stand_in in due.items() if order_id not in listed_ids]
        _maybe_name_store(store, source.store_name(listed))
        _fetch_all(store, source, to_fetch, result, lease, budget, failures)
        result.pending = 0
        failures.entries = failures.kept(listed_ids)
        quarantined = _quarantined_ids(store, listed)
        store.import_cursor = source.next_cursor(
            cursor=store.import_cursor or {},
            listed=[o for o in listed if o.order_id not in quarantined],
            now=timezone.now(),
            hold=set(failures.entries),
        )
        result.complete = True
        return None
    except _BudgetExhausted:
        _stop_at_budget(store, result, to_fetch)
        return None
    except QuotaExceeded as exc:
        if budget is not None:
            budget.exhaust()
        result.stop("marketplace_quota", _("The marketplace said the API quota is used up; the import resumes later."))
        return exc
    except SoftTimeLimitExceeded:
        result.stop("time_limit", _("Stopped at the time limit; the next import continues where this one stopped."))
        return None
    except _LeaseLost:
        result.stop("import_lease_lost", _("Another import of this store took over; this one stopped."))
        return None
    except Unreachable as exc:
        result.stop(exc.code, _("The marketplace could not be reached; the import is retried."))
        result.retry_in = UNREACHABLE_RETRY_SECONDS
        return exc
    except Unreadable as exc:
        result.stop(exc.code, _("The marketplace sent an order list we could not read; the import is retried."))
        result.retry_in = UNREACHABLE_RETRY_SECONDS
        return exc
    except MarketplaceError as exc:
        result.stop(exc.code, exc.text.message)
        return exc
    except Exception as exc:
        # Our bug or data no parser foresaw: keep the traceback, show the store as failing, retry.
        logger.exception("import of store %s failed", store.id)
        failed = ImportFailed(f"Unexpected {type(exc).__name__} while importing.")
        result.stop(failed.code, failed.text.message)
        result.retry_in = UNREACHABLE_RETRY_SECONDS
        return failed


def _fetch_all(
    store: StoreConnection,
    source: Source,
    to_fetch: list[ListedOrder],
    result: ImportResult,
    lease: _Lease,
    budget: "_Budget",
    failures: _Failures,
) -> None:
    """Fetch, normalise and write each selected order, oldest first; stop only for store-level
    reasons (budget, quota, credentials, the marketplace down, the lease lost)."""
    streak: list[Unreachable] = []
    for position, listed_order in enumerate(to_fetch):
        result.pending = len(to_fetch) - position
        lease.renew()
        budget.require(2)
        error = _import_one(store, source, listed_order, result, budget, failures)
        streak = [*streak, error] if isinstance(error, Unreachable) else []
        if len(streak) >= UNREACHABLE_STREAK:
            result.pending = len(to_fetch) - position - 1
            raise streak[-1]


def _import_one(
    store: StoreConnection,
    source: Source,
    listed: ListedOrder,
    result: ImportResult,
    budget: "_Budget",
    failures: _Failures,
) -> Exception | None:
    """One order, start to end; returns the error that stopped its fetch (None when written).

    Only what concerns the whole store is raised: credentials, quota, the time limit.
    """
    try:
        order, items = source.fetch_raw(listed.order_id)
    except (BadCredentials, QuotaExceeded, SoftTimeLimitExceeded):
        raise
    except NotFound as exc:
        result.failed_order_ids.append(listed.order_id)
        _fetch_failed(
            store,
            listed,
            result,
            failures,
            _("the marketplace says it does not exist (%(detail)s)") % {"detail": exc.detail[:120]},
        )
        return exc
    except MarketplaceError as exc:
        _fetch_failed(store, listed, result, failures, f"{exc.text.message} {exc.detail[:160]}".strip())
        return exc
    except Exception as exc:
        logger.exception("store %s: fetching order %s failed", store.id, listed.order_id)
        _fetch_failed(store, listed, result, failures, _("unexpected %(error)s") % {"error": type(exc).__name__})
        return exc
    finally:
        budget.record(source.calls)
    failures.succeeded(listed.order_id)
    try:
        normalised = _normalise(store, source, listed, order, items)
        result.count(_write(store, listed, normalised, order, items))
    except SoftTimeLimitExceeded:
        raise
    except Exception as exc:
        # Even the quarantine could not be written: count it like a failed fetch, go on.
        logger.exception("store %s: storing order %s failed", store.id, listed.order_id)
        _fetch_failed(store, listed, result, failures, _("unexpected %(error)s") % {"error": type(exc).__name__})
        return exc
    return None


def _normalise(store: StoreConnection, source: Source, listed: ListedOrder, order, items) -> NormalisedOrder:
    """The normaliser's result, or a quarantined placeholder if it failed anyway."""
    try:
        normalised = source.normalise(order, items)
    except SoftTimeLimitExceeded:  # an Exception too, but it ends the run, not the order
        raise
    except Exception as exc:
        logger.exception("store %s: normalising order %s failed", store.id, listed.order_id)
        return unreadable_order(
            marketplace=store.marketplace,
            order_id=listed.order_id,
            raw={"order": order, "items": items},
            problem=_("The order could not be read (unexpected %(error)s); it is set aside until a clean read.")
            % {"error": type(exc).__name__},
        )
    if normalised.marketplace_order_id not in ("", listed.order_id):
        normalised.quarantined = True
        normalised.data_errors = [
            _("The order details are for order %(other)s, not %(order)s.")
            % {"other": excerpt(normalised.marketplace_order_id), "order": excerpt(listed.order_id)},
            *normalised.data_errors,
        ]
    return normalised


def _write(store: StoreConnection, listed: ListedOrder, normalised: NormalisedOrder, order, items) -> Saved:
    """Write the read; if the database refuses it anyway, quarantine the order with the reason."""
    try:
        return order_save(store=store, listed=listed, normalised=normalised)
    except SoftTimeLimitExceeded:
        raise
    except Exception as exc:
        logger.exception("store %s: storing order %s failed", store.id, listed.order_id)
        problem = _("The order could not be stored (%(error)s); it is set aside until a clean read.") % {
            "error": type(exc).__name__
        }
        return order_quarantine(store=store, listed=listed, problem=problem, raw={"order": order, "items": items})


def _fetch_failed(
    store: StoreConnection, listed: ListedOrder, result: ImportResult, failures: _Failures, reason: str
) -> None:
    """Count a failed detail fetch; quarantine the order when it keeps failing."""
    now = timezone.now()
    if failures.failed(listed.order_id, reason, now):
        problem = _(
            "The order's details could not be read in %(count)d imports in a row (last: %(reason)s); it is set "
            "aside and read again once a day."
        ) % {"count": FAILURES_BEFORE_QUARANTINE, "reason": reason}
        result.count(order_quarantine(store=store, listed=listed, problem=problem))
        result.problem(_("Order %(order)s: %(problem)s") % {"order": listed.order_id, "problem": problem})
        return
    result.fetch_failed_ids.append(listed.order_id)
    result.problem(
        _("Order %(order)s could not be read (%(reason)s); it is tried again at the next import.")
        % {"order": listed.order_id, "reason": reason}
    )


def _select(
    store: StoreConnection,
    listed: list[ListedOrder],
    result: ImportResult,
    *,
    cutoff: date | None,
    wanted: set,
    due: set[str],
) -> list[ListedOrder]:
    """The listed orders worth a detail fetch, oldest first: new ones in a wanted status, changed
    ones, and quarantined ones ``due`` for another read."""
    markers = dict(
        Order.objects.filter(store=store, marketplace_order_id__in=[o.order_id for o in listed]).values_list(
            "marketplace_order_id", "list_marker"
        )
    )
    selected = []
    for listed_order in listed:
        if cutoff and listed_order.ordered_at and timezone.localdate(listed_order.ordered_at) < cutoff:
            result.skipped_before_cutoff += 1
        elif listed_order.order_id in markers:
            if markers[listed_order.order_id] == listed_order.marker and listed_order.order_id not in due:
                result.unchanged += 1
            else:
                selected.append(listed_order)
        elif listed_order.status in wanted:
            selected.append(listed_order)
        else:
            result.skipped_not_wanted += 1
    epoch = datetime.min.replace(tzinfo=UTC)
    return sorted(selected, key=lambda o: (o.ordered_at or epoch, o.order_id))


def _due_rereads(store: StoreConnection) -> dict[str, ListedOrder]:
    """Orders due for another read (``reread_at``: quarantined ones, and those the seller asked to
    read again), each with a stand-in listing row for when the listing no longer shows it
    (BrickOwl's window moved on): it is read by id. A clean read lifts the quarantine."""
    due = (
        Order.objects.filter(store=store, reread_at__lte=timezone.now())
        .order_by("reread_at")
        .values_list("marketplace_order_id", "ordered_at", "status", "list_marker")[:REREADS_PER_IMPORT]
    )
    return {
        order_id: ListedOrder(order_id=order_id, ordered_at=ordered_at, status=status, marker=marker, row={})
        for order_id, ordered_at, status, marker in due
    }


def _quarantined_ids(store: StoreConnection, listed: list[ListedOrder]) -> set[str]:
    return set(
        Order.objects.filter(
            store=store, quarantined=True, marketplace_order_id__in=[o.order_id for o in listed]
        ).values_list("marketplace_order_id", flat=True)
    )


def _stop_at_budget(store: StoreConnection, result: ImportResult, to_fetch: list[ListedOrder]) -> None:
    left = to_fetch[len(to_fetch) - result.pending :] if result.pending else to_fetch
    result.pending = len(left)
    # For the seller and for support; the next run finds the same orders again by itself
    # (they are still missing or still changed), so nothing fetched today is fetched twice.
    store.import_cursor = {**(store.import_cursor or {}), "pending_order_ids": [o.order_id for o in left][:1000]}
    later = (
        _("%(count)d orders are left for tomorrow.") % {"count": len(left)}
        if left
        else _("The import resumes tomorrow.")
    )
    result.stop(
        "marketplace_quota",
        _("Stopped at the daily BrickLink call budget (%(budget)s calls). %(later)s")
        % {"budget": f"{bricklink_daily_budget():,}", "later": later},
    )


def _finish(
    store: StoreConnection, result: ImportResult, error: ServiceError | None, lease: _Lease, failures: _Failures
) -> None:
    """Record the run on the store and release the claim, unless another import took it over."""
    now = timezone.now()
    result.finished_at = now.isoformat()
    updates = {
        "import_lock_until": None,
        "last_import_at": now,
        "last_import_result": result.as_dict(),
        "import_cursor": store.import_cursor,
        "order_failures": failures.entries,
        "updated_at": now,
    }
    if result.complete:
        updates["last_synced_at"] = now
    if error is not None:
        updates.update(
            last_error_code=error.code,
            last_error_message=error.text.message,
            last_error_detail=error.detail[:1000],
            last_error_at=now,
        )
    elif result.listing_read:
        updates.update(last_error_code="", last_error_message="", last_error_detail="", last_error_at=None)
    if not lease.mine().update(**updates):
        return
    # Status changes never resurrect a store disconnected while the import ran.
    live = StoreConnection.objects.filter(pk=store.pk).exclude(status=StoreConnection.Status.DISCONNECTED)
    if error is not None and not error.transient:
        live.update(status=StoreConnection.Status.NEEDS_ATTENTION)
        if isinstance(error, BadCredentials):  # the owners are told at once (throttled per day)
            notify_owners_after_commit(
                tenant_id=store.tenant_id,
                kind="store_credentials_refused",
                context={
                    "store_name": store.display_name,
                    "marketplace": store.get_marketplace_display(),
                    "reason": str(error.text.message),
                },
            )
    elif result.listing_read:
        # The marketplace took the credentials: a store that needed attention is fine again.
        live.update(status=StoreConnection.Status.ACTIVE)
        notification_resolved(tenant=store.tenant, kind="store_credentials_refused")


# -- the BrickLink call budget --------------------------------------------------------------------


class _BudgetExhausted(Exception):
    pass


class _Budget:
    """The store's API calls today (UTC), saved as they happen so a crash loses no count."""

    def __init__(self, store: StoreConnection, *, limit: int | None, result: ImportResult):
        self.store, self.limit, self.result = store, limit, result
        self._seen = 0
        roll_day(store)

    def require(self, calls: int) -> None:
        if self.limit is not None and self.store.api_calls_today + calls > self.limit:
            raise _BudgetExhausted

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


def _cutoff_start(cutoff: date | None) -> datetime | None:
    """Midnight of the cutoff date in the seller's time zone."""
    if not cutoff:
        return None
    return timezone.make_aware(datetime.combine(cutoff, time.min))


def _maybe_name_store(store: StoreConnection, name: str) -> None:
    if name and store.name in ("", DEFAULT_NAMES.get(store.marketplace)):
        store.name = name[:200]
        StoreConnection.objects.filter(pk=store.pk).update(name=store.name)
