"""Importing one store's orders (docs/architecture.md §4.5): list, select, fetch, normalise, write.

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
from datetime import UTC, date, datetime, time
from functools import partial

from celery.exceptions import SoftTimeLimitExceeded
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.choices import DEFAULT_INVOICEABLE_STATUSES, OrderStatus
from accounts.notifications import notification_resolved
from accounts.services import settings_for
from accounts.tasks import notify_owners_after_commit
from brickinvoice.errors import ServiceError

from .errors import BadCredentials, ImportFailed, MarketplaceError, QuotaExceeded, Unreachable, Unreadable
from .importorder import import_one
from .importrun import (
    Budget,
    BudgetExhausted,
    Failures,
    ImportResult,
    Lease,
    LeaseLost,
    bricklink_daily_budget,
)
from .models import Marketplace, Order, StoreConnection
from .signals import store_imported
from .sources import BrickLinkSource, BrickOwlSource, ListedOrder, source_for

Source = BrickLinkSource | BrickOwlSource
logger = logging.getLogger(__name__)

# Wait before retrying an import that failed on a store-level, transient error (the task doubles it).
UNREACHABLE_RETRY_SECONDS = 300
# This many detail calls in a row unreachable: the marketplace is down, not one order.
UNREACHABLE_STREAK = 5
# Orders read again per import (by id, when their ``reread_at`` is due: quarantined or asked for).
REREADS_PER_IMPORT = 20
DEFAULT_NAMES: dict[str, str] = {Marketplace.BRICKLINK: "BrickLink store", Marketplace.BRICKOWL: "BrickOwl store"}


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
    lease = Lease(store.id)
    if not lease.claim():
        result.already_running = True
        result.stop(
            "import_running",
            _("An import of this store is already running; the orders it finds are imported when it ends."),
        )
        return result
    error: ServiceError | None = None
    failures = Failures(store)
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


def _import(store: StoreConnection, result: ImportResult, lease: Lease, failures: Failures) -> ServiceError | None:
    """The run itself; returns the store-level error to record, if any. Never raises."""
    to_fetch: list[ListedOrder] = []
    budget = None
    try:
        source = source_for(store)
        budget = Budget(store, limit=bricklink_daily_budget() if source.daily_budget else None, result=result)
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
    except BudgetExhausted:
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
    except LeaseLost:
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
    lease: Lease,
    budget: Budget,
    failures: Failures,
) -> None:
    """Fetch, normalise and write each selected order, oldest first; stop only for store-level
    reasons (budget, quota, credentials, the marketplace down, the lease lost)."""
    streak: list[Unreachable] = []
    for position, listed_order in enumerate(to_fetch):
        result.pending = len(to_fetch) - position
        lease.renew()
        budget.require(2)
        error = import_one(store, source, listed_order, result, budget, failures)
        streak = [*streak, error] if isinstance(error, Unreachable) else []
        if len(streak) >= UNREACHABLE_STREAK:
            result.pending = len(to_fetch) - position - 1
            raise streak[-1]


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
    store: StoreConnection, result: ImportResult, error: ServiceError | None, lease: Lease, failures: Failures
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


def _cutoff_start(cutoff: date | None) -> datetime | None:
    """Midnight of the cutoff date in the seller's time zone."""
    if not cutoff:
        return None
    return timezone.make_aware(datetime.combine(cutoff, time.min))


def _maybe_name_store(store: StoreConnection, name: str) -> None:
    if name and store.name in ("", DEFAULT_NAMES.get(store.marketplace)):
        store.name = name[:200]
        StoreConnection.objects.filter(pk=store.pk).update(name=store.name)
