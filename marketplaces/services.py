"""Store connections and order import (design §4 steps 1 and 5).

- ``store_connect_bricklink`` / ``store_connect_brickowl``: one live call proves the credentials,
  then they are saved encrypted with a masked hint. A reconnect of the same marketplace account
  reuses the store row, so its orders are never imported twice.
- ``store_disconnect``: blanks the credentials and keeps the row and its orders.
- ``store_import_orders``: incremental, idempotent import of one store (see its docstring).
"""

import hashlib
import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.choices import DEFAULT_INVOICEABLE_STATUSES, OrderStatus
from accounts.models import Tenant
from accounts.services import settings_for
from brickinvoice.errors import ServiceError
from brickinvoice.fields import mask

from .bricklink.client import BrickLinkClient, BrickLinkCredentials
from .brickowl.client import BrickOwlClient
from .errors import BadCredentials, MarketplaceError, NotFound, QuotaExceeded, Unreachable
from .models import Marketplace, Order, OrderItem, StoreConnection
from .normalised import NormalisedOrder
from .sources import ListedOrder, source_for

logger = logging.getLogger(__name__)

# Longer than the import task's hard time limit, so a killed worker's claim expires by itself.
IMPORT_LOCK_TTL = timedelta(minutes=35)
# Wait before retrying an import that failed because the marketplace was unreachable.
UNREACHABLE_RETRY_SECONDS = 300
DEFAULT_NAMES = {Marketplace.BRICKLINK: "BrickLink store", Marketplace.BRICKOWL: "BrickOwl store"}


def bricklink_daily_budget() -> int:
    """Calls a BrickLink store may use per UTC day: under BrickLink's ~5,000 to keep headroom."""
    return int(getattr(settings, "BRICKLINK_DAILY_CALL_BUDGET", 4500))


# -- connect / disconnect -----------------------------------------------------------------------


def store_connect_bricklink(
    *, tenant: Tenant, consumer_key: str, consumer_secret: str, token_value: str, token_secret: str
) -> StoreConnection:
    """Check the four BrickLink values with one signed call, then save them encrypted.

    Raises the client's ``ServiceError`` (bad credentials, IP mismatch, quota, unreachable);
    nothing is saved then.
    """
    credentials = BrickLinkCredentials.from_dict(
        {
            "consumer_key": consumer_key,
            "consumer_secret": consumer_secret,
            "token_value": token_value,
            "token_secret": token_secret,
        }
    )
    if not all(credentials.as_dict().values()):
        raise BadCredentials("All four values are required.")
    client = BrickLinkClient(credentials)
    client.check_credentials()
    return _save_connection(
        tenant=tenant,
        marketplace=Marketplace.BRICKLINK,
        # The consumer key is per BrickLink account and never changes (reference §2).
        account_ref=_fingerprint(credentials.consumer_key),
        credentials=credentials.as_dict(),
        hint=mask(credentials.token_value),
        calls=client.calls,
    )


def store_connect_brickowl(*, tenant: Tenant, api_key: str) -> StoreConnection:
    """Check the BrickOwl key with one call (``user/details``), then save it encrypted."""
    api_key = api_key.strip()
    if not api_key:
        raise BadCredentials("The API key is required.")
    client = BrickOwlClient(api_key)
    details = client.user_details()
    store_details = details.get("store_details") if isinstance(details.get("store_details"), dict) else {}
    store_id = str(store_details.get("store_id") or details.get("uid") or "").strip()
    return _save_connection(
        tenant=tenant,
        marketplace=Marketplace.BRICKOWL,
        account_ref=f"store:{store_id}" if store_id else _fingerprint(api_key),
        credentials={"api_key": api_key},
        hint=mask(api_key),
        calls=client.calls,
        name=str(store_details.get("name") or details.get("username") or "")[:200],
        currency=str(store_details.get("base_currency") or "").upper()[:3],
    )


def store_disconnect(*, store: StoreConnection) -> None:
    """Forget the credentials; keep the row (orders point at it) for history and reconnects."""
    store.credentials = ""
    store.credentials_hint = ""
    store.status = StoreConnection.Status.DISCONNECTED
    store.save(update_fields=["credentials", "credentials_hint", "status", "updated_at"])


def _fingerprint(value: str) -> str:
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()[:40]


