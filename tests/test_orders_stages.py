"""The orders list's stage filter (awaiting payment, to invoice, invoiced, needs attention,
credit-noted) and its order-date range: every imported order is listed, each stage follows the
order's status, its invoice's state and its credit-note rows, and the dates are Rome's days."""

from datetime import UTC, date, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.choices import OrderStatus
from accounts.models import SellerSettings
from invoicing.creditmodels import CreditNote
from invoicing.models import Invoice
from tests.factories import BrickLinkStoreFactory, OrderFactory

pytestmark = pytest.mark.django_db
S, K = Invoice.State, CreditNote.State


def _invoice(order, state, **fields):
    return Invoice.objects.create(tenant=order.tenant, order=order, state=state, **fields)


def _credit_note(invoice, state, key):
    return CreditNote.objects.create(
        tenant=invoice.tenant, invoice=invoice, event_key=key, source="manual", basis="full", state=state
    )


@pytest.fixture
def orders(tenant):
    """One order of each kind, by name (the name is its marketplace order id)."""
    store = BrickLinkStoreFactory(tenant=tenant)

    def order(name, **fields):
        return OrderFactory(store=store, marketplace_order_id=name, **fields)

    order("unpaid", status=OrderStatus.AWAITING_PAYMENT, paid_at=None)
    order("pending", status=OrderStatus.PENDING, paid_at=None)
    order("reduced", status=OrderStatus.PENDING, ever_paid=True)  # paid, then an item was removed
    order("paid")
    _invoice(order("queued"), S.PENDING)
    _invoice(order("retrying"), S.FAILED)
    _invoice(order("issued", status=OrderStatus.SHIPPED), S.ISSUED, number="1")
    _credit_note(_invoice(order("refunded"), S.ISSUED, number="2"), K.ISSUED, "cancelled")
    credited_twice = _invoice(order("credited-twice"), S.ISSUED, number="3")
    _credit_note(credited_twice, K.ISSUED, "manual:1")
    _credit_note(credited_twice, K.PENDING, "manual:2")
    _credit_note(_invoice(order("refund-held"), S.ISSUED, number="4"), K.HELD, "brickowl-refund:1")
    _credit_note(_invoice(order("refund-skipped"), S.ISSUED, number="5"), K.SKIPPED, "manual:3")
    _invoice(order("stuck"), S.NEEDS_ATTENTION)
    order("quarantined", quarantined=True, data_errors=["The amount could not be read."])
    order("problem", data_errors=["Unknown shipping country code 'XX'."])
    order("old", ordered_at=datetime(2020, 1, 5, tzinfo=UTC))
    order("cancelled", status=OrderStatus.CANCELLED)


def _listed(client, **params) -> set[str]:
    response = client.get(reverse("marketplaces:orders"), params)
    assert response.status_code == 200
    return {o.marketplace_order_id for o in response.context["page"].object_list}


def test_every_imported_order_is_listed_whatever_its_status(owner_client, orders):
    assert len(_listed(owner_client)) == 16


@pytest.mark.parametrize(
    "stage, expected",
    [
        ("awaiting_payment", {"unpaid", "pending"}),
        ("to_invoice", {"paid", "queued", "retrying", "problem", "old"}),
        ("invoiced", {"issued", "refunded", "credited-twice", "refund-held", "refund-skipped"}),
        ("needs_attention", {"refund-held", "stuck", "quarantined", "problem"}),
        ("credit_noted", {"refunded", "credited-twice", "refund-held"}),
    ],
)
def test_each_stage_lists_its_orders_once(owner_client, orders, stage, expected):
    response = owner_client.get(reverse("marketplaces:orders"), {"stage": stage})
    listed = [o.marketplace_order_id for o in response.context["page"].object_list]
    assert sorted(listed) == sorted(expected)  # an invoice with two credit notes is one row
    assert response.context["page"].paginator.count == len(expected)


def test_to_invoice_follows_the_sellers_statuses_and_start_date(owner_client, tenant, orders):
    SellerSettings.objects.filter(tenant=tenant).update(
        invoiceable_statuses=[OrderStatus.SHIPPED], cutoff_date=date(2021, 1, 1)
    )
    assert _listed(owner_client, stage="to_invoice") == set()
    SellerSettings.objects.filter(tenant=tenant).update(invoiceable_statuses=[OrderStatus.PAID])
    assert _listed(owner_client, stage="to_invoice") == {"paid", "queued", "retrying", "problem"}


