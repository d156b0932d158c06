"""accounts cannot import invoicing (dependencies point one way), so it signals; we follow."""

from django.db import transaction

from .schedules import sync_schedule_apply


def apply_schedule(sender, settings, **kwargs):
    transaction.on_commit(lambda: sync_schedule_apply(tenant=settings.tenant))
