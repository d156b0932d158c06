"""The tenant's periodic sync, kept as a django-celery-beat entry matching the seller's settings."""

from __future__ import annotations

import json

from django.conf import settings
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from accounts.models import Tenant
from accounts.services import settings_for

from .models import SyncRun

SCHEDULES = {"15min": (15, "minutes"), "hourly": (1, "hours"), "daily": (1, "days")}


def schedule_name(tenant: Tenant) -> str:
    return f"sync-tenant-{tenant.public_id}"


def sync_schedule_apply(*, tenant: Tenant) -> None:
    """Create, change or remove the tenant's periodic sync to match its settings."""
    name = schedule_name(tenant)
    choice = settings_for(tenant).sync_schedule
    if choice not in SCHEDULES:
        PeriodicTask.objects.filter(name=name).delete()
        return
    every, period = SCHEDULES[choice]
    interval, _ = IntervalSchedule.objects.get_or_create(every=every, period=period)
    PeriodicTask.objects.update_or_create(
        name=name,
        defaults={
            "task": "invoicing.tasks.sync_tenant",
            "interval": interval,
            "enabled": True,
            "kwargs": json.dumps({"tenant_id": tenant.id, "trigger": SyncRun.Trigger.SCHEDULE}),
            "queue": settings.CELERY_TASK_DEFAULT_QUEUE,
        },
    )