def test_stages_combine_with_the_other_filters(owner_client, orders):
    assert _listed(owner_client, stage="needs_attention", attention="on") == {"quarantined", "problem"}
    assert _listed(owner_client, stage="invoiced", status="shipped") == {"issued"}
    assert _listed(owner_client, stage="credit_noted", q="refund-held") == {"refund-held"}


def test_an_unknown_stage_is_refused_and_everything_is_listed(owner_client, orders):
    response = owner_client.get(reverse("marketplaces:orders"), {"stage": "bogus"})
    assert response.context["form"].errors["stage"]
    assert response.context["page"].paginator.count == 16


def test_the_date_range_counts_rome_calendar_days(owner_client, tenant):
    store = BrickLinkStoreFactory(tenant=tenant)
    # 23:30 UTC on 1 March is 00:30 on 2 March in Rome.
    OrderFactory(store=store, marketplace_order_id="late-night", ordered_at=datetime(2026, 3, 1, 23, 30, tzinfo=UTC))
    OrderFactory(store=store, marketplace_order_id="first", ordered_at=datetime(2026, 3, 1, 12, tzinfo=UTC))
    OrderFactory(store=store, marketplace_order_id="third", ordered_at=datetime(2026, 3, 3, 22, 59, tzinfo=UTC))
    OrderFactory(store=store, marketplace_order_id="fourth", ordered_at=datetime(2026, 3, 3, 23, 0, tzinfo=UTC))

    assert _listed(owner_client, date_from="2026-03-02") == {"late-night", "third", "fourth"}
    assert _listed(owner_client, date_to="2026-03-01") == {"first"}
    assert _listed(owner_client, date_from="2026-03-02", date_to="2026-03-03") == {"late-night", "third"}


def test_an_end_before_the_start_is_explained(owner_client, orders):
    response = owner_client.get(reverse("marketplaces:orders"), {"date_from": "2026-03-05", "date_to": "2026-03-01"})
    assert "The end date is before the start date." in response.content.decode()
    assert response.context["page"].paginator.count == 16


def test_the_filter_form_offers_the_stages_and_date_inputs(owner_client, orders):
    page = owner_client.get(reverse("marketplaces:orders"), {"date_from": "2026-03-02"}).content.decode()
    assert 'type="date" name="date_from" value="2026-03-02"' in page
    assert 'type="date" name="date_to"' in page
    for label in ("Awaiting payment", "To invoice", "Invoiced", "Needs attention", "Credit-noted"):
        assert label in page


def test_invoice_and_credit_note_numbers_link_to_their_documents(owner_client, tenant):
    order = OrderFactory(store=BrickLinkStoreFactory(tenant=tenant))
    invoice = _invoice(
        order,
        S.ISSUED,
        number="12",
        numeration="/A",
        view_url="https://fatture.example/doc/12",
        credit_notes_shown=[{"number": "3/NC", "url": "https://fatture.example/doc/3", "state": "issued"}],
    )
    _credit_note(invoice, K.ISSUED, "cancelled")
    page = owner_client.get(reverse("marketplaces:orders"), {"stage": "credit_noted"}).content.decode()
    assert 'href="https://fatture.example/doc/12"' in page and "12/A" in page
    assert 'href="https://fatture.example/doc/3"' in page and "3/NC" in page


def test_a_stage_filter_costs_the_same_queries_for_more_orders(owner_client, tenant, orders):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            owner_client.get(reverse("marketplaces:orders"), {"stage": "credit_noted", "date_from": "2020-01-01"})
        return len(captured)

    before = queries()
    for n in range(5):
        invoice = _invoice(OrderFactory(store=BrickLinkStoreFactory(tenant=tenant)), S.ISSUED, number=f"9{n}")
        _credit_note(invoice, K.ISSUED, "cancelled")
    assert queries() == before


def test_another_tenants_orders_never_match_a_stage(outsider_client, orders):
    for stage in ("awaiting_payment", "to_invoice", "invoiced", "needs_attention", "credit_noted"):
        assert _listed(outsider_client, stage=stage) == set()
