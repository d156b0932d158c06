"""The credit-note dispatcher (invoicing/creditqueue.py): one credit note per company in flight,
the oldest first, sharing the bound on messages in flight and the company's quota with invoices."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone

from fatture.quota import quota_block
from invoicing import creditqueue
from invoicing.creditmodels import CreditNote
from invoicing.creditplan import PartAmounts
from invoicing.creditrequests import credit_note_request
from invoicing.models import Invoice
from invoicing.tasks import dispatch_credit_notes
from tests.factories import TenantFactory
from tests.factories_credit import invoiced, issued_by_hand
from tests.factories_invoicing import connected_seller, make_order

pytestmark = pytest.mark.django_db

K = CreditNote.State


def _notes(tenant, company_id, n):
    """``n`` waiting credit notes of one company, on one invoice, oldest first."""
    order = make_order(tenant, username=f"buyer-{company_id}")
    invoice = issued_by_hand(order, lines=[("std_domestic", "100.00", "100.00", 0, "")])
    Invoice.objects.filter(id=invoice.id).update(company_id=company_id)
    invoice.refresh_from_db()
    return [
        credit_note_request(invoice=invoice, amounts=PartAmounts(goods=D("1.00")), reason="", user=None)
        for _ in range(n)
    ]


def _dispatch(django_capture_on_commit_callbacks, **kwargs) -> list[int]:
    sent: list[int] = []
    with django_capture_on_commit_callbacks(execute=True):
        creditqueue.dispatch(send=sent.append, **kwargs)
    return sent


def test_one_credit_note_per_company_in_flight_the_oldest_first(tenant, django_capture_on_commit_callbacks):
    notes = _notes(tenant, 501, 3)
    other = _notes(TenantFactory(), 502, 1)
    assert sorted(_dispatch(django_capture_on_commit_callbacks)) == sorted([notes[0].id, other[0].id])
    assert _dispatch(django_capture_on_commit_callbacks) == []  # their messages are in flight
    assert creditqueue.in_flight(now=timezone.now()) == 2


def test_held_and_settled_credit_notes_do_not_block_the_next_one(tenant, django_capture_on_commit_callbacks):
    first, second = _notes(tenant, 601, 2)
    CreditNote.objects.filter(id=first.id).update(state=K.HELD)
    assert _dispatch(django_capture_on_commit_callbacks) == [second.id]


def test_the_bound_on_messages_in_flight_counts_invoices_too(tenant, settings, django_capture_on_commit_callbacks):
    settings.INVOICE_DISPATCH_MAX_IN_FLIGHT = 2
    for n in range(2):
        Invoice.objects.create(
            tenant=tenant, order=make_order(tenant, username=f"i{n}"), company_id=700 + n, queued_at=timezone.now()
        )
    _notes(tenant, 801, 1)
    assert _dispatch(django_capture_on_commit_callbacks) == []


def test_a_company_out_of_quota_waits_in_the_database(tenant, django_capture_on_commit_callbacks):
    [note] = _notes(tenant, 901, 1)
    quota_block(901, 300)
    assert _dispatch(django_capture_on_commit_callbacks) == []
    note.refresh_from_db()
    assert note.error_code == "fatture_quota" and note.queued_at is None and note.retrying
    assert note.next_attempt_at >= timezone.now() + timedelta(seconds=290)


def test_a_lost_message_is_due_again_after_the_lease(tenant, settings, django_capture_on_commit_callbacks):
    [note] = _notes(tenant, 950, 1)
    long_ago = timezone.now() - timedelta(seconds=settings.INVOICE_QUEUED_LEASE_SECONDS + 5)
    CreditNote.objects.filter(id=note.id).update(queued_at=long_ago)
    assert _dispatch(django_capture_on_commit_callbacks) == [note.id]


def test_the_task_chain_issues_a_companys_credit_notes_in_order(tenant, fake, django_capture_on_commit_callbacks):
    connected_seller(tenant)
    invoice = invoiced(make_order(tenant))
    for _ in range(3):
        credit_note_request(invoice=invoice, amounts=PartAmounts(goods=D("1.00")), reason="", user=None)
    with django_capture_on_commit_callbacks(execute=True):
        dispatch_credit_notes()  # eager: each one runs, and its chain sends the company's next one
    issued = CreditNote.objects.filter(state=K.ISSUED).order_by("created_at", "id")
    assert [note.number for note in issued] == ["1", "2", "3"]
