"""Sync runs: one per "Sync now" or scheduled sync of a tenant, with the live counters the
dashboard shows (stores imported, invoices queued, created, failed) and when it is finished."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from accounts.models import Tenant

from .models import Invoice, SyncRun


def sync_run_start(*, tenant: Tenant, trigger: str) -> SyncRun | None:
    """A new run, unless one is already running (the button and the schedule never overlap)."""
    stale = timezone.now() - timedelta(hours=2)
    SyncRun.objects.filter(tenant=tenant, state=SyncRun.State.RUNNING, started_at__lt=stale).update(
        state=SyncRun.State.FAILED, finished_at=timezone.now(), message="Stopped: took longer than two hours."
    )
    if SyncRun.objects.filter(tenant=tenant, state=SyncRun.State.RUNNING).exists():
        return None
    stores = tenant.stores.filter(status="active").count()
    return SyncRun.objects.create(tenant=tenant, trigger=trigger, stores_total=stores)


def sync_run_count(invoice: Invoice, *, created: bool, skipped: bool = False) -> None:
    """Count one invoice's outcome on the run that queued it."""
    run_id = invoice.sync_run_id  # set when the invoice was queued, before this attempt loaded it
    if not run_id:
        return
    field = "invoices_created" if created else ("invoices_queued" if skipped else "invoices_failed")
    delta = -1 if skipped else 1
    SyncRun.objects.filter(id=run_id).update(**{field: F(field) + delta})
    sync_run_maybe_finish(run_id=run_id)


def sync_run_maybe_finish(*, run_id: int) -> None:
    run = SyncRun.objects.filter(id=run_id, state=SyncRun.State.RUNNING).first()
    if not run or run.stores_done < run.stores_total:
        return
    if run.invoices_created + run.invoices_failed < run.invoices_queued:
        return
    state = SyncRun.State.FAILED if run.invoices_failed or run.message else SyncRun.State.FINISHED
    SyncRun.objects.filter(id=run_id, state=SyncRun.State.RUNNING).update(state=state, finished_at=timezone.now())


def sync_run_store_done(*, run_id: int, orders_imported: int, api_calls: int, message: str = "") -> None:
    changes: dict[str, object] = dict(
        stores_done=F("stores_done") + 1,
        orders_imported=F("orders_imported") + orders_imported,
        api_calls=F("api_calls") + api_calls,
    )
    if message:
        changes["message"] = message
    SyncRun.objects.filter(id=run_id).update(**changes)
    sync_run_maybe_finish(run_id=run_id)
