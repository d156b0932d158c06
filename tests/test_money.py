"""The Money selector (invoicing/money.py): a month's lines read from the documents as sent, split
into taxable and VAT as the package computes them, so the month's export sums exactly to what the
(fake) Fatture in Cloud received; totals per treatment with credit notes apart; the chart."""

from datetime import date
from decimal import Decimal as D

import pytest
from freezegun import freeze_time

from accounts.services import settings_for
from invoicing import money
from invoicing.creditdetect import credit_notes_detect
from invoicing.creditmodels import CreditNote, CreditNoteLine
from invoicing.creditplan import PartAmounts
from invoicing.creditrequests import credit_note_request
from invoicing.models import Invoice, InvoiceLine
from invoicing.moneyhistory import month_history
from marketplaces.models import Order
from sandbox.fatture_values import compute_totals
from tests.factories import TenantFactory
from tests.factories_credit import invoiced, issued_by_hand, run_credit_notes
from tests.factories_invoicing import SLOT_PRODUCTS, connected_seller, make_order

MARCH = date(2026, 3, 1)
# The fake company's VAT types: id -> rate (tests/factories_invoicing.py SLOT_PRODUCTS).
VAT_VALUES = {vat_id: D(rate) for _pid, _name, vat_id, rate, _natura in SLOT_PRODUCTS.values()}


# --- the package's split ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "grosses",
    [
        [("22", "10.00")],
        [("22", "0.01"), ("22", "0.01"), ("22", "0.01")],
        [("22", "12.33"), ("22", "4.99"), ("0", "7.77"), ("22", "0.05")],
        [("10", "33.33"), ("22", "33.33"), ("4", "33.34"), ("22", "1.01"), ("10", "2.02")],
    ],
)
def test_lines_split_into_exactly_the_packages_taxable_and_vat(grosses):
    lines = [(D(rate), D(gross)) for rate, gross in grosses]
    items = [{"qty": 1, "gross_price": float(gross), "vat": {"id": int(rate)}} for rate, gross in lines]
    package = compute_totals(items, use_gross_prices=True, vat_values={int(r): r for r, _g in lines})

    split = money.document_split(lines)

    assert all(taxable + vat == gross for (taxable, vat), (_rate, gross) in zip(split, lines, strict=True))
    assert sum(t for t, _v in split) == package["amount_net"]
    assert sum(v for _t, v in split) == package["amount_vat"]
    for rate, figures in package["vat_list"].items():
        mine = [s for s, (r, _g) in zip(split, lines, strict=True) if r == D(rate)]
        assert sum(t for t, _v in mine) == D(str(figures["amount_net"]))


def test_a_zero_rate_line_is_all_taxable():
    assert money.document_split([(D(0), D("9.99"))]) == [(D("9.99"), D(0))]


# --- the month's export against what Fatture received --------------------------------------------


def _received(fake) -> dict[str, D]:
    """What the fake Fatture received: each document's totals as the package computes them,
    credit notes negative."""
    sums = {"taxable": D(0), "vat": D(0), "total": D(0)}
    for doc in fake.documents:
        totals = compute_totals(doc["items_list"], use_gross_prices=True, vat_values=VAT_VALUES)
        sign = -1 if doc["type"] == "credit_note" else 1
        sums["taxable"] += sign * totals["amount_net"]
        sums["vat"] += sign * totals["amount_vat"]
        sums["total"] += sign * totals["amount_gross"]
    return sums


@pytest.mark.django_db
@freeze_time("2026-03-20 12:00:00")
def test_the_months_export_sums_exactly_to_what_fatture_received(tenant, fake):
    connected_seller(tenant)
    invoices = [
        invoiced(make_order(tenant, items=(("new", 7, "12.3300"), ("new", 3, "0.0700")), shipping=D("4.9900"))),
        invoiced(make_order(tenant, username="usbuyer", ship_country="US", ship_state="NY", ship_postal_code="10001")),
        invoiced(make_order(tenant, username="debuyer", ship_country="DE", ship_state="", ship_postal_code="10115")),
        invoiced(make_order(tenant, username="odd", items=(("new", 1, "0.0100"),), shipping=D("3.3300"))),
    ]
    # A cancellation credits one invoice whole; a refund by hand credits part of another.
    Order.objects.filter(id=invoices[0].order_id).update(status="cancelled", raw_status="NPX")
    credit_notes_detect(order_ids=[invoices[0].order_id])
    credit_note_request(invoice=invoices[3], amounts=PartAmounts(shipping=D("1.11")), reason="", user=None)
    notes = run_credit_notes()
    assert [n.state for n in notes] == [CreditNote.State.ISSUED] * 2

    lines = money.month_lines(tenant=tenant, month=MARCH)

    received = _received(fake)
    assert len(fake.of_type("invoice")) == 4 and len(fake.of_type("credit_note")) == 2
    assert sum(line.taxable for line in lines) == received["taxable"]
    assert sum(line.vat for line in lines) == received["vat"]
    assert sum(line.total for line in lines) == received["total"] != 0
    assert {line.treatment for line in lines} == {"domestic", "export", "eu_b2c_italian_vat"}
    credit = [line for line in lines if line.doc_type == "credit_note"]
    assert credit and all(line.total < 0 for line in credit)
    assert {line.number for line in credit} == {"1/NC", "2/NC"}


