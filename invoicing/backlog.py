"""How long a backlog takes at the seller's quota, planned before it starts.

The accounting package's longest window (Fatture in Cloud: 40,000 requests a month, less the share
left for the seller's other apps) is the real ceiling: a first sync larger than what remains this
month is spread over the coming months, oldest orders first (the dispatcher's order), instead of
being attempted and refused. The seller sees "N invoices, about D days at your quota" before it
starts (dryrun.py and the sync confirmation page).

The cost of one invoice is measured: the average API calls of the seller's last issued invoices
(a returning buyer costs one call, a new one two), or ``DEFAULT_CALLS_PER_INVOICE`` before there
are any.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Avg
from django.utils import timezone

from accounts.models import Tenant

from .accounting import QuotaOutlook, account_of, backend_class, package_of
from .models import Invoice

# A new buyer costs two calls (client create, invoice create); before any invoice, assume the worst
# common case.
DEFAULT_CALLS_PER_INVOICE = 2.0
# How many recent invoices the measured average reads.
MEASURED_INVOICES = 200
DAY = 86400.0


@dataclass(frozen=True)
class BacklogPlan:
    """What a backlog costs and how long it takes at the account's quota."""

    invoices: int
    calls_per_invoice: float
    calls: int
    days: float
    fits_this_window: bool  # done before the month (the longest window) turns

    @property
    def whole_days(self) -> int:
        """'About D days' for the seller: at least one."""
        return max(1, math.ceil(self.days))


def quota_outlook(account_id: int, *, key: str | None = None) -> QuotaOutlook:
    """The account's budget in the package's longest window (a cache read, no API call)."""
    return backend_class(key).quota_outlook(account_id)


def calls_per_invoice(*, tenant: Tenant) -> float:
    """The measured API calls of one invoice: the mean over the seller's latest issued invoices."""
    recent = (
        Invoice.objects.filter(tenant=tenant, state=Invoice.State.ISSUED, api_calls__gt=0)
        .order_by("-issued_at")
        .values_list("id", flat=True)[:MEASURED_INVOICES]
    )
    mean = Invoice.objects.filter(id__in=list(recent)).aggregate(mean=Avg("api_calls"))["mean"]
    return float(mean) if mean else DEFAULT_CALLS_PER_INVOICE


def backlog_plan(*, invoices: int, calls_per_invoice: float, outlook: QuotaOutlook, now: datetime) -> BacklogPlan:
    """Days to issue ``invoices``: at the hourly pace while the month's budget lasts, then a new
    month's budget each time the window turns."""
    calls = math.ceil(invoices * calls_per_invoice)
    per_day = max(1, outlook.calls_per_hour) * 24
    if calls <= outlook.remaining:
        return BacklogPlan(invoices, calls_per_invoice, calls, calls / per_day, True)
    # This window's remainder, then whole windows, then the last window's part at the hourly pace.
    days = max(0.0, (outlook.window_ends_at - now).total_seconds()) / DAY
    rest = calls - outlook.remaining
    per_window = max(1, outlook.per_window)
    full_windows, last = divmod(rest, per_window)
    if last == 0:
        full_windows, last = full_windows - 1, per_window
    # A window is a month: 30 days is close enough for "about D days".
    days += full_windows * 30 + last / per_day
    return BacklogPlan(invoices, calls_per_invoice, calls, days, False)


def backlog_for(*, tenant: Tenant, invoices: int) -> BacklogPlan | None:
    """The plan for ``invoices`` of this seller, or None before an account is connected."""
    account_id = account_of(tenant)
    if account_id is None or invoices <= 0:
        return None
    outlook = quota_outlook(account_id, key=package_of(tenant))
    return backlog_plan(
        invoices=invoices, calls_per_invoice=calls_per_invoice(tenant=tenant), outlook=outlook, now=timezone.now()
    )
