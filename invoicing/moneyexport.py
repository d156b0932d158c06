"""The accountant's export of a month (invoicing/money.py ``month_lines``): one row per line of
every issued invoice and credit note (credit notes negative), as CSV and as an Excel workbook.

The CSV is for programs: UTF-8 with a byte-order mark (so Excel recognises the encoding),
comma-separated, ISO dates and dot decimals whatever the page's language. The workbook is for
people: dates are dates and amounts are numbers with two decimals, so the spreadsheet sums them.
Column titles and the words in the rows (document type, treatment) follow the page's language.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal

from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook
from openpyxl.styles import Font

from .money import MoneyLine

Value = str | Decimal | date | None
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
AMOUNT_FORMAT = "#,##0.00"
RATE_FORMAT = "0.000000"

# (title, value of a line, Excel number format or "")
COLUMNS: list[tuple[object, Callable[[MoneyLine], Value], str]] = [
    (_("Document type"), lambda line: line.doc_type_label, ""),
    (_("Number"), lambda line: line.number, ""),
    (_("Date"), lambda line: line.doc_date, "yyyy-mm-dd"),
    (_("Order"), lambda line: line.order_id, ""),
    (_("Marketplace"), lambda line: line.marketplace, ""),
    (_("Buyer"), lambda line: line.buyer, ""),
    (_("Country"), lambda line: line.country, ""),
    (_("Description"), lambda line: line.description, ""),
    (_("Treatment"), lambda line: line.treatment_label, ""),
    (_("Natura"), lambda line: line.natura, ""),
    (_("VAT rate %"), lambda line: line.vat_rate, AMOUNT_FORMAT),
    (_("Taxable"), lambda line: line.taxable, AMOUNT_FORMAT),
    (_("VAT"), lambda line: line.vat, AMOUNT_FORMAT),
    (_("Total"), lambda line: line.total, AMOUNT_FORMAT),
    (_("Currency"), lambda line: line.currency, ""),
    (_("Original currency"), lambda line: line.original_currency, ""),
    (_("Original amount"), lambda line: line.original_amount, AMOUNT_FORMAT),
    (_("Exchange rate (per EUR)"), lambda line: line.fx_rate, RATE_FORMAT),
    (_("Rate date"), lambda line: line.fx_rate_date, "yyyy-mm-dd"),
    (_("Rate source"), lambda line: line.fx_source, ""),
    (_("OSS country"), lambda line: line.destination_country, ""),
    (_("OSS VAT rate %"), lambda line: line.destination_rate, AMOUNT_FORMAT),
    (_("OSS VAT"), lambda line: line.destination_vat, AMOUNT_FORMAT),
]


def headers() -> list[str]:
    return [str(title) for title, _value, _format in COLUMNS]


def _csv_cell(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def export_csv(lines: Sequence[MoneyLine]) -> bytes:
    """The lines as CSV bytes (UTF-8 with BOM)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers())
    for line in lines:
        writer.writerow([_csv_cell(value(line)) for _title, value, _format in COLUMNS])
    return out.getvalue().encode("utf-8-sig")


def export_xlsx(lines: Sequence[MoneyLine], *, title: str) -> bytes:
    """The lines as an .xlsx workbook: one sheet named ``title``, a bold header row frozen on top."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook always has its first sheet
    sheet.title = title[:31]  # Excel's limit on sheet names
    sheet.append(headers())
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for row, line in enumerate(lines, start=2):
        for column, (_title, value, number_format) in enumerate(COLUMNS, start=1):
            cell = sheet.cell(row=row, column=column, value=_xlsx_cell(value(line)))
            if number_format:
                cell.number_format = number_format
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _xlsx_cell(value: Value) -> str | Decimal | date | None:
    # openpyxl writes a Decimal as a number; an empty string would be a text cell, None is empty.
    return None if value == "" else value
