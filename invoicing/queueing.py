"""Which orders need an invoice, and handing invoice work to the workers.

Work lives in the database, not in the broker: an invoice waiting for its turn, for the
accounting package's quota or for an automatic retry is a row with a ``next_attempt_at``, and no
message exists for it. One dispatcher (``dispatch``, run by beat every few seconds and kicked
after new work commits) sends messages for the rows that are due:

- **one company at a time**: each accounting company (numeration) has at most one invoice in
  flight, its oldest (``sort_at``, the date the invoice will carry), so invoice numbers follow
  dates and a whale's backlog never occupies more than one worker;
- **fair**: the heads of all companies are visited in an order that rotates on every pass, so no
  tenant's backlog delays another's;
- **bounded**: at most ``INVOICE_DISPATCH_MAX_IN_FLIGHT`` messages are in flight, whatever the
  backlog; no message carries a countdown, so none can outlive the broker's visibility timeout;
- **within the quota**: a company whose quota is spent is not dispatched; its head gets a
  ``next_attempt_at`` when the budget frees up;
- **only when it can work**: invoices of a tenant without a company wait (no message) until the
  seller connects one (``invoices_resume``).

``queued_at`` marks a row whose message is in flight; the claim (issuing.py) clears it. A message
lost with its broker (Redis restarted without persistence) leaves ``queued_at`` behind: after
``INVOICE_QUEUED_LEASE_SECONDS`` the row is due again. A worker that died mid-invoice leaves a
claim behind: after the claim lease the row is due again, and its ``uncertain`` flag makes the
next attempt look before it creates. Waiting rows are never mistaken for lost ones.

Nothing here imports the tasks: ``dispatch`` takes ``send(invoice_id)``, called after commit.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import connection, transaction
from django.db.models import BigIntegerField, Case, DateTimeField, F, Model, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.formats import date_format

from accounts.models import Tenant
from accounts.services import settings_for
from brickinvoice.errors import ErrorText, describe
from marketplaces.models import Order

from .accounting import account_of, wait_before_invoice
from .backlog import DEFAULT_CALLS_PER_INVOICE, quota_outlook
from .models import Invoice, SyncRun
from .rules import seller_rules_for

# Sends one invoice message (invoice id); the caller's transaction has committed.
Send = Callable[[int], None]

# Longer than the invoice task's hard time limit: a live task never loses its claim.
CLAIM_LEASE = timedelta(seconds=settings.INVOICE_CLAIM_LEASE_SECONDS)
# A message not picked up within this long is taken for lost (its broker restarted).
QUEUED_LEASE = timedelta(seconds=settings.INVOICE_QUEUED_LEASE_SECONDS)

S = Invoice.State
OPEN_STATES = [S.PENDING, S.CLAIMED, S.SUBMITTING, S.FAILED]
# Errors that pause invoicing until the seller fixes the connection or the mapping; fixing it (the
# accounting package sends accounting_ready) resumes them by themselves.
SETUP_ERRORS = (
    "fatture_auth_failed",
    "fatture_not_connected",
    "no_company_selected",
    "company_not_found",
    "slot_not_mapped",
    "product_not_found",
    "vat_rate_mismatch",
    "vat_type_missing",
)


def eligible_orders(*, tenant: Tenant, store_id: int | None = None):
    """Orders that should have an invoice and have none yet (or one that was skipped)."""
    rules = seller_rules_for(tenant)
    # A quarantined order's data could not be read: it holds placeholders, never an invoice.
    orders = Order.objects.filter(
        tenant=tenant, status__in=list(rules.invoiceable_statuses), quarantined=False
    ).exclude(status="cancelled")
    if store_id:
        orders = orders.filter(store_id=store_id)
    if rules.cutoff_date:
        orders = orders.filter(ordered_at__date__gte=rules.cutoff_date)
    return orders.filter(Q(invoice__isnull=True) | Q(invoice__state__in=[S.PENDING, S.SKIPPED]))


def _invoice_date_of(policy: str):
    """The order's date its invoice will carry, as an expression on Order."""
    return Coalesce(F("paid_at"), F("ordered_at")) if policy == "payment_date" else F("ordered_at")