@transaction.atomic
def _save_connection(
    *,
    tenant: Tenant,
    marketplace: str,
    account_ref: str,
    credentials: dict,
    hint: str,
    calls: int,
    name: str = "",
    currency: str = "",
) -> StoreConnection:
    stores = StoreConnection.objects.select_for_update().filter(tenant=tenant, marketplace=marketplace)
    store = stores.filter(account_ref=account_ref).first()
    if store is None and not account_ref.startswith("store:"):
        # No stable account id (BrickOwl without store details): a tenant's only disconnected
        # store of this marketplace is the same account coming back.
        candidates = list(stores.filter(status=StoreConnection.Status.DISCONNECTED)[:2])
        store = candidates[0] if len(candidates) == 1 and len(stores) == 1 else None
    if store is None:
        store = StoreConnection(tenant=tenant, marketplace=marketplace, account_ref=account_ref)
    store.set_credentials(credentials, hint=hint)
    store.name = name or store.name or DEFAULT_NAMES[marketplace]
    store.currency = currency or store.currency
    store.status = StoreConnection.Status.ACTIVE
    _clear_error(store)
    _count_calls(store, calls)
    store.save()
    return store


# -- import -----------------------------------------------------------------------------------


@dataclass
class ImportResult:
    """What one import run did. ``created_ids`` / ``changed_ids`` are ``Order`` primary keys, for
    the caller to queue invoice work; the counts are for the seller's page."""

    store_id: int
    created_ids: list[int] = field(default_factory=list)
    changed_ids: list[int] = field(default_factory=list)
    unchanged: int = 0
    skipped_before_cutoff: int = 0
    skipped_not_wanted: int = 0
    flagged_ids: list[int] = field(default_factory=list)
    failed_order_ids: list[str] = field(default_factory=list)
    pending: int = 0
    api_calls: int = 0
    complete: bool = False
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


class _BudgetExhausted(Exception):
    pass


