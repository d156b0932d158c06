"""The dispatcher: invoice work waits in the database and is handed out one invoice per company at
a time, oldest date first, fairly across companies, within a bound on messages in flight, and
never for a company whose quota is spent; lost messages are told apart from waiting work."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from fatture.quota import quota_block
from invoicing import queueing
from invoicing.models import Invoice
from invoicing.tasks import dispatch_invoices, requeue_stuck_invoices
from tests.factories import TenantFactory
from tests.factories_invoicing import connected_seller, make_order

pytestmark = pytest.mark.django_db

S = Invoice.State
DAY = datetime(2026, 3, 1, 10, tzinfo=UTC)


def _backlog(tenant, company_id, n, *, start=DAY):
    """``n`` waiting invoices of one company, one day apart (their sort dates)."""
    return [
        Invoice.objects.create(
            tenant=tenant,
            order=make_order(tenant, username=f"buyer-{company_id}-{i}"),
            company_id=company_id,
            sort_at=start + timedelta(days=i),
        )
        for i in range(n)
    ]


def _dispatch(django_capture_on_commit_callbacks, **kwargs) -> list[int]:
    sent: list[int] = []
    with django_capture_on_commit_callbacks(execute=True):
        queueing.dispatch(send=sent.append, **kwargs)
    return sent


def test_one_invoice_per_company_in_flight_the_oldest_first(tenant, django_capture_on_commit_callbacks):
    invoices = _backlog(tenant, 501, 4, start=DAY)
    Invoice.objects.filter(id=invoices[0].id).update(sort_at=DAY + timedelta(days=9))  # now the newest
    assert _dispatch(django_capture_on_commit_callbacks) == [invoices[1].id]
    # Its message is in flight: nothing more for this company, however many passes run.
    assert _dispatch(django_capture_on_commit_callbacks) == []
    assert queueing.in_flight(now=timezone.now()) == 1


def test_a_whale_backlog_does_not_delay_the_small_tenants(django_capture_on_commit_callbacks, settings):
    settings.INVOICE_DISPATCH_MAX_IN_FLIGHT = 4
    whale = TenantFactory()
    _backlog(whale, 900, 60)
    small = {company: _backlog(TenantFactory(), company, 2) for company in range(1, 11)}
    served: set[int] = set()
    for _ in range(12):
        sent = _dispatch(django_capture_on_commit_callbacks)
        assert len(sent) <= 4  # the bound on messages in flight holds whatever the backlog
        rows = Invoice.objects.filter(id__in=sent)
        served |= {row.company_id for row in rows}
        assert list(rows.filter(company_id=900).values_list("id", flat=True)).__len__() <= 1
        rows.update(state=S.ISSUED, queued_at=None)  # the workers finish them
    assert set(small) <= served  # every small company got its first invoice while the whale waited its turn
    assert Invoice.objects.filter(company_id=900, state=S.ISSUED).count() <= 12  # one at a time


def test_messages_in_flight_never_exceed_the_bound(django_capture_on_commit_callbacks, settings):
    settings.INVOICE_DISPATCH_MAX_IN_FLIGHT = 3
    for company in range(20, 30):
        _backlog(TenantFactory(), company, 1)
    assert len(_dispatch(django_capture_on_commit_callbacks)) == 3
    assert _dispatch(django_capture_on_commit_callbacks) == []  # still three in flight


def test_a_company_out_of_quota_waits_in_the_database_and_others_go_on(
    tenant, other_tenant, django_capture_on_commit_callbacks
):
    blocked = _backlog(tenant, 701, 2)
    free = _backlog(other_tenant, 702, 1)
    quota_block(701, 300)
    assert _dispatch(django_capture_on_commit_callbacks) == [free[0].id]
    head = Invoice.objects.get(id=blocked[0].id)
    assert head.waiting_for_quota and head.queued_at is None and head.attempts == 0
    assert head.next_attempt_at >= timezone.now() + timedelta(seconds=290)
    # Until then, later passes skip it without asking the quota again.
    assert _dispatch(django_capture_on_commit_callbacks) == []


def test_a_lost_message_is_released_but_a_waiting_invoice_is_not(tenant, other_tenant, settings):
    lost, waiting = _backlog(tenant, 801, 1)[0], _backlog(other_tenant, 802, 1)[0]
    long_ago = timezone.now() - timedelta(seconds=settings.INVOICE_QUEUED_LEASE_SECONDS + 5)
    Invoice.objects.filter(id=lost.id).update(queued_at=long_ago)
    Invoice.objects.filter(id=waiting.id).update(next_attempt_at=timezone.now() + timedelta(hours=5))
    assert queueing.invoices_release_lost() == 1
    lost.refresh_from_db()
    waiting.refresh_from_db()
    assert lost.queued_at is None and waiting.next_attempt_at > timezone.now()


def test_a_sync_never_queues_the_same_invoice_twice(tenant, django_capture_on_commit_callbacks):
    connected_seller(tenant)
    make_order(tenant, username="twice")
    assert queueing.invoices_queue_eligible(tenant=tenant) == 1
    sent = _dispatch(django_capture_on_commit_callbacks)
    assert len(sent) == 1
    assert queueing.invoices_queue_eligible(tenant=tenant) == 1  # still waiting for its worker
    assert _dispatch(django_capture_on_commit_callbacks) == []  # its message is already in flight
    assert Invoice.objects.get(id=sent[0]).queued_at is not None


def test_a_large_backlog_is_queued_in_short_transactions_and_whole(tenant, monkeypatch):
    """Chunks of QUEUE_CHUNK orders, one transaction each: every eligible order is queued with its
    place, and queueing again adds nothing."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    connected_seller(tenant)
    # Created newest first, so the table's order is the opposite of the dates'.
    for day in range(5, 0, -1):
        make_order(tenant, username=f"chunk-{day}", paid_at=datetime(2026, 3, day, 9, tzinfo=UTC))
    monkeypatch.setattr(queueing, "QUEUE_CHUNK", 2)
    with CaptureQueriesContext(connection) as queries:
        assert queueing.invoices_queue_eligible(tenant=tenant) == 5
    assert sum(q["sql"].startswith("SAVEPOINT") for q in queries) == 3  # 2 + 2 + 1 orders
    # Oldest first: the dispatcher may issue from the first chunk while the next is queued, and a
    # later chunk must not bring an older date (numbers follow dates).
    inserted = Invoice.objects.filter(tenant=tenant).order_by("id").values_list("order__paid_at", flat=True)
    assert [paid.day for paid in inserted] == [1, 2, 3, 4, 5]
    rows = Invoice.objects.filter(tenant=tenant)
    assert rows.count() == 5 and not rows.exclude(state=S.PENDING).exists()
    assert not rows.filter(sort_at__isnull=True).exists()
    assert queueing.invoices_queue_eligible(tenant=tenant) == 5 and rows.count() == 5


