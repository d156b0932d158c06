"""The buyer as a customer of the accounting package: the stable code we key it on (the
marketplace username), the data we want on record, and the local map code → client id that lets
a returning, unchanged buyer cost no API call and, with the company's client index
(clientindex.py), a new one no look-up (docs/architecture.md §9)."""

from __future__ import annotations

import hashlib
import json

from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import Tenant
from brickinvoice.locks import cache_lock
from marketplaces.models import Order

from .accounting import AccountingBackend
from .clientindex import codeless_claim, creating_claim, index_ready
from .models import ClientIndex, CustomerLink

CODE_PREFIX = {"bricklink": "BL", "brickowl": "BO"}


def customer_code(order: Order) -> str:
    username = (order.buyer_username or order.buyer_email or order.buyer_name or "unknown").strip()
    return f"{CODE_PREFIX.get(order.marketplace, order.marketplace.upper())}-{username}"[:120]


def customer_data(order: Order) -> dict:
    """The client record we want in the package for this buyer."""
    name = (order.ship_name or order.buyer_name or order.buyer_username or "").strip()
    return {
        "code": customer_code(order),
        "name": name or customer_code(order),
        "email": order.buyer_email or "",
        "address_street": ", ".join(filter(None, [order.ship_address1, order.ship_address2])),
        "address_postal_code": order.ship_postal_code or "",
        "address_city": order.ship_city or "",
        "address_province": order.ship_state or "",
        "country_iso": order.ship_country or "",
    }


def _hash(data: dict) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def customer_sync(*, backend: AccountingBackend, tenant: Tenant, order: Order) -> int:
    """The package's client id for this buyer: no call when known and unchanged, one when changed
    or new (the company's client index proves a new code absent: invoicing/clientindex.py)."""
    data = customer_data(order)
    digest = _hash(data)
    lookup = CustomerLink.objects.filter(tenant=tenant, company_id=backend.company_id, code=data["code"])
    link = lookup.first()
    index = None
    if link is None:  # built (once per company and age) outside the buyer's lock: it may take a while
        index, built = index_ready(backend=backend, tenant=tenant)
        link = lookup.first() if built else None
    if link and link.data_hash == digest:
        return link.fatture_client_id
    # Two orders of one new buyer invoiced at the same time must not create the client twice: one
    # worker at a time per buyer; whoever waited reads the map again (one query, only then).
    key = f"fatture-customer-lock:{backend.company_id}:{hashlib.sha256(data['code'].encode()).hexdigest()[:32]}"
    with cache_lock(
        key, wait=30.0, hold=60, busy=gettext("Another invoice of this buyer is updating the client.")
    ) as waited:
        if waited:
            link = lookup.first()
            if link and link.data_hash == digest:
                return link.fatture_client_id
        if link is None and index is not None and index.complete:
            client_id = _sync_unknown(backend=backend, tenant=tenant, data=data, index=index)
        else:
            # A placeholder (CREATING) is a create whose answer may have been lost: search first.
            known = (link.fatture_client_id or None) if link else None
            client_id = backend.sync_customer(data, known_client_id=known)
        _remember(backend=backend, tenant=tenant, code=data["code"], client_id=client_id, digest=digest)
    return client_id


def _sync_unknown(*, backend: AccountingBackend, tenant: Tenant, data: dict, index: ClientIndex) -> int:
    """A code the index says the package does not have: adopt the hand-made same-name client
    without a code, else create, with a placeholder link committed first so that a retry after a
    lost answer searches instead of creating again (and a worker that lost the race does too)."""
    with codeless_claim(index, data["name"]) as adopted:
        if adopted is not None:
            return backend.sync_customer(data, known_client_id=adopted)
    claimed = creating_claim(tenant=tenant, company_id=backend.company_id, code=data["code"])
    return backend.sync_customer(data, known_client_id=None, known_absent=claimed)


def _remember(*, backend: AccountingBackend, tenant: Tenant, code: str, client_id: int, digest: str) -> None:
    """One upsert statement (INSERT … ON CONFLICT DO UPDATE), safe against a concurrent worker."""
    link = CustomerLink(
        tenant=tenant,
        company_id=backend.company_id,
        code=code,
        fatture_client_id=client_id,
        data_hash=digest,
        updated_at=timezone.now(),
    )
    CustomerLink.objects.bulk_create(
        [link],
        update_conflicts=True,
        unique_fields=["tenant", "company_id", "code"],
        update_fields=["fatture_client_id", "data_hash", "updated_at"],
    )