@pytest.mark.django_db
def test_only_issued_documents_of_the_tenant_and_the_month_count(tenant):
    march = issued_by_hand(make_order(tenant), lines=[("std_domestic", "12.20", "12.20", 0, "")])
    issued_by_hand(
        make_order(tenant, username="april"),
        lines=[("std_domestic", "50.00", "50.00", 0, "")],
        invoice_date=date(2026, 4, 1),
    )
    Invoice.objects.create(tenant=tenant, order=make_order(tenant, username="waiting"), state=Invoice.State.PENDING)
    other = TenantFactory()
    issued_by_hand(make_order(other), lines=[("std_domestic", "99.00", "99.00", 0, "")])

    [line] = money.month_lines(tenant=tenant, month=MARCH)

    assert (line.number, line.total, line.taxable, line.vat) == ("7/A", D("12.20"), D("10.00"), D("2.20"))
    assert line.doc_id == march.id and line.order_id == march.order.marketplace_order_id
    assert (line.marketplace, line.buyer, line.country) == ("BrickLink", "Luca Bianchi", "IT")
    assert line.original_currency == "" and line.fx_rate is None


@pytest.mark.django_db
def test_a_foreign_currency_line_carries_its_original_amount_and_rate(tenant):
    invoice = issued_by_hand(
        make_order(tenant, currency="USD"),
        lines=[("std_export", "9.00", "10.00", 21, "N3.1")],
        fx_rate=D("1.111111"),
        currency="USD",
    )
    Invoice.objects.filter(id=invoice.id).update(fx_source="ECB euro foreign exchange reference rates")

    [line] = money.month_lines(tenant=tenant, month=MARCH)

    assert (line.currency, line.original_currency, line.original_amount) == ("EUR", "USD", D("10.00"))
    assert (line.fx_rate, line.fx_rate_date) == (D("1.111111"), date(2026, 3, 2))
    assert line.fx_source == "ECB euro foreign exchange reference rates"
    assert (line.treatment, line.natura, line.taxable, line.vat) == ("export", "N3.1", D("9.00"), D(0))


# --- the Money page's totals -----------------------------------------------------------------


def _oss_invoice(tenant, country, gross, rate, username):
    invoice = issued_by_hand(make_order(tenant, username=username), lines=[("std_eu", gross, gross, 21, "N3.2")])
    InvoiceLine.objects.filter(invoice=invoice).update(
        treatment="oss", destination_country=country, destination_rate=D(rate), vat_rate=0
    )
    return invoice


def _credit_by_hand(invoice, gross, number="1", on=date(2026, 3, 25)):
    line = invoice.lines.first()
    note = CreditNote.objects.create(
        tenant=invoice.tenant,
        invoice=invoice,
        event_key=f"manual:{number}",
        source="manual",
        basis="amounts",
        state=CreditNote.State.ISSUED,
        number=number,
        numeration="/NC",
        credit_date=on,
        total=D(gross),
    )
    CreditNoteLine.objects.create(
        credit_note=note,
        position=line.position,
        slot=line.slot,
        product_id=line.product_id,
        treatment=line.treatment,
        vat_id=line.vat_id,
        vat_rate=line.vat_rate,
        natura=line.natura,
        gross=D(gross),
        original_gross=D(gross),
    )
    return note


