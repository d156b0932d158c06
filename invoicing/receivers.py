"""Signals from the layers below (accounts, marketplaces, the accounting package), and what
invoicing does about them. Those layers cannot import invoicing (dependencies point one way)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from accounts.models import Tenant
from accounts.notifications import notification_resolved
from marketplaces.models import StoreConnection

from . import einvoicing, queueing
from .accounting import account_of
from .creditdetect import credit_notes_detect
from .creditrequests import credit_notes_resume
from .schedules import sync_schedule_apply, sync_schedule_plan
from .tasks import einvoices_track, kick_credit_dispatcher, kick_dispatcher


def apply_schedule(sender: Any, settings: Any, **kwargs: Any) -> None:
    transaction.on_commit(lambda: sync_schedule_apply(tenant=settings.tenant))


def plan_schedule(sender: Any, settings: Any, changed: list[str], **kwargs: Any) -> list[str]:
    return sync_schedule_plan(seller_settings=settings, changed=changed)


def queue_after_import(sender: Any, store_id: int, result: Any, **kwargs: Any) -> None:
    """Any import — the one right after connecting a store included — queues the invoices of the
    orders it made eligible (idempotent: waiting invoices keep their place and their message)."""
    store = StoreConnection.objects.select_related("tenant").filter(id=store_id).first()
    if store is None:
        return
    queueing.invoices_queue_eligible(tenant=store.tenant, store_id=store_id)
    kick_dispatcher(account_of(store.tenant))


def look_at_einvoices(sender: Any, company_id: int, document_ids: list[int], **kwargs: Any) -> None:
    """A webhook said these e-invoices changed: read them now rather than at their next check."""
    if einvoicing.einvoices_look_now(company_id=company_id, document_ids=document_ids):
        transaction.on_commit(lambda: einvoices_track.delay())


def credit_after_import(sender: Any, store_id: int, result: Any, **kwargs: Any) -> None:
    """Every import: what the invoiced orders it read again became — refunded, cancelled, reduced
    by an item removal — opens their credit notes (invoicing/creditdetect.py; idempotent on each
    refund event's key, so a second import opens nothing more)."""
    changed = list(getattr(result, "changed_ids", None) or [])
    if not changed:
        return
    opened = credit_notes_detect(order_ids=changed)
    for company_id in {note.company_id for note in opened}:
        kick_credit_dispatcher(company_id)


def resume_when_ready(sender: Any, tenant: Tenant, **kwargs: Any) -> None:
    """The seller fixed the accounting set-up (reconnected, picked the company, saved the mapping):
    what the connection or the mapping paused goes back to the queue by itself, and the reconnect
    e-mail may be sent again if the problem ever comes back."""
    if queueing.invoices_resume(tenant=tenant):
        kick_dispatcher(account_of(tenant))
    for company_id in credit_notes_resume(tenant_id=tenant.id, setup_errors=queueing.SETUP_ERRORS):
        kick_credit_dispatcher(company_id)
    notification_resolved(tenant=tenant, kind="fatture_reconnect")
