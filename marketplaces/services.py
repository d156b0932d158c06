"""Store connections and order import (docs/architecture.md §4.1 and §4.5).

- ``store_connect_bricklink`` / ``store_connect_brickowl``: one live call proves the credentials,
  then they are saved encrypted with a masked hint. A reconnect of the same marketplace account
  reuses the store row, so its orders are never imported twice.
- ``store_disconnect``: blanks the credentials and keeps the row and its orders.
- ``store_import_orders`` (in ``marketplaces.imports``, re-exported here): incremental,
  idempotent import of one store.
"""

import hashlib

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import Tenant
from brickinvoice.fields import mask

from .bricklink.client import BrickLinkClient, BrickLinkCredentials
from .brickowl.client import BrickOwlClient
from .errors import BadCredentials
from .importrun import ImportResult, bricklink_daily_budget, roll_day
from .imports import DEFAULT_NAMES, store_import_orders
from .models import Marketplace, Order, StoreConnection

# The import lives in ``imports``; these names stay importable from here for the layers above.
__all__ = [
    "ImportResult",
    "bricklink_daily_budget",
    "store_connect_bricklink",
    "store_connect_brickowl",
    "store_disconnect",
    "store_import_orders",
]


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
        raise BadCredentials(gettext("All four values are required."))
    client = BrickLinkClient(credentials)
    client.check_credentials()
    return _save_connection(
        tenant=tenant,
        marketplace=Marketplace.BRICKLINK,
        # The consumer key is per BrickLink account and never changes (docs/providers/bricklink.md §2).
        account_ref=_fingerprint(credentials.consumer_key),
        credentials=credentials.as_dict(),
        hint=mask(credentials.token_value),
        calls=client.calls,
    )


def store_connect_brickowl(*, tenant: Tenant, api_key: str) -> StoreConnection:
    """Check the BrickOwl key with one call (``user/details``), then save it encrypted."""
    api_key = api_key.strip()
    if not api_key:
        raise BadCredentials(gettext("The API key is required."))
    client = BrickOwlClient(api_key)
    details = client.user_details()
    found = details.get("store_details")
    store_details: dict = found if isinstance(found, dict) else {}
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


def _count_calls(store: StoreConnection, calls: int) -> None:
    roll_day(store)
    store.api_calls_today += calls


def _clear_error(store: StoreConnection) -> None:
    store.last_error_code = store.last_error_message = store.last_error_detail = ""
    store.last_error_at = None


def order_reread_request(*, order: Order) -> None:
    """The seller asked to read the order again from the marketplace: the store's next import
    fetches it by id whatever its listing row says (the caller starts that import)."""
    Order.objects.filter(pk=order.pk).update(reread_at=timezone.now())