@pytest.mark.django_db
def test_credit_notes_give_back_distance_sales_in_the_year_of_the_sale_they_correct(tenant):
    """The EUR 10,000 threshold counts what was sold: a refund of an EU consumer's order lowers the
    total of the year of that sale, even when the credit note is dated the next year; domestic
    sales never count."""
    from invoicing.selectors import oss_position
    from invoicing.taxcontext import eu_b2c_totals

    french = _oss_invoice(tenant, "FR", "120.00", "20", "fr")
    _oss_invoice(tenant, "DE", "119.00", "19", "de")
    domestic = issued_by_hand(make_order(tenant), lines=[("std_domestic", "122.00", "122.00", 0, "")])
    assert eu_b2c_totals(tenant_id=tenant.id, year=2026) == (D("239.00"), D(0))

    _credit_by_hand(domestic, "12.20", number="1")
    _credit_by_hand(french, "60.00", number="2", on=date(2027, 1, 10))
    assert eu_b2c_totals(tenant_id=tenant.id, year=2026) == (D("179.00"), D(0))
    assert eu_b2c_totals(tenant_id=tenant.id, year=2027) == (D(0), D("179.00"))
    with freeze_time("2026-06-01"):
        assert oss_position(settings_for(tenant)).current_year == D("179.00")


@pytest.mark.django_db
def test_the_summary_is_per_treatment_with_oss_per_country_and_credit_notes_apart(tenant):
    domestic = issued_by_hand(make_order(tenant), lines=[("std_domestic", "122.00", "122.00", 0, "")])
    issued_by_hand(make_order(tenant, username="us"), lines=[("std_export", "40.00", "40.00", 21, "N3.1")])
    french = _oss_invoice(tenant, "FR", "120.00", "20", "fr")
    _oss_invoice(tenant, "DE", "119.00", "19", "de")
    _credit_by_hand(domestic, "12.20", number="1")
    _credit_by_hand(french, "60.00", number="2")

    summary = money.month_summary(lines=money.month_lines(tenant=tenant, month=MARCH), month=MARCH)

    rows = {(r.treatment, r.country): r for r in summary.rows}
    assert list(rows) == [("domestic", ""), ("oss", "DE"), ("oss", "FR"), ("export", "")]
    home = rows[("domestic", "")]
    assert (home.invoiced.taxable, home.invoiced.vat) == (D("100.00"), D("22.00"))
    assert (home.credited.taxable, home.credited.vat, home.credited.total) == (D("-10.00"), D("-2.20"), D("-12.20"))
    assert (home.net.taxable, home.net.vat, home.net.total) == (D("90.00"), D("19.80"), D("109.80"))
    france = rows[("oss", "FR")]
    assert (france.net.taxable, france.net.vat, france.net.destination_vat) == (D("60.00"), D(0), D("10.00"))
    assert rows[("oss", "DE")].invoiced.destination_vat == D("19.00")
    assert (summary.invoiced.total, summary.credited.total, summary.net.total) == (
        D("401.00"),
        D("-72.20"),
        D("328.80"),
    )
    assert (summary.invoice_count, summary.credit_note_count) == (4, 2)


@pytest.mark.django_db
def test_the_chart_shows_twelve_months_ending_with_the_chosen_one(tenant):
    issued_by_hand(make_order(tenant), lines=[("std_domestic", "100.00", "100.00", 0, "")])
    issued_by_hand(
        make_order(tenant, username="may"),
        lines=[("std_domestic", "50.00", "50.00", 0, "")],
        invoice_date=date(2025, 5, 31),
    )
    issued_by_hand(
        make_order(tenant, username="old"),
        lines=[("std_domestic", "999.00", "999.00", 0, "")],
        invoice_date=date(2025, 3, 31),
    )
    _credit_by_hand(Invoice.objects.get(order__buyer_username="brickfan"), "25.00")

    chart = month_history(tenant=tenant, month=MARCH)

    assert [bar.month for bar in chart.bars][0] == date(2025, 4, 1) and chart.bars[-1].month == MARCH
    assert len(chart.bars) == 12 and chart.bars[-1].current
    by_month = {bar.month: bar for bar in chart.bars}
    assert (by_month[MARCH].invoiced, by_month[MARCH].credited, by_month[MARCH].net) == (
        D("100.00"),
        D("25.00"),
        D("75.00"),
    )
    assert by_month[date(2025, 5, 1)].invoiced == D("50.00")
    assert by_month[MARCH].invoiced_height == 120 and by_month[date(2025, 5, 1)].invoiced_height == 60
    assert by_month[date(2025, 6, 1)].invoiced_height == 0


def test_months_roll_over_the_year():
    assert money.next_month(date(2026, 12, 1)) == date(2027, 1, 1)
    assert money.previous_month(date(2026, 1, 1)) == date(2025, 12, 1)
    with freeze_time("2026-03-31 23:30:00"):  # already 1 April in Rome
        assert money.month_start() == date(2026, 4, 1)