def test_rows_built_by_the_database_carry_every_default_of_the_model(tenant):
    """New rows are inserted by one INSERT … SELECT (no Python object per row): each column the
    queueing does not set must hold exactly what the model would have given it."""
    from django.forms.models import model_to_dict

    from invoicing.models import SyncRun

    connected_seller(tenant)
    run = SyncRun.objects.create(tenant=tenant, trigger=SyncRun.Trigger.MANUAL)
    paid = datetime(2026, 3, 7, 9, tzinfo=UTC)
    orders = [make_order(tenant, username=f"default-{i}", paid_at=paid) for i in range(2)]
    assert queueing.invoices_queue_eligible(tenant=tenant, sync_run=run) == 2
    inserted = Invoice.objects.get(order=orders[0])
    built = Invoice(tenant=tenant, order=orders[0], company_id=inserted.company_id, sort_at=paid, sync_run=run)
    assert inserted.company_id is not None and inserted.sort_at == paid and inserted.sync_run_id == run.id
    assert model_to_dict(inserted, exclude=["id"]) == model_to_dict(built, exclude=["id"])
    assert inserted.created_at and inserted.updated_at
    # Each row its own public id (a link the seller may share), a valid UUID read back as one.
    other = Invoice.objects.get(order=orders[1])
    assert inserted.public_id != other.public_id and inserted.public_id != built.public_id
    assert inserted.public_id.version == other.public_id.version == 4


def test_the_insert_reads_only_the_tenants_own_orders(tenant, other_tenant):
    """Defence in depth: an order id of another tenant given to the insert creates nothing."""
    theirs = make_order(other_tenant, username="not-yours")
    queueing._queue_new(tenant=tenant, order_ids=[theirs.id], company_id=1, policy="order_date", run_id=None)
    assert not Invoice.objects.filter(order=theirs).exists()


