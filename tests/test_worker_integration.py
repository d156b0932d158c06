"""End-to-end through a real Celery worker consuming from Redis, on PostgreSQL (docs/architecture.md §8).

The worker runs in threads of this process so that `responses` fakes Fatture for it too; the
broker, the queues, the routing and the database are the real ones.
"""

import contextlib
import os
import time

import pytest
import responses
from celery.contrib.testing.worker import start_worker
from django.conf import settings

from brickinvoice.celery import app as celery_app
from invoicing import issuing, syncruns
from invoicing.models import Invoice, SyncRun
from invoicing.tasks import sync_tenant
from tests.conftest import unavailable
from tests.factories import StoreConnectionFactory
from tests.factories_invoicing import connected_seller, make_order

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
QUEUES = ["default", "marketplaces", "fatture"]


@pytest.fixture
def real_worker():
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        unavailable("needs REDIS_URL (make test sets it)")
    if os.environ.get("CI_SKIP_WORKER"):  # escape hatch for machines without Redis
        unavailable("CI_SKIP_WORKER set")
    celery_app.conf.task_always_eager = False
    with celery_app.connection_for_write() as conn:
        for queue in QUEUES:
            # A queue that does not exist yet has nothing to purge.
            with contextlib.suppress(Exception):
                conn.default_channel.queue_purge(queue)
    with start_worker(
        celery_app, pool="threads", concurrency=2, perform_ping_check=False, queues=QUEUES, shutdown_timeout=15
    ):
        yield
    celery_app.conf.task_always_eager = True


def _wait_for(predicate, timeout=40.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_sync_now_invoices_every_eligible_order_once_through_the_worker(tenant, fake, real_worker):
    connected_seller(tenant)
    store = StoreConnectionFactory(
        tenant=tenant,
        marketplace="bricklink",
        name="BL",
        credentials='{"consumer_key": "ck", "consumer_secret": "cs", "token_value": "tv", "token_secret": "ts"}',
    )
    # The store has nothing new: the orders below were imported by an earlier sync.
    fake.rsps.add(
        responses.GET,
        f"{settings.BRICKLINK_API_URL}/orders",
        json={"meta": {"description": "OK", "message": "OK", "code": 200}, "data": []},
    )
    orders = [make_order(tenant, store=store, username=f"buyer{i % 2}") for i in range(4)]
    make_order(tenant, store=store, status="awaiting_payment")  # not eligible
    run = syncruns.sync_run_start(tenant=tenant, trigger=SyncRun.Trigger.MANUAL)
    sync_tenant.delay(tenant.id, SyncRun.Trigger.MANUAL, run.id)

    assert _wait_for(lambda: SyncRun.objects.get(id=run.id).state != SyncRun.State.RUNNING)
    run.refresh_from_db()
    assert run.state == SyncRun.State.FINISHED, run.message
    assert run.invoices_created == 4 and run.stores_done == 1
    assert Invoice.objects.filter(state=Invoice.State.ISSUED).count() == 4
    assert sorted(d["subject"] for d in fake.documents) == sorted(f"BrickInvoice order {o.public_id}" for o in orders)
    assert len(fake.clients) == 2


def test_duplicated_messages_on_the_broker_create_one_invoice(tenant, fake, real_worker):
    from invoicing.tasks import invoice_order

    connected_seller(tenant)
    invoice = Invoice.objects.create(tenant=tenant, order=make_order(tenant))
    for _ in range(5):
        invoice_order.delay(invoice.id)
    assert _wait_for(lambda: Invoice.objects.get(id=invoice.id).state == Invoice.State.ISSUED)
    time.sleep(1.0)  # let the duplicates run to completion
    assert len(fake.documents) == 1


def test_retry_after_timeout_runs_on_the_worker_without_duplicate(tenant, fake, real_worker, monkeypatch):
    import requests

    monkeypatch.setattr(issuing, "RETRY_BACKOFF", [0.5] * 8)
    connected_seller(tenant)
    fake.fail_next_create.append(("after-create", requests.exceptions.ReadTimeout("read timed out")))
    invoice = Invoice.objects.create(tenant=tenant, order=make_order(tenant))
    from invoicing.tasks import invoice_order

    invoice_order.delay(invoice.id)
    assert _wait_for(lambda: Invoice.objects.get(id=invoice.id).state == Invoice.State.ISSUED)
    assert len(fake.documents) == 1
