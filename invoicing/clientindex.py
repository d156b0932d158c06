"""The local index of a company's clients in the accounting package, so a new buyer costs no
look-up call: create client + create invoice (2 calls) instead of search + create + invoice (3).

How it works. The first customer sync that meets a code we have no ``CustomerLink`` for lists the
company's clients once (``backend.list_clients``: id, code and name, 100 per page, so one call per
100 clients) under a per-company lock, so two workers never build it twice. Every client carrying
a code becomes a ``CustomerLink`` with an empty data hash ("data unknown": the first invoice of
that buyer sends one update); every client WITHOUT a code (made by hand in the package) is kept as
name → id in ``ClientIndex.codeless_names``, so the adoption rule of the search ("a same-name
client is adopted only when it carries no code") still holds without a call; a name is removed
(claimed with a conditional update) when a buyer adopts it. From then on our own writes keep it
current: every sync upserts its ``CustomerLink``.

The trade-off. The index is a snapshot. A client made by hand in the package after it was built is
not seen until the index is older than ``CLIENT_INDEX_MAX_AGE_DAYS`` and rebuilt: a buyer whose
client was added by hand meanwhile with our code (rare: the code is ours) gets a second client,
and a hand-made codeless same-name client is not adopted (a new client is made beside it, as for
any buyer whose name differs). Building costs one call per 100 clients, once per age, so it pays
back after that many new buyers; a list longer than ``CLIENT_INDEX_MAX_CLIENTS`` is not trusted to
prove absence (``complete`` False) and those companies keep the search (3 calls). What the index
cannot know never becomes a duplicate of our own making: before creating a client without a
look-up, a placeholder link (client id 0) is committed, so a retry after a lost answer searches
first; a deleted client (update → 404) falls back to the search as before.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection
from django.db.models import F, Func, JSONField, Value
from django.db.models.fields import CharField
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import Tenant
from brickinvoice.locks import cache_lock

from .accounting import AccountingBackend
from .models import ClientIndex, CustomerLink

# A client id no package uses: "a create may have been sent and its answer lost; search first".
CREATING = 0


def _fresh(index: ClientIndex) -> bool:
    return index.built_at > timezone.now() - dt.timedelta(days=settings.CLIENT_INDEX_MAX_AGE_DAYS)


def _read(tenant: Tenant, company_id: int) -> ClientIndex | None:
    return ClientIndex.objects.filter(tenant=tenant, company_id=company_id).first()


def index_ready(*, backend: AccountingBackend, tenant: Tenant) -> tuple[ClientIndex, bool]:
    """The company's client index, built (or rebuilt when stale) first, once across workers; and
    whether it was (re)built just now (then CustomerLink may hold codes it did not before)."""
    index = _read(tenant, backend.company_id)
    if index is not None and _fresh(index):
        return index, False
    key = f"fatture-client-index-lock:{tenant.pk}:{backend.company_id}"
    busy = gettext("Another invoice is reading the list of clients from the accounting package.")
    with cache_lock(key, wait=120.0, hold=600, busy=busy) as waited:
        if waited:
            index = _read(tenant, backend.company_id)
            if index is not None and _fresh(index):
                return index, True
        return index_build(backend=backend, tenant=tenant), True


def index_build(*, backend: AccountingBackend, tenant: Tenant) -> ClientIndex:
    """List every client into CustomerLink (coded) and the codeless names; links we already hold
    are kept (they carry the hash of what we last sent)."""
    codes: dict[str, int] = {}
    names: dict[str, int] = {}
    complete = _collect(backend.list_clients(), codes, names)
    now = timezone.now()
    CustomerLink.objects.bulk_create(
        [
            CustomerLink(tenant=tenant, company_id=backend.company_id, code=code, fatture_client_id=cid, data_hash="")
            for code, cid in codes.items()
        ],
        ignore_conflicts=True,
        batch_size=1000,
    )
    index, _ = ClientIndex.objects.update_or_create(
        tenant=tenant,
        company_id=backend.company_id,
        defaults={"built_at": now, "complete": complete, "codeless_names": names if complete else {}},
    )
    return index


def _collect(clients: Iterator[tuple[int, str, str]], codes: dict[str, int], names: dict[str, int]) -> bool:
    """Fill ``codes`` and ``names`` (the first, lowest id wins, as the search does); False when the
    list was cut at CLIENT_INDEX_MAX_CLIENTS (the rest is never fetched)."""
    for count, (cid, code, name) in enumerate(clients, start=1):
        if count > settings.CLIENT_INDEX_MAX_CLIENTS:
            return False
        if code:
            codes.setdefault(code[:120], cid)
        elif name:
            names.setdefault(name, cid)
    return True


def creating_claim(*, tenant: Tenant, company_id: int, code: str) -> bool:
    """Record, before a create without a look-up, that a client for ``code`` is being created (the
    placeholder link, client id CREATING): True when this worker inserted it. One statement; a
    retry after a lost answer finds the placeholder and searches instead of creating again."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO invoicing_customerlink (tenant_id, company_id, code, fatture_client_id, data_hash,"
            " updated_at) VALUES (%s, %s, %s, %s, '', now()) ON CONFLICT DO NOTHING RETURNING id",
            [tenant.pk, company_id, code, CREATING],
        )
        return cursor.fetchone() is not None


@contextmanager
def codeless_claim(index: ClientIndex, name: str) -> Iterator[int | None]:
    """The hand-made codeless client named ``name``, taken out of the index with a conditional
    update so two buyers sharing a name cannot both adopt it; put back if adopting it fails."""
    cid = index.codeless_names.get(name)
    rows = ClientIndex.objects.filter(pk=index.pk, codeless_names__has_key=name)
    if cid is None or rows.update(codeless_names=_jsonb(F("codeless_names"), "-", Value(name))) != 1:
        yield None
        return
    try:
        yield int(cid)
    except BaseException:
        back = Func(Value(name), Value(cid), function="jsonb_build_object", output_field=JSONField())
        ClientIndex.objects.filter(pk=index.pk).update(codeless_names=_jsonb(F("codeless_names"), "||", back))
        raise


def _jsonb(left, operator: str, right) -> Func:
    """``left <operator> right`` on PostgreSQL jsonb (``-`` drops a key, ``||`` merges)."""
    if isinstance(right, Value) and isinstance(right.value, str):
        right = Value(right.value, output_field=CharField())
    return Func(left, right, template="(%(expressions)s)", arg_joiner=f" {operator} ", output_field=JSONField())