def test_queueing_again_reopens_skipped_rows_and_keeps_waiting_ones_in_place(tenant):
    """A row that exists already is updated in one statement: a skipped one is reopened, a waiting
    one keeps its message in flight and its wait, an uncertain one keeps the company its look-up
    must ask; every one gets its current date and the new run."""
    from invoicing.models import SyncRun

    connected_seller(tenant)
    later = timezone.now() + timedelta(hours=3)
    skipped, in_flight, uncertain = (make_order(tenant, username=f"again-{i}") for i in range(3))
    Invoice.objects.create(
        tenant=tenant, order=skipped, state=S.SKIPPED, next_attempt_at=later, queued_at=timezone.now()
    )
    Invoice.objects.create(tenant=tenant, order=in_flight, queued_at=timezone.now(), next_attempt_at=later)
    Invoice.objects.create(tenant=tenant, order=uncertain, company_id=4242, uncertain=True)
    issued = make_order(tenant, username="again-issued")
    Invoice.objects.create(tenant=tenant, order=issued, state=S.ISSUED, company_id=4242)
    run = SyncRun.objects.create(tenant=tenant, trigger=SyncRun.Trigger.MANUAL)
    assert queueing.invoices_queue_eligible(tenant=tenant, sync_run=run) == 3

    rows = {row.order_id: row for row in Invoice.objects.filter(tenant=tenant)}
    company = rows[skipped.id].company_id
    assert company is not None and company != 4242
    assert rows[skipped.id].state == S.PENDING
    assert rows[skipped.id].next_attempt_at is None and rows[skipped.id].queued_at is None
    assert rows[in_flight.id].queued_at is not None and rows[in_flight.id].next_attempt_at == later
    assert rows[in_flight.id].company_id == company
    assert rows[uncertain.id].company_id == 4242
    for order in (skipped, in_flight, uncertain):
        assert rows[order.id].sync_run_id == run.id and rows[order.id].sort_at == order.paid_at
    assert rows[issued.id].state == S.ISSUED and rows[issued.id].sync_run_id is None


def test_a_backlog_is_invoiced_in_date_order_so_numbers_follow_dates(tenant, fake, django_capture_on_commit_callbacks):
    connected_seller(tenant)
    paid_days = [5, 1, 4, 2, 3]
    for day in paid_days:
        make_order(tenant, username=f"dated-{day}", paid_at=datetime(2026, 3, day, 9, tzinfo=UTC))
    queueing.invoices_queue_eligible(tenant=tenant)
    with django_capture_on_commit_callbacks(execute=True):
        dispatch_invoices()  # eager: each invoice runs, and its chain sends the company's next one
    issued = Invoice.objects.filter(tenant=tenant, state=S.ISSUED).order_by("issued_at")
    assert [i.invoice_date.day for i in issued] == sorted(paid_days)
    numbers = [int(i.number) for i in issued]
    assert numbers == sorted(numbers) and len(fake.documents) == 5


def test_the_safety_net_task_releases_lost_work_and_dispatches_it(
    tenant, fake, settings, django_capture_on_commit_callbacks
):
    connected_seller(tenant)
    make_order(tenant, username="lost-message")
    queueing.invoices_queue_eligible(tenant=tenant)
    Invoice.objects.update(queued_at=timezone.now() - timedelta(seconds=settings.INVOICE_QUEUED_LEASE_SECONDS + 1))
    with django_capture_on_commit_callbacks(execute=True):
        assert requeue_stuck_invoices() == 1
    assert Invoice.objects.get().state == S.ISSUED and len(fake.documents) == 1


# --- dispatcher passes expire: a busy pool never lets them pile up in the broker -------------------


@pytest.mark.parametrize(
    "entry", ["dispatch-invoices", "dispatch-credit-notes", "dispatch-syncs", "requeue-stuck-invoices"]
)
def test_beats_passes_expire_after_their_interval(settings, entry):
    """bench/whale_bench.py: with every worker busy, beat's passes (and the kicks below) piled up in
    the broker without bound; a pass older than its interval is redundant with the next one."""
    from django_celery_beat.schedulers import ModelEntry

    row = ModelEntry.from_entry(entry, **settings.CELERY_BEAT_SCHEDULE[entry]).model  # as beat stores it
    assert row.expire_seconds == row.interval.every == settings.CELERY_BEAT_SCHEDULE[entry]["schedule"]
    assert ModelEntry(row).options["expires"] == row.expire_seconds  # and sends it


def test_a_kicked_pass_expires_after_beats_interval(settings, monkeypatch, django_capture_on_commit_callbacks):
    from invoicing import tasks

    settings.INVOICE_DISPATCH_EVERY_SECONDS = 10.0
    sent = []
    monkeypatch.setattr(tasks.dispatch_invoices, "apply_async", lambda args, **kw: sent.append((args, kw)))
    monkeypatch.setattr(tasks.dispatch_credit_notes, "apply_async", lambda args, **kw: sent.append((args, kw)))
    with django_capture_on_commit_callbacks(execute=True):
        tasks.kick_dispatcher(7)
        tasks.kick_dispatcher(7, countdown=5.0)
        tasks.kick_credit_dispatcher(8, countdown=500.0)
    assert sent == [
        ((7,), {"expires": 10.0}),
        ((7,), {"countdown": 5.0, "expires": 15.0}),
        ((8,), {"countdown": tasks.SOON, "expires": tasks.SOON + 10.0}),
    ]


def test_a_sync_without_stores_has_time_to_queue_a_large_backlog():
    """sync_tenant queues a storeless tenant's orders itself, all in one transaction: 20,000 of them
    outran a 30 s limit on a busy worker (bench/whale_bench.py) and were rolled back every time."""
    from invoicing.tasks import sync_tenant

    assert sync_tenant.soft_time_limit >= 300 and sync_tenant.time_limit > sync_tenant.soft_time_limit
