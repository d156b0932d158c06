"""Scheduled syncs without one beat entry per tenant and without one write per sync.

A tenant's schedule is a choice (every 15 minutes, hourly, daily, off) and a *phase*: the second
within each interval at which its sync is due, intervals counted from the Unix epoch (so a day is a
UTC day). The phase is drawn at random when the schedule is chosen, so tenants spread evenly.

One beat task (``tasks.dispatch_syncs``) starts the due syncs. It keeps one cursor row: how far it
has dispatched. Each tick it locks the cursor (``FOR UPDATE SKIP LOCKED``: a second dispatcher
running at the same time skips the tick), reads the tenants whose phase falls in the seconds since
the cursor, moves the cursor to now and commits. Every due time is therefore dispatched exactly
once, whoever runs the tick, and a tick costs one index read and one one-row update however many
tenants are due. After an outage, every tenant due meanwhile is started once, not once per missed
interval.

Why not a ``next_sync_at`` per tenant claimed and moved on by the dispatcher: that rewrites every
due tenant's settings row and index entry, about 1,500 rows a minute at 100,000 tenants, measured
at 90 ms a minute against a goal of 50 (docs/benchmarks.md). A settings save is one row update
either way: a changed schedule draws a new phase in the same ``UPDATE``.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from functools import reduce
from operator import or_

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.choices import SYNC_INTERVAL_SECONDS
from accounts.models import SellerSettings, Tenant
from accounts.services import settings_for

from .models import ScheduleCursor

SCHEDULES = {str(choice): timedelta(seconds=seconds) for choice, seconds in SYNC_INTERVAL_SECONDS.items()}


def interval_of(choice: str) -> timedelta | None:
    return SCHEDULES.get(choice)


def phase_draw(choice: str) -> int | None:
    """A random place within one interval of the schedule; None for off (its phase is kept)."""
    every = interval_of(choice)
    return random.randrange(int(every.total_seconds())) if every else None


def next_sync_at(*, choice: str, phase: int, now: datetime | None = None) -> datetime | None:
    """When a tenant with this schedule and phase is next due (the dispatcher starts it at its
    first tick from then on); None when the schedule is off."""
    every = interval_of(choice)
    if every is None:
        return None
    seconds = int(every.total_seconds())
    second = int((now or timezone.now()).timestamp())
    due = second - second % seconds + phase
    if due <= second:
        due += seconds
    return datetime.fromtimestamp(due, tz=UTC)


def sync_schedule_apply(*, tenant: Tenant) -> None:
    """Spread a new tenant over its schedule's interval (the default phase is valid in every
    interval but falls in the first 15 minutes; a settings save draws it in its own UPDATE:
    ``sync_schedule_plan``)."""
    row = settings_for(tenant)
    phase = phase_draw(row.sync_schedule)
    if phase is not None:
        SellerSettings.objects.filter(id=row.id).update(sync_phase=phase)


def sync_schedule_plan(*, seller_settings: SellerSettings, changed: list[str]) -> list[str]:
    """Before a settings save: a changed schedule draws a new phase (returned as a field to write
    with the save); an unchanged one keeps the tenant's place."""
    if "sync_schedule" not in changed:
        return []
    phase = phase_draw(seller_settings.sync_schedule)
    if phase is None:
        return []
    seller_settings.sync_phase = phase
    return ["sync_phase"]


def _due(since: int, until: int) -> Q:
    """Tenants due at some second in (since, until] (Unix seconds): per schedule, the phases those
    seconds fall on, as one or two ranges (the window may wrap past an interval's end)."""
    ranges = []
    for choice, every in SCHEDULES.items():
        seconds = int(every.total_seconds())
        on = Q(sync_schedule=choice)
        if until - since >= seconds:
            ranges.append(on)
            continue
        low, high = (since + 1) % seconds, until % seconds
        if low <= high:
            ranges.append(on & Q(sync_phase__gte=low, sync_phase__lte=high))
        else:
            ranges.append(on & (Q(sync_phase__gte=low) | Q(sync_phase__lte=high)))
    return reduce(or_, ranges)


def syncs_claim_due(*, now: datetime | None = None) -> list[int]:
    """The tenants due since the last tick, each returned to exactly one dispatcher: the cursor's
    row lock makes a concurrent dispatcher skip the tick, and the cursor moves to ``now``."""
    until = int((now or timezone.now()).timestamp())
    with transaction.atomic():
        cursor = ScheduleCursor.objects.select_for_update(skip_locked=True).filter(pk=1).first()
        if cursor is None:
            # A fresh database: start one tick back. If another dispatcher holds the row, this
            # finds it (get_or_create reads without locking) and skips the tick.
            start = datetime.fromtimestamp(until - int(settings.SYNC_DISPATCH_EVERY_SECONDS), tz=UTC)
            cursor, created = ScheduleCursor.objects.get_or_create(pk=1, defaults={"dispatched_until": start})
            if not created:
                return []
        since = int(cursor.dispatched_until.timestamp())
        if until <= since:
            return []
        due = list(SellerSettings.objects.filter(_due(since, until)).values_list("tenant_id", flat=True))
        ScheduleCursor.objects.filter(pk=1).update(dispatched_until=datetime.fromtimestamp(until, tz=UTC))
    return due
