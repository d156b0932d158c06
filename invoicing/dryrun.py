"""A safe first sync: before a tenant's first invoice (and before any sync that would issue more
than ``INVOICING_CONFIRM_ABOVE`` invoices at once) the seller sees what would be issued and
confirms it. Nothing is created or sent to compute it; the counts come from the orders.

What the summary says (docs/tax.md §1.4 timing, §7.4 numbering): how many invoices, their total
per currency, per region, how many would be dated more than 12 days after the sale (late for an
immediate invoice), the dates they span, where their numbers would start, and how long they take
at the seller's quota with the oldest going first (backlog.py: a backlog larger than this month's
quota is planned over the coming months, not attempted).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from accounts.models import SellerSettings, Tenant
from accounts.services import settings_for

from .accounting import account_of
from .backlog import BacklogPlan, backlog_for
from .models import Invoice
from .queueing import eligible_orders, invoices_queue_eligible
from .regions import region_for
from .rules import seller_rules_for

# An immediate invoice must be issued within 12 days of the sale (docs/tax.md §1.4).
LATE_AFTER = timedelta(days=12)


@dataclass
class DryRun:
    """What confirming would issue, for the seller to check before anything is created."""

    first_sync: bool
    start: date | None
    count: int = 0
    totals: dict[str, Decimal] = field(default_factory=dict)  # per currency
    regions: Counter[str] = field(default_factory=Counter)
    late: int = 0
    with_problems: int = 0
    first_date: date | None = None
    last_date: date | None = None
    last_number: str = ""
    last_number_date: date | None = None
    plan: BacklogPlan | None = None  # time at the seller's quota (None: no account connected)

    @property
    def region_counts(self) -> list[tuple[str, int]]:
        """For templates (a Counter answers 0 to the template's ``.items`` look-up)."""
        return sorted(self.regions.items(), key=lambda pair: -pair[1])

    @property
    def currency_totals(self) -> list[tuple[str, Decimal]]:
        return sorted(self.totals.items())

    @property
    def needs_confirmation(self) -> bool:
        return self.count > 0 and (self.first_sync or self.count > settings.INVOICING_CONFIRM_ABOVE)


def _invoice_day(paid_at, ordered_at, policy: str) -> date:
    when = paid_at if policy == "payment_date" and paid_at else ordered_at
    return timezone.localtime(when).date()


def dry_run(*, tenant: Tenant, start: date | None = None) -> DryRun:
    """The summary of what would be invoiced from ``start`` (default: the seller's start date)."""
    seller = settings_for(tenant)
    rules = seller_rules_for(tenant)
    start = start or seller.cutoff_date
    orders = eligible_orders(tenant=tenant).filter(invoice__isnull=True)
    if start:
        orders = orders.filter(ordered_at__date__gte=start)
    summary = DryRun(first_sync=seller.invoicing_confirmed_at is None, start=start)
    today = timezone.localdate()
    rows = orders.values_list(
        "currency", "amount_paid_to_seller", "ship_country", "ship_postal_code", "paid_at", "ordered_at", "data_errors"
    )
    for currency, amount, country, postcode, paid_at, ordered_at, problems in rows.iterator():
        summary.count += 1
        key = (currency or "EUR").upper()
        summary.totals[key] = summary.totals.get(key, Decimal(0)) + Decimal(amount or 0)
        try:
            summary.regions[region_for(country=country, postcode=postcode, seller_country=rules.country)] += 1
        except ValueError:
            summary.regions["unknown"] += 1
        day = _invoice_day(paid_at, ordered_at, rules.invoice_date_policy)
        summary.late += today - day > LATE_AFTER
        summary.with_problems += bool(problems)
        summary.first_date = min(filter(None, [summary.first_date, day]))
        summary.last_date = max(filter(None, [summary.last_date, day]))
    last = (
        Invoice.objects.filter(company_id=account_of(tenant), state=Invoice.State.ISSUED)
        .order_by("-invoice_date", "-issued_at")
        .values_list("number", "numeration", "invoice_date")
        .first()
    )
    if last:
        summary.last_number, summary.last_number_date = f"{last[0]}{last[1]}", last[2]
    summary.plan = backlog_for(tenant=tenant, invoices=summary.count)
    return summary


def sync_confirm(*, tenant: Tenant, start: date | None) -> int:
    """The seller confirmed the dry run: from ``start`` on, the waiting orders are invoiced (oldest
    first, by the dispatcher). Returns how many invoices were queued. The confirmation is saved
    first; the queueing runs in chunks of its own (a large backlog is not one long transaction),
    and whatever an interruption leaves unqueued, the next sync queues."""
    changes: dict[str, object] = {"invoicing_confirmed_at": timezone.now()}
    if start is not None:
        changes["cutoff_date"] = start
    SellerSettings.objects.filter(tenant=tenant).update(**changes)
    return invoices_queue_eligible(tenant=tenant, confirmed=True)