def _sort_at(policy: str) -> Subquery:
    """The date the invoice will carry, as the invoice's place in its company's queue."""
    return Subquery(Order.objects.filter(id=OuterRef("order_id")).values_list(_invoice_date_of(policy))[:1])


def awaiting_confirmation(*, tenant: Tenant) -> int:
    """How many eligible orders wait for the seller's go (0: none). Until the seller confirms the
    first sync's dry run nothing is invoiced; afterwards a batch larger than
    INVOICING_CONFIRM_ABOVE new invoices waits too (docs/tax.md §1.4: a backlog is issued late)."""
    new = eligible_orders(tenant=tenant).filter(invoice__isnull=True).count()
    if not settings_for(tenant).invoicing_confirmed_at:
        return new
    return new if new > settings.INVOICING_CONFIRM_ABOVE else 0


QUEUE_CHUNK = 2000

# A fresh random (version 4) public id per inserted row, written by the database itself; SQLite
# (the embedded default) spells it out from random bytes, as Django stores it: 32 hex digits.
_RANDOM_UUID = {
    "postgresql": "gen_random_uuid()",
    "sqlite": "lower(hex(randomblob(6)) || '4' || substr(hex(randomblob(2)), 2) || "
    "substr('89ab', 1 + (abs(random()) %% 4), 1) || substr(hex(randomblob(2)), 2) || hex(randomblob(6)))",
}


def _insert_sql(
    *, tenant_id: int, order_ids: list[int], values: dict[str, tuple[str, list]], order_by: str
) -> tuple[str, list]:
    """``INSERT … SELECT`` of one invoice row per order in ``order_ids`` that has none yet.

    ``values`` gives some columns an SQL expression over the order ``o`` (and its parameters), and
    ``order_by`` the order of the new ids; every other column takes the model's default, bound
    once for the whole statement. So the database builds the rows, and queueing 20,000 orders
    costs no Python object per row (bulk_create prepared 52 values per row: 3.2 s of CPU for
    20,000; bench/queue_cost.py). Only ``tenant_id``'s own orders are read.
    """
    postgres = connection.vendor == "postgresql"
    columns, select, params = [], [], []
    for field in Invoice._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(connection.ops.quote_name(field.column))
        if field.column in values:
            sql, extra = values[field.column]
        else:
            # A literal default is cast to its column's type, so PostgreSQL never guesses it.
            sql = f"CAST(%s AS {field.db_type(connection)})" if postgres else "%s"
            extra = [field.get_db_prep_save(field.get_default(), connection)]
        select.append(sql)
        params.extend(extra)
    placeholders = ", ".join(["%s"] * len(order_ids))
    # Only quoted identifiers of our own models and fixed SQL are formatted in; every value is a
    # parameter.
    sql = (
        f"INSERT INTO {connection.ops.quote_name(Invoice._meta.db_table)} ({', '.join(columns)}) "  # noqa: S608
        f"SELECT {', '.join(select)} FROM {connection.ops.quote_name(Order._meta.db_table)} o "
        f"WHERE o.tenant_id = %s AND o.id IN ({placeholders}) ORDER BY {order_by} "
        "ON CONFLICT (order_id) DO NOTHING"
    )
    return sql, [*params, tenant_id, *order_ids]


