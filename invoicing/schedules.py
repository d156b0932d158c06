"""Scheduled syncs without one beat entry per tenant: each tenant's next sync is a
``SellerSettings.next_sync_at`` column, and one beat task (``tasks.dispatch_syncs``) claims the
tenants that are due in small batches with ``SELECT … FOR UPDATE SKIP LOCKED`` and moves their
``next_sync_at`` on before anything is sent, so two dispatchers never sync a tenant twice.

A settings save is one row update; django-celery-beat keeps only the product's few global
schedules (its per-tenant rows scaled with the square of the tenant count and made beat reload
everything on every settings save: docs/benchmarks.md).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.db import connections, transaction
from django.utils import timezone

from accounts.models import SellerSettings, Tenant
from accounts.services import settings_for

SCHEDULES = {"15min": timedelta(minutes=15), "hourly": timedelta(hours=1), "daily": timedelta(days=1)}
CLAIM_BATCH = 500


def interval_of(choice: str) -> timedelta | None:
    return SCHEDULES.get(choice)


def first_sync_at(choice: str, *, now: datetime | None = None) -> datetime | None:
    """The first sync for a schedule choice falls within one interval (spread, so a thousand
    sign-ups or changes at once do not sync together); off is None."""
    every = interval_of(choice)
    return (now or timezone.now()) + every * random.uniform(0.05, 1.0) if every else None


def sync_schedule_apply(*, tenant: Tenant, now: datetime | None = None) -> None:
    """Match ``next_sync_at`` to the tenant's choice (sign-up; a settings save plans it in its
    own UPDATE: ``sync_schedule_plan``)."""
    row = settings_for(tenant)
    SellerSettings.objects.filter(id=row.id).update(next_sync_at=first_sync_at(row.sync_schedule, now=now))


def sync_schedule_plan(*, seller_settings: SellerSettings, changed: list[str]) -> list[str]:
    """Before a settings save: a changed schedule moves ``next_sync_at`` (returned as a field to
    write with the save); an unchanged one keeps the tenant's place."""
    if "sync_schedule" not in changed:
        return []
    seller_settings.next_sync_at = first_sync_at(seller_settings.sync_schedule)
    return ["next_sync_at"]


# One statement claims a batch: the due rows are locked (skipping rows another dispatcher holds)
# and moved one interval on in the same UPDATE, which returns their tenants. A raw statement because
# the ORM's update() returns no rows; the columns are the model's own (db_column defaults).
_CLAIM_SQL = """
UPDATE {table} SET next_sync_at = CASE sync_schedule {cases} ELSE NULL END
WHERE id IN (
    SELECT id FROM {table} WHERE next_sync_at <= %s ORDER BY next_sync_at LIMIT %s {lock}
)
RETURNING tenant_id
"""


def syncs_claim_due(*, now: datetime | None = None, batch: int = CLAIM_BATCH) -> list[int]:
    """The tenants whose sync is due, each claimed once: their next_sync_at moves one interval on
    (from now, so a long outage does not replay the missed syncs) in the same statement."""
    now = now or timezone.now()
    connection = connections[SellerSettings.objects.db]
    lock = "FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    sql = _CLAIM_SQL.format(
        table=connection.ops.quote_name(SellerSettings._meta.db_table),
        cases=" ".join("WHEN %s THEN %s" for _ in SCHEDULES),
        lock=lock,
    )
    params: list[str | datetime] = [value for choice, every in SCHEDULES.items() for value in (choice, now + every)]
    claimed: list[int] = []
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [*params, now, batch])
            rows = cursor.fetchall()
        claimed.extend(tenant_id for (tenant_id,) in rows)
        if len(rows) < batch:
            return claimed
