"""The Money page and the accountant's exports: the chosen month (the current one in Rome by
default), totals per treatment, CSV and XLSX with one row per line (read back with openpyxl),
only the tenant's own documents, and nothing inline that the Content-Security-Policy forbids."""

import csv
import io
from datetime import date
from decimal import Decimal as D

import pytest
from django.urls import reverse
from freezegun import freeze_time
from openpyxl import load_workbook

from invoicing import moneyexport
from invoicing.models import Invoice
from tests.factories_credit import issued_by_hand
from tests.factories_invoicing import make_order
from tests.test_money import _credit_by_hand

pytestmark = pytest.mark.django_db


@pytest.fixture
def documents(tenant, other_tenant):
    """In March 2026: a domestic invoice (122.00) with a credit note (12.20), and a USD export
    invoice; another tenant's invoice of the same month."""
    domestic = issued_by_hand(
        make_order(tenant, username="anna"),
        lines=[("std_domestic", "100.00", "100.00", 0, ""), ("shipping", "22.00", "22.00", 0, "")],
    )
    _credit_by_hand(domestic, "12.20")
    export = issued_by_hand(
        make_order(tenant, username="bob", ship_country="US"),
        lines=[("std_export", "45.00", "50.00", 21, "N3.1")],
        fx_rate=D("1.111111"),
        currency="USD",
        number="8",
    )
    Invoice.objects.filter(id=export.id).update(fx_source="ECB")
    issued_by_hand(make_order(other_tenant, username="secret_buyer"), lines=[("std_domestic", "999.00", "999", 0, "")])


def _get(client, name, **params):
    response = client.get(reverse(name), params)
    assert response.status_code == 200
    return response


def test_the_money_page_shows_the_months_totals_per_treatment(owner_client, documents):
    response = _get(owner_client, "invoicing:money", month="2026-03")
    summary = response.context["summary"]
    page = response.content.decode()

    assert (summary.invoiced.total, summary.credited.total, summary.net.total) == (
        D("167.00"),
        D("-12.20"),
        D("154.80"),
    )
    assert [(r.treatment, r.net.taxable, r.net.vat) for r in summary.rows] == [
        ("domestic", D("90.00"), D("19.80")),
        ("export", D("45.00"), D("0.00")),
    ]
    assert "€167.00" in page and "€154.80" in page and "€999.00" not in page
    assert 'href="/home/money/export.csv?month=2026-03"' in page
    assert 'href="/home/money/export.xlsx?month=2026-03"' in page
    assert page.count('data-testid="chart-month"') == 12
    assert ' style="' not in page and "<script>" not in page


@freeze_time("2026-03-31 22:30:00")  # 00:30 on 1 April in Rome
def test_the_current_month_in_rome_is_the_default(owner_client, documents):
    response = _get(owner_client, "invoicing:money")
    assert response.context["month"] == date(2026, 4, 1)
    assert response.context["summary"].rows == []
    assert "No invoice or credit note was issued this month." in response.content.decode()


def test_an_invalid_month_is_explained_and_the_current_one_shown(owner_client):
    with freeze_time("2026-05-10 10:00:00"):
        response = _get(owner_client, "invoicing:money", month="2026-13")
    assert response.context["month"] == date(2026, 5, 1)
    assert "Choose a month, e.g. 2026-11." in response.content.decode()


def test_the_main_navigation_links_the_money_page(owner_client):
    page = _get(owner_client, "invoicing:dashboard").content.decode()
    assert f'href="{reverse("invoicing:money")}" data-testid="nav-money"' in page


def test_the_csv_has_one_row_per_line_with_credit_notes_negative(owner_client, documents):
    response = _get(owner_client, "invoicing:money_export_csv", month="2026-03")

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="brickinvoice-2026-03.csv"'
    assert response.content.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads it as UTF-8
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 4
    assert [(r["Document type"], r["Number"], r["Total"]) for r in rows] == [
        ("Invoice", "7/A", "100.00"),
        ("Invoice", "7/A", "22.00"),
        ("Invoice", "8/A", "45.00"),
        ("Credit note", "1/NC", "-12.20"),
    ]
    first, export, credit = rows[0], rows[2], rows[3]
    assert (first["Taxable"], first["VAT"], first["VAT rate %"], first["Date"]) == (
        "81.97",
        "18.03",
        "22.00",
        "2026-03-02",
    )
    assert (first["Treatment"], first["Country"], first["Marketplace"]) == ("Italy", "IT", "BrickLink")
    assert (export["Natura"], export["Original currency"], export["Original amount"]) == ("N3.1", "USD", "50.00")
    assert (export["Exchange rate (per EUR)"], export["Rate source"], export["Currency"]) == ("1.111111", "ECB", "EUR")
    assert (credit["Taxable"], credit["VAT"]) == ("-10.00", "-2.20")
    assert sum(D(r["Taxable"]) + D(r["VAT"]) for r in rows) == sum(D(r["Total"]) for r in rows) == D("154.80")


def test_the_xlsx_has_typed_cells_that_sum_to_the_months_total(owner_client, documents):
    response = _get(owner_client, "invoicing:money_export_xlsx", month="2026-03")

    assert response["Content-Type"] == moneyexport.XLSX_TYPE
    assert response["Content-Disposition"] == 'attachment; filename="brickinvoice-2026-03.xlsx"'
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    header, lines = rows[0], rows[1:]
    assert list(header) == moneyexport.headers() and len(lines) == 4
    column = {title: index for index, title in enumerate(header)}
    totals = [line[column["Total"]] for line in lines]
    assert all(isinstance(value, int | float) for value in totals)
    assert round(sum(totals), 2) == 154.80
    assert lines[0][column["Date"]].date() == date(2026, 3, 2)
    assert lines[3][column["Document type"]] == "Credit note" and lines[3][column["VAT"]] == -2.2
    assert lines[0][column["Original amount"]] is None and lines[2][column["Original amount"]] == 50
    assert sheet.cell(row=2, column=column["Total"] + 1).number_format == "#,##0.00"


def test_another_tenant_exports_none_of_these_documents(outsider_client, tenant, other_tenant, documents):
    mine = set(Invoice.objects.filter(tenant=tenant).values_list("order__marketplace_order_id", flat=True))
    [theirs] = Invoice.objects.filter(tenant=other_tenant).values_list("order__marketplace_order_id", flat=True)

    text = _get(outsider_client, "invoicing:money_export_csv", month="2026-03").content.decode("utf-8-sig")
    assert [row["Order"] for row in csv.DictReader(io.StringIO(text))] == [theirs]
    assert not any(order_id in text for order_id in mine)
    workbook = _get(outsider_client, "invoicing:money_export_xlsx", month="2026-03").content
    rows = list(load_workbook(io.BytesIO(workbook)).active.iter_rows(values_only=True))
    assert [row[3] for row in rows[1:]] == [theirs]
    summary = _get(outsider_client, "invoicing:money", month="2026-03").context["summary"]
    assert summary.invoiced.total == D("999.00") and summary.credited.total == 0