def _queue_new(
    *, tenant: Tenant, order_ids: list[int], company_id: int | None, policy: str, run_id: int | None
) -> None:
    """Invoice rows for orders that have none, in one statement (a row created meanwhile by another
    path, e.g. "invoice this order now", is kept as it is)."""
    now = timezone.now()
    date = "COALESCE(o.paid_at, o.ordered_at)" if policy == "payment_date" else "o.ordered_at"
    sql, params = _insert_sql(
        tenant_id=tenant.id,
        order_ids=order_ids,
        values={
            "public_id": (_RANDOM_UUID[connection.vendor], []),
            "tenant_id": ("%s", [tenant.id]),
            "order_id": ("o.id", []),
            "state": ("%s", [S.PENDING]),
            "sort_at": (date, []),
            "sync_run_id": ("%s", [run_id]),
            "company_id": ("%s", [company_id]),
            "created_at": ("%s", [now]),
            "updated_at": ("%s", [now]),
        },
        order_by=f"{date}, o.id",
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _queue_again(*, invoice_ids: list[int], company_id: int | None, policy: str, run_id: int | None) -> None:
    """Rows that exist already: a skipped one is reopened; a waiting one keeps its place and its
    message in flight. Each gets its current date, its run (an import outside a run keeps the run
    it had) and the company the seller invoices from now, except one whose earlier attempt may
    have reached another company (``uncertain``: its look-up must ask that one). One statement."""
    skipped = Q(state=S.SKIPPED)
    moment: DateTimeField[datetime, datetime] = DateTimeField()
    changes = {
        "state": Value(S.PENDING),
        "next_attempt_at": Case(When(skipped, then=Value(None)), default=F("next_attempt_at"), output_field=moment),
        "queued_at": Case(When(skipped, then=Value(None)), default=F("queued_at"), output_field=moment),
        "sort_at": _sort_at(policy),
        "company_id": Case(
            When(uncertain=False, then=Value(company_id)), default=F("company_id"), output_field=BigIntegerField()
        ),
    }
    if run_id:
        changes["sync_run_id"] = Value(run_id)
    Invoice.objects.filter(id__in=invoice_ids, state__in=[S.PENDING, S.SKIPPED]).update(**changes)


def invoices_queue_eligible(
    *, tenant: Tenant, store_id: int | None = None, sync_run: SyncRun | None = None, confirmed: bool = False
) -> int:
    """Create the invoice rows of eligible orders (or reopen skipped ones) for the dispatcher.

    Two statements per chunk of ``QUEUE_CHUNK`` orders, not one per order: a first sync of a
    large store queues thousands, and each chunk is its own short transaction (20,000 orders in one
    outran a task's time limit on a busy worker and were rolled back every time: docs/benchmarks.md,
    the whale), queued oldest first. New rows are built by the database (``_queue_new``), so a
    whale's first sync costs little CPU on the cores the other sellers' first invoices need. A
    chunk is idempotent, so a run cut short is completed by the next sync. Rows already waiting
    keep their place and their in-flight message: a sync never queues work twice. Nothing new is
    queued while it waits for the seller's confirmation (``awaiting_confirmation``) unless
    ``confirmed``. Returns how many rows are waiting.
    """
    if not confirmed and awaiting_confirmation(tenant=tenant):
        return 0
    company_id = account_of(tenant)
    policy = seller_rules_for(tenant).invoice_date_policy
    run_id = sync_run.id if sync_run else None
    # Oldest first: the dispatcher may issue from a chunk while the next one is queued, and a later
    # chunk must never bring a date older than an invoice already numbered (numbers follow dates).
    eligible = eligible_orders(tenant=tenant, store_id=store_id).order_by(_invoice_date_of(policy), "id")
    rows = list(eligible.values_list("id", "invoice__id"))
    for first in range(0, len(rows), QUEUE_CHUNK):
        chunk = rows[first : first + QUEUE_CHUNK]
        new = [order_id for order_id, invoice_id in chunk if invoice_id is None]
        existing = [invoice_id for _, invoice_id in chunk if invoice_id is not None]
        with transaction.atomic():
            if new:
                _queue_new(tenant=tenant, order_ids=new, company_id=company_id, policy=policy, run_id=run_id)
            if existing:
                _queue_again(invoice_ids=existing, company_id=company_id, policy=policy, run_id=run_id)
    return len(rows)


def reopen(invoices, **extra) -> int:
    return invoices.update(
        state=S.PENDING,
        next_attempt_at=None,
        queued_at=None,
        attempts=0,
        error_code="",
        error_message="",
        error_hint="",
        error_detail="",
        **extra,
    )


def _company_or(tenant: Tenant):
    """The row's own company, or the one the tenant invoices from now for a row that has none."""
    company_id = account_of(tenant)
    return Coalesce(F("company_id"), Value(company_id)) if company_id is not None else F("company_id")


def invoice_retry(*, invoice: Invoice) -> bool:
    """The seller's Retry button: a failed, held or skipped invoice goes back to the queue now."""
    reopenable = Invoice.objects.filter(id=invoice.id, state__in=[S.FAILED, S.NEEDS_ATTENTION, S.SKIPPED])
    return bool(reopen(reopenable, company_id=_company_or(invoice.tenant)))


def invoices_retry_all_failed(*, tenant: Tenant) -> int:
    failed = Invoice.objects.filter(tenant=tenant, state__in=[S.FAILED, S.NEEDS_ATTENTION])
    return reopen(failed, company_id=_company_or(tenant))


def invoices_resume(*, tenant: Tenant) -> int:
    """Invoices paused by the connection or the mapping (revoked token, no company, an unmapped or
    deleted product) go back to the queue by themselves once the seller fixed it, to the company
    the connection invoices from now; so do invoices that waited for a company at all."""
    company_id = account_of(tenant)
    if company_id is None:
        return 0
    stopped = Invoice.objects.filter(tenant=tenant, uncertain=False).filter(
        Q(state__in=[S.NEEDS_ATTENTION, S.FAILED], error_code__in=SETUP_ERRORS)
        | Q(state=S.PENDING, company_id__isnull=True)
    )
    return reopen(stopped, company_id=company_id)


def invoice_now(*, order: Order) -> bool:
    """'Invoice this order now' from the preview page: queue it unless it is issued or in flight."""
    with transaction.atomic():
        invoice, _ = Invoice.objects.get_or_create(
            order=order,
            defaults={
                "tenant": order.tenant,
                "company_id": account_of(order.tenant),
                "sort_at": order.paid_at or order.ordered_at,
            },
        )
        company = _company_or(order.tenant)
        if Invoice.objects.filter(id=invoice.id, state=S.PENDING).update(next_attempt_at=None, company_id=company):
            return True
        reopenable = Invoice.objects.filter(id=invoice.id, state__in=[S.SKIPPED, S.FAILED, S.NEEDS_ATTENTION])
        return bool(reopen(reopenable, company_id=company))


# --- the dispatcher -------------------------------------------------------------------------


@dataclass(frozen=True)
class Head:
    """The oldest open document of one company (invoice or credit note): the only one of its kind
    that may be in flight, so each numbering series is issued in order."""

    id: int
    company_id: int
    state: str
    queued_at: datetime | None


# Shared by the invoice and the credit-note dispatchers (creditqueue.py): the head of each
# company's open documents of one table, when it is due, in an order that rotates on every pass.
#
# The companies with open work are walked one index probe each (a recursive "loose index scan"
# over the partial open-work index), and each company's head is one more probe: a pass costs
# in proportion to the companies with work, never to their backlogs. (A window over every open
# row cost 16 ms a pass with one 20,000-order backlog against 2 ms without: bench/queue_cost.py.)
# ``{companies}`` is that walk, or the one company a kicked pass looks at.
# The open states are spelled as the partial indexes' own condition (same states, same order), so
# the planner uses them.
_OPEN_SQL = "(" + ", ".join(f"'{state}'" for state in OPEN_STATES) + ")"
_ALL_COMPANIES = """
    SELECT MIN(n.company_id) FROM {table} n
    WHERE n.state IN {open} AND n.company_id IS NOT NULL
  UNION ALL
    SELECT (
        SELECT MIN(n.company_id) FROM {table} n
        WHERE n.state IN {open} AND n.company_id > c.company_id
    )
    FROM companies c WHERE c.company_id IS NOT NULL
"""
_ONE_COMPANY = "SELECT CAST(%(company_id)s AS BIGINT)"
_HEADS_SQL = """
WITH RECURSIVE companies(company_id) AS ({companies})
SELECT d.id, d.company_id, d.state, d.queued_at
FROM companies c
JOIN {table} d ON d.id = (
    SELECT h.id FROM {table} h
    WHERE h.company_id = c.company_id AND h.state IN {open}
    ORDER BY h.{order}, h.id
    LIMIT 1
)
WHERE (d.queued_at IS NULL OR d.queued_at < %(queued_stale)s)
  AND (
        (d.state IN ('pending', 'failed') AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= %(now)s))
     OR (d.state IN ('claimed', 'submitting') AND d.claimed_at < %(claim_stale)s)
  )
ORDER BY ((d.company_id + %(salt)s) * 2654435761) %% 4294967296
LIMIT %(limit)s
"""


def due_heads(model: type[Model], order: str, *, now: datetime, company_id: int | None, limit: int) -> list[Head]:
    """The due heads of ``model``'s table (oldest by ``order`` per company), fair across companies."""
    params: dict[str, datetime | int] = {
        "now": now,
        "queued_stale": now - QUEUED_LEASE,
        "claim_stale": now - CLAIM_LEASE,
        "salt": random.randrange(1 << 30),
        "limit": limit,
    }
    companies = _ALL_COMPANIES
    if company_id is not None:
        companies, params["company_id"] = _ONE_COMPANY, company_id
    table = connection.ops.quote_name(model._meta.db_table)
    sql = _HEADS_SQL.format(
        companies=companies.format(table=table, open=_OPEN_SQL), table=table, order=order, open=_OPEN_SQL
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [Head(*row) for row in cursor.fetchall()]


def in_flight_of(model: type[Model], *, now: datetime) -> int:
    """``model``'s documents with a message in flight or being worked on, across every tenant."""
    return model._default_manager.filter(
        Q(state__in=["pending", "failed"], queued_at__gte=now - QUEUED_LEASE)
        | Q(state__in=["claimed", "submitting"], claimed_at__gte=now - CLAIM_LEASE)
    ).count()


def in_flight(*, now: datetime) -> int:
    """Invoice messages in flight or invoices being worked on, across every tenant."""
    return in_flight_of(Invoice, now=now)


def _quota_text(company_id: int | None, later: datetime) -> ErrorText:
    """The month's budget spent (or too little of it left for one invoice) says so, with the day
    invoicing resumes; any shorter wait is the usual "quota used up for now"."""
    if company_id is not None and quota_outlook(company_id).remaining < DEFAULT_CALLS_PER_INVOICE:
        return describe("fatture_quota_month", date=date_format(timezone.localtime(later), "DATETIME_FORMAT"))
    return describe("fatture_quota")


def _wait_for_quota(head: Head, wait: float, now: datetime) -> None:
    """The company's quota is spent: its head waits in the database, without a message (a head
    retrying after an error keeps that error; it simply retries no sooner than the quota allows)."""
    later = now + timedelta(seconds=wait)
    Invoice.objects.filter(id=head.id, state=S.FAILED).update(next_attempt_at=later)
    text = _quota_text(head.company_id, later)
    Invoice.objects.filter(id=head.id, state=S.PENDING).update(
        next_attempt_at=later, error_code="fatture_quota", error_message=text.message, error_hint=text.hint
    )


def dispatch(*, send: Send, company_id: int | None = None, now: datetime | None = None) -> int:
    """One pass: send a message for each due head, within the in-flight bound and each company's
    quota. ``company_id`` limits the pass to one company (a finished task continuing its chain)."""
    now = now or timezone.now()
    capacity = settings.INVOICE_DISPATCH_MAX_IN_FLIGHT - in_flight(now=now)
    if capacity <= 0:
        return 0
    sent = 0
    for head in due_heads(Invoice, "sort_at", now=now, company_id=company_id, limit=capacity):
        if head.company_id is not None:
            wait = wait_before_invoice(head.company_id)
            if wait > 0:
                _wait_for_quota(head, wait, now)
                continue
        claimed = Invoice.objects.filter(id=head.id, state=head.state, queued_at=head.queued_at).update(queued_at=now)
        if claimed:
            transaction.on_commit(partial(send, head.id))
            sent += 1
    return sent


def invoices_release_lost(*, now: datetime | None = None) -> int:
    """Safety net: rows whose message was lost (``queued_at`` older than the lease) become due
    again. Rows that merely wait (for the quota, a retry, their turn) carry no ``queued_at`` and
    are left alone, so a large backlog is never mistaken for lost work."""
    now = now or timezone.now()
    return Invoice.objects.filter(state__in=[S.PENDING, S.FAILED], queued_at__lt=now - QUEUED_LEASE).update(
        queued_at=None
    )
