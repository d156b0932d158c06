"""Sync runs: one per "Sync now" or scheduled sync of a tenant, with the progress the dashboard
shows (stores imported, invoices queued, created, failed) and when it is finished.

Every counter is derived from rows (one ``SyncRunStore`` per store, the invoices the run queued)
and written whole, never incremented: a redelivered task writes the same numbers again, so
progress can never run ahead of the work.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import Tenant
from marketplaces.models import StoreConnection

from .models import Invoice, SyncRun, SyncRunStore

S = Invoice.State
STALE_AFTER = timedelta(hours=2)


def sync_run_start(*, tenant: Tenant, trigger: str) -> SyncRun | None:
    """A new run, unless one is already running (the button and the schedule never overlap).

    A run older than ``STALE_AFTER`` no longer blocks: one whose import never ended (its worker was
    lost) stops with that said; one whose import ended but whose invoices are still in line (a
    backlog issued over days, as the quota allows) ends with what it did, and the new run takes
    over its invoices. Without that, a large backlog kept its run "running" and every sync was
    refused until the run was failed for taking too long.
    """
    now = timezone.now()
    old = SyncRun.objects.filter(tenant=tenant, state=SyncRun.State.RUNNING, started_at__lt=now - STALE_AFTER)
    old.filter(stores_done__lt=F("stores_total")).update(
        state=SyncRun.State.FAILED, finished_at=now, message=_("Stopped: took longer than two hours.")
    )
    for run_id in old.values_list("id", flat=True):
        _end_with_invoices_in_line(run_id, now=now)
    if SyncRun.objects.filter(tenant=tenant, state=SyncRun.State.RUNNING).exists():
        return None
    stores = tenant.stores.exclude(status="disconnected").count()
    return SyncRun.objects.create(tenant=tenant, trigger=trigger, stores_total=stores)


def _end_with_invoices_in_line(run_id: int, *, now) -> None:
    """End a run whose import is done while some of its invoices still wait their turn, saying so."""
    run = _refresh(run_id)
    if run is None:
        return
    in_line = run.invoices_open
    note = (
        ""
        if not in_line
        else ngettext(
            "%(count)s invoice is still waiting its turn: it is issued as the quota allows, and the next sync "
            "keeps track of it.",
            "%(count)s invoices are still waiting their turn: they are issued in date order as the quota allows, "
            "and the next sync keeps track of them.",
            in_line,
        )
        % {"count": in_line}
    )
    SyncRun.objects.filter(id=run_id, state=SyncRun.State.RUNNING).update(
        state=_outcome(run), finished_at=now, message="\n".join(part for part in (run.message, note) if part)
    )


def _outcome(run: SyncRun) -> str:
    """How a run ends: with errors if an invoice needs attention or a store reported a problem."""
    return SyncRun.State.FAILED if run.invoices_failed or run.message else SyncRun.State.FINISHED


def sync_run_running(*, tenant: Tenant) -> SyncRun | None:
    return SyncRun.objects.filter(tenant=tenant, state=SyncRun.State.RUNNING).order_by("-started_at").first()


def sync_run_count(invoice: Invoice) -> None:
    """An invoice of a run reached an outcome: the run's numbers are read again."""
    if invoice.sync_run_id:
        sync_run_maybe_finish(run_id=invoice.sync_run_id)


def _refresh(run_id: int) -> SyncRun | None:
    """Write a running run's counters from the rows they describe (a finished run keeps its own)."""
    if not SyncRun.objects.filter(id=run_id, state=SyncRun.State.RUNNING).exists():
        return None
    stores = SyncRunStore.objects.filter(run_id=run_id).aggregate(
        done=Count("id"), orders=Sum("orders_imported"), calls=Sum("api_calls")
    )
    invoices = Invoice.objects.filter(sync_run_id=run_id).aggregate(
        queued=Count("id"),
        created=Count("id", filter=Q(state=S.ISSUED)),
        failed=Count("id", filter=Q(state=S.NEEDS_ATTENTION)),
        # Waiting by itself (quota, an automatic retry later): the run does not wait for these.
        waiting=Count("id", filter=Q(state__in=[S.PENDING, S.FAILED], next_attempt_at__isnull=False)),
        open=Count("id", filter=Q(state__in=[S.PENDING, S.CLAIMED, S.SUBMITTING, S.FAILED])),
    )
    messages = list(SyncRunStore.objects.filter(run_id=run_id).exclude(message="").values_list("message", flat=True))
    SyncRun.objects.filter(id=run_id, state=SyncRun.State.RUNNING).update(
        stores_done=stores["done"],
        orders_imported=stores["orders"] or 0,
        api_calls=stores["calls"] or 0,
        invoices_queued=invoices["queued"],
        invoices_created=invoices["created"],
        invoices_failed=invoices["failed"],
        invoices_waiting=invoices["waiting"],
        invoices_open=invoices["open"],
        message="\n".join(messages),
    )
    return SyncRun.objects.filter(id=run_id).first()


def sync_run_maybe_finish(*, run_id: int) -> None:
    """Finished once every store is imported and every invoice has an outcome or waits by itself."""
    run = _refresh(run_id)
    if run is None or run.stores_done < run.stores_total:
        return
    if run.invoices_open > run.invoices_waiting:
        return
    SyncRun.objects.filter(id=run_id, state=SyncRun.State.RUNNING).update(
        state=_outcome(run), finished_at=timezone.now()
    )


def sync_run_store_done(
    *, run: SyncRun, store: StoreConnection, orders_imported: int, api_calls: int, message: str = ""
) -> None:
    """Record one store's import for the run (once: a redelivered task overwrites the same row)."""
    SyncRunStore.objects.update_or_create(
        run=run,
        store=store,
        defaults={"orders_imported": orders_imported, "api_calls": api_calls, "message": message},
    )
    sync_run_maybe_finish(run_id=run.id)
