"""accounts cannot import invoicing (dependencies point one way), so it signals; we follow."""

from django.db import transaction


def apply_schedule(sender, settings, **kwargs):
    from .services import sync_schedule_apply

    transaction.on_commit(lambda: sync_schedule_apply(tenant=settings.tenant))