class _Budget:
    """The store's API calls today (UTC), saved as they happen so a crash loses no count."""

    def __init__(self, store: StoreConnection, *, limit: int | None, result: ImportResult):
        self.store, self.limit, self.result = store, limit, result
        self._seen = 0
        _roll_day(store)

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - self.store.api_calls_today)

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
    - Malformed orders are stored with readable ``data_errors``; a marketplace error stops the
      run, is stored on the store (bad credentials → "needs attention"), and is reported in
      the result, never raised. Progress is committed order by order.
    """
    store = StoreConnection.objects.select_related("tenant").get(id=store_id)
    result = ImportResult(store_id=store.id, started_at=timezone.now().isoformat())
    if store.status == StoreConnection.Status.DISCONNECTED or not store.credentials:
        result.stop("store_disconnected", "The store is disconnected; connect it again to import.")
        return result
    if not _claim(store):
        result.stop("import_running", "An import of this store is already running.")
        return result
    error: ServiceError | None = None
    try:
        error = _import(store, result)
    finally:
        _finish(store, result, error)
    return result


def _import(store: StoreConnection, result: ImportResult) -> ServiceError | None:
    source = source_for(store)
    budget = _Budget(store, limit=bricklink_daily_budget() if source.daily_budget else None, result=result)
    seller = settings_for(store.tenant)
    wanted = set(seller.invoiceable_statuses or DEFAULT_INVOICEABLE_STATUSES) - {OrderStatus.CANCELLED}
    to_fetch: list[ListedOrder] = []
    try:
        budget.require(2)
        try:
            listed = source.list_orders(cursor=store.import_cursor or {}, since=_cutoff_start(seller.cutoff_date))
        finally:
            budget.record(source.calls)
        to_fetch = _select(store, listed, result, cutoff=seller.cutoff_date, wanted=wanted)
        _maybe_name_store(store, source.store_name(listed))
        for position, listed_order in enumerate(to_fetch):
            budget.require(2)
            try:
                normalised = source.fetch(listed_order.order_id)
            except NotFound as exc:
                result.failed_order_ids.append(listed_order.order_id)
                logger.warning("store %s order %s not found: %s", store.id, listed_order.order_id, exc.detail)
                continue
            finally:
                budget.record(source.calls)
                result.pending = len(to_fetch) - position - 1
            _upsert(store, listed_order, normalised, result)
        store.import_cursor = source.next_cursor(cursor=store.import_cursor or {}, listed=listed, now=timezone.now())
        result.complete = True
        return None
    except _BudgetExhausted:
        result.pending = result.pending or len(to_fetch)
        left = to_fetch[len(to_fetch) - result.pending :]
        # For the seller and for support; the next run finds the same orders again by itself
        # (they are still missing or still changed), so nothing fetched today is fetched twice.
        store.import_cursor = {**(store.import_cursor or {}), "pending_order_ids": [o.order_id for o in left][:1000]}
        later = f"{result.pending} orders are left for tomorrow." if left else "The import resumes tomorrow."
        result.stop(
            "marketplace_quota",
            f"Stopped at the daily BrickLink call budget ({bricklink_daily_budget():,} calls). {later}",
        )
        return None
    except QuotaExceeded as exc:
        budget.exhaust()
        result.stop("marketplace_quota", "The marketplace said the API quota is used up; the import resumes later.")
        return exc
    except SoftTimeLimitExceeded:
        result.stop("time_limit", "Stopped at the time limit; the next import continues where this one stopped.")
        return None
    except Unreachable as exc:
        result.stop(exc.code, "The marketplace could not be reached; the import is retried.")
        result.retry_in = UNREACHABLE_RETRY_SECONDS
        return exc
    except MarketplaceError as exc:
        result.stop(exc.code, exc.text.message)
        return exc


def _select(
    store: StoreConnection, listed: list[ListedOrder], result: ImportResult, *, cutoff: date | None, wanted: set
) -> list[ListedOrder]:
    """The listed orders worth a detail fetch, oldest first."""
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
            if markers[listed_order.order_id] == listed_order.marker:
                result.unchanged += 1
            else:
                selected.append(listed_order)
        elif listed_order.status in wanted:
            selected.append(listed_order)
        else:
            result.skipped_not_wanted += 1
    epoch = datetime.min.replace(tzinfo=UTC)
    return sorted(selected, key=lambda o: (o.ordered_at or epoch, o.order_id))


def _upsert(store: StoreConnection, listed: ListedOrder, normalised: NormalisedOrder, result: ImportResult) -> None:
    values = normalised.order_fields()
    values["marketplace_order_id"] = values["marketplace_order_id"] or listed.order_id
    values["list_marker"] = listed.marker
    with transaction.atomic():
        order = (
            Order.objects.select_for_update()
            .filter(store=store, marketplace_order_id=values["marketplace_order_id"])
            .first()
        )
        if order is not None and order.payload_hash == values["payload_hash"]:
            if order.list_marker != listed.marker:
                Order.objects.filter(pk=order.pk).update(list_marker=listed.marker)
            result.unchanged += 1
            return
        created = order is None
        order = order or Order(tenant=store.tenant, store=store)
        for name, value in values.items():
            setattr(order, name, value)
        order.save()
        if not created:
            order.items.all().delete()
        OrderItem.objects.bulk_create(
            [OrderItem(tenant=store.tenant, order=order, **vars(item)) for item in normalised.items]
        )
    (result.created_ids if created else result.changed_ids).append(order.pk)
    if normalised.data_errors:
        result.flagged_ids.append(order.pk)


def _claim(store: StoreConnection) -> bool:
    """Conditional update: two imports of one store never run together (beat + "Import now")."""
    now = timezone.now()
    return (
        StoreConnection.objects.filter(
            Q(import_lock_until__isnull=True) | Q(import_lock_until__lt=now), pk=store.pk
        ).update(import_lock_until=now + IMPORT_LOCK_TTL)
        == 1
    )


def _finish(store: StoreConnection, result: ImportResult, error: ServiceError | None) -> None:
    now = timezone.now()
    result.finished_at = now.isoformat()
    updates = {
        "import_lock_until": None,
        "last_import_at": now,
        "last_import_result": result.as_dict(),
        "import_cursor": store.import_cursor,
        "updated_at": now,
    }
    if result.complete:
        updates["last_synced_at"] = now
    if error is not None:
        text = error.text
        updates.update(
            last_error_code=error.code,
            last_error_message=text.message,
            last_error_detail=error.detail[:1000],
            last_error_at=now,
        )
    elif result.complete:
        updates.update(last_error_code="", last_error_message="", last_error_detail="", last_error_at=None)
    StoreConnection.objects.filter(pk=store.pk).update(**updates)
    # Status changes never resurrect a store disconnected while the import ran.
    live = StoreConnection.objects.filter(pk=store.pk).exclude(status=StoreConnection.Status.DISCONNECTED)
    if error is not None and not error.transient:
        live.update(status=StoreConnection.Status.NEEDS_ATTENTION)
    elif result.complete:
        live.update(status=StoreConnection.Status.ACTIVE)


def _cutoff_start(cutoff: date | None) -> datetime | None:
    """Midnight of the cutoff date in the seller's time zone."""
    if not cutoff:
        return None
    return timezone.make_aware(datetime.combine(cutoff, time.min))


def _maybe_name_store(store: StoreConnection, name: str) -> None:
    if name and store.name in ("", DEFAULT_NAMES.get(store.marketplace)):
        store.name = name[:200]
        StoreConnection.objects.filter(pk=store.pk).update(name=store.name)


def _roll_day(store: StoreConnection) -> None:
    today = datetime.now(UTC).date()
    if store.api_calls_day != today:
        store.api_calls_day, store.api_calls_today = today, 0


def _count_calls(store: StoreConnection, calls: int) -> None:
    _roll_day(store)
    store.api_calls_today += calls


def _clear_error(store: StoreConnection) -> None:
    store.last_error_code = store.last_error_message = store.last_error_detail = ""
    store.last_error_at = None
