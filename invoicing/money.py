"""What a seller invoiced in a month, read from the documents as they were sent: the Money page's
totals per VAT treatment and the accountant's export (invoicing/moneyexport.py), one row per line.

The figures come from ``InvoiceLine`` / ``CreditNoteLine``, the lines stored as they were sent to
the accounting package (invoicing/issuing.py ``_store_lines``): each line's gross amount is the
``gross_price`` of one item of the document, with its VAT type's rate. The taxable amount and the
VAT of a line are not sent: the package computes them per VAT rate of the document (it rounds the
net of each rate's gross sum half-up to the cent, the VAT being the rest:
docs/providers/fatture-in-cloud.md §7.2). ``document_split`` does the same and shares each
rate's net over its lines to the cent, so a document's lines add up exactly to the package's
figures and a month's export to what the package received.

An invoice counts in the month of its date, a credit note in the month of its own date, with
negative amounts. Only issued documents count; everything is EUR (docs/tax.md §9).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Tenant
from taxes.money import allocate_cents

from .creditmodels import CreditNote, CreditNoteLine
from .models import Invoice, InvoiceLine

ZERO = Decimal("0")
CENT = Decimal("0.01")
INVOICE, CREDIT_NOTE = "invoice", "credit_note"
DOC_TYPES = {INVOICE: _("Invoice"), CREDIT_NOTE: _("Credit note")}
# taxes.treatment.TreatmentCode, in the order the Money page lists them.
TREATMENTS = {
    "domestic": _("Italy"),
    "eu_b2c_italian_vat": _("EU consumers, Italian VAT"),
    "eu_b2b": _("EU businesses (intra-EU supply)"),
    "oss": _("EU consumers, OSS"),
    "export": _("Export outside the EU"),
    "margin": _("Margin scheme"),
    "forfettario": _("Flat-rate scheme (forfettario)"),
}
MARKETPLACES = {"bricklink": "BrickLink", "brickowl": "BrickOwl"}


def month_start(day: date | None = None) -> date:
    """The first day of ``day``'s month; today's in Europe/Rome (settings.TIME_ZONE) by default."""
    day = day or timezone.localdate()
    return day.replace(day=1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def previous_month(month: date) -> date:
    return date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)


# --- the package's split of gross amounts ------------------------------------------------------


def document_split(lines: Sequence[tuple[Decimal, Decimal]]) -> list[tuple[Decimal, Decimal]]:
    """(VAT rate %, gross) of each line of one document → (taxable, VAT) of each line.

    Per rate, as the package totals it: net = gross sum / (1 + rate), half-up to the cent; VAT is
    the rest. The rate's net is shared over its lines pro rata to their gross (largest remainder),
    so every line's taxable + VAT is its gross and the lines add up to the document's figures.
    """
    by_rate: dict[Decimal, list[int]] = {}
    for index, (rate, _gross) in enumerate(lines):
        by_rate.setdefault(rate, []).append(index)
    taxable: dict[int, Decimal] = {}
    for rate, indexes in by_rate.items():
        grosses = [lines[i][1] for i in indexes]
        total = sum(grosses, ZERO)
        net = (total / (1 + rate / 100)).quantize(CENT, rounding=ROUND_HALF_UP)
        exact = [net * g / total for g in grosses] if total else [net / len(grosses)] * len(grosses)
        taxable.update(zip(indexes, allocate_cents(net, exact), strict=True))
    return [(taxable[i], gross - taxable[i]) for i, (_rate, gross) in enumerate(lines)]


# --- the month's lines ------------------------------------------------------------------------


@dataclass(frozen=True)
class MoneyLine:
    """One line of an issued invoice or credit note (negative amounts), for the export."""

    doc_type: str
    doc_id: int  # the invoice's or credit note's row id: not exported, tells documents apart
    number: str
    doc_date: date
    order_id: str
    marketplace: str
    buyer: str
    country: str
    description: str
    treatment: str
    natura: str
    vat_rate: Decimal
    taxable: Decimal
    vat: Decimal
    total: Decimal
    currency: str
    original_currency: str = ""  # empty for a EUR order
    original_amount: Decimal | None = None
    fx_rate: Decimal | None = None  # units of the original currency per 1 EUR
    fx_rate_date: date | None = None
    fx_source: str = ""
    destination_country: str = ""  # OSS: where the VAT is due, at what rate, how much
    destination_rate: Decimal | None = None
    destination_vat: Decimal | None = None

    @property
    def doc_type_label(self) -> str:
        return str(DOC_TYPES[self.doc_type])

    @property
    def treatment_label(self) -> str:
        return str(TREATMENTS.get(self.treatment, self.treatment))


_ORDER_FIELDS = ("marketplace_order_id", "marketplace", "buyer_name", "buyer_username", "ship_country")
_INVOICE_FIELDS = ("number", "numeration", "original_currency", "fx_rate", "fx_rate_date", "fx_source", "currency")
_LINE_FIELDS = ("position", "description", "treatment", "natura", "vat_rate", "gross", "original_gross")


def _values(prefix: str) -> list[str]:
    """The invoice's and the order's columns, through ``prefix`` (the path from a line to its invoice)."""
    return [f"{prefix}{name}" for name in ("id", *_INVOICE_FIELDS)] + [
        f"{prefix}order__{name}" for name in _ORDER_FIELDS
    ]


def _document(prefix: str) -> dict[str, F]:
    """The document's own id, number and date, under the same names for invoices and credit notes."""
    date_field = "invoice_date" if prefix == "invoice__" else "credit_date"
    return {
        "doc_id": F(f"{prefix}id"),
        "doc_number": F(f"{prefix}number"),
        "doc_numeration": F(f"{prefix}numeration"),
        "doc_date": F(f"{prefix}{date_field}"),
    }


def _document_lines(doc_type: str, rows: list[dict], invoice: str, sign: int, destinations: dict) -> list[MoneyLine]:
    """The MoneyLines of one document's rows (``invoice``: the path from a row to its invoice)."""
    splits = document_split([(row["vat_rate"], row["gross"]) for row in rows])
    lines = []
    for row, (taxable, vat) in zip(rows, splits, strict=True):
        head = rows[0]
        original = head[f"{invoice}original_currency"]
        foreign = bool(original) and original != head[f"{invoice}currency"]
        country, rate = destinations.get((head[f"{invoice}id"], row["position"]), ("", None))
        lines.append(
            MoneyLine(
                doc_type=doc_type,
                doc_id=row["doc_id"],
                number=f"{row['doc_number']}{row['doc_numeration']}",
                doc_date=row["doc_date"],
                order_id=head[f"{invoice}order__marketplace_order_id"],
                marketplace=MARKETPLACES.get(head[f"{invoice}order__marketplace"], ""),
                buyer=head[f"{invoice}order__buyer_name"] or head[f"{invoice}order__buyer_username"],
                country=head[f"{invoice}order__ship_country"],
                description=row["description"],
                treatment=row["treatment"],
                natura=row["natura"],
                vat_rate=row["vat_rate"],
                taxable=sign * taxable,
                vat=sign * vat,
                total=sign * row["gross"],
                currency=head[f"{invoice}currency"] or "EUR",
                original_currency=original if foreign else "",
                original_amount=sign * row["original_gross"] if foreign else None,
                fx_rate=head[f"{invoice}fx_rate"] if foreign else None,
                fx_rate_date=head[f"{invoice}fx_rate_date"] if foreign else None,
                fx_source=head[f"{invoice}fx_source"] if foreign else "",
                destination_country=country,
                destination_rate=rate,
                destination_vat=_destination_vat(sign * row["gross"], rate),
            )
        )
    return lines


def _destination_vat(gross: Decimal, rate: Decimal | None) -> Decimal | None:
    """The destination VAT inside an OSS line's gross (as taxes.treatment.Treatment.oss_amounts)."""
    if rate is None:
        return None
    return (gross * rate / (100 + rate)).quantize(CENT, rounding=ROUND_HALF_UP)


def _grouped(rows: list[dict]) -> list[list[dict]]:
    """The rows of each document, in the order read."""
    documents: dict[int, list[dict]] = {}
    for row in rows:
        documents.setdefault(row["doc_id"], []).append(row)
    return list(documents.values())


def invoice_lines(*, tenant: Tenant, month: date) -> list[MoneyLine]:
    """The lines of the tenant's invoices issued with a date in ``month``, by date and number."""
    rows = list(
        InvoiceLine.objects.filter(
            invoice__tenant=tenant,
            invoice__state=Invoice.State.ISSUED,
            invoice__invoice_date__gte=month,
            invoice__invoice_date__lt=next_month(month),
        )
        .order_by("invoice__invoice_date", "invoice__id", "position")
        .values(
            *_LINE_FIELDS,
            *_values("invoice__"),
            "destination_country",
            "destination_rate",
            **_document("invoice__"),
        )
    )
    destinations = {
        (row["invoice__id"], row["position"]): (row["destination_country"], row["destination_rate"])
        for row in rows
        if row["destination_rate"] is not None
    }
    return [line for doc in _grouped(rows) for line in _document_lines(INVOICE, doc, "invoice__", 1, destinations)]


def credit_note_lines(*, tenant: Tenant, month: date) -> list[MoneyLine]:
    """The lines of the tenant's credit notes issued with a date in ``month``, negative. A credit
    note line reverses a line of its invoice (same position): the OSS destination comes from it."""
    rows = list(
        CreditNoteLine.objects.filter(
            credit_note__tenant=tenant,
            credit_note__state=CreditNote.State.ISSUED,
            credit_note__credit_date__gte=month,
            credit_note__credit_date__lt=next_month(month),
        )
        .order_by("credit_note__credit_date", "credit_note__id", "position")
        .values(
            *_LINE_FIELDS,
            *_values("credit_note__invoice__"),
            **_document("credit_note__"),
        )
    )
    invoices = {row["credit_note__invoice__id"] for row in rows}
    destinations = {
        (invoice_id, position): (country, rate)
        for invoice_id, position, country, rate in InvoiceLine.objects.filter(
            invoice_id__in=invoices, destination_rate__isnull=False
        ).values_list("invoice_id", "position", "destination_country", "destination_rate")
    }
    return [
        line
        for doc in _grouped(rows)
        for line in _document_lines(CREDIT_NOTE, doc, "credit_note__invoice__", -1, destinations)
    ]


def month_lines(*, tenant: Tenant, month: date) -> list[MoneyLine]:
    """Every line of the month: invoices, then credit notes."""
    return invoice_lines(tenant=tenant, month=month) + credit_note_lines(tenant=tenant, month=month)


# --- the Money page ----------------------------------------------------------------------------


@dataclass
class Amounts:
    taxable: Decimal = ZERO
    vat: Decimal = ZERO
    total: Decimal = ZERO
    destination_vat: Decimal = ZERO

    def add(self, line: MoneyLine) -> None:
        self.taxable += line.taxable
        self.vat += line.vat
        self.total += line.total
        self.destination_vat += line.destination_vat or ZERO


@dataclass
class TreatmentTotals:
    """One row of the Money page: a treatment (OSS: one per destination country)."""

    treatment: str
    country: str
    invoiced: Amounts = field(default_factory=Amounts)
    credited: Amounts = field(default_factory=Amounts)  # negative amounts

    @property
    def label(self) -> str:
        return str(TREATMENTS.get(self.treatment, self.treatment))

    @property
    def net(self) -> Amounts:
        return Amounts(
            taxable=self.invoiced.taxable + self.credited.taxable,
            vat=self.invoiced.vat + self.credited.vat,
            total=self.invoiced.total + self.credited.total,
            destination_vat=self.invoiced.destination_vat + self.credited.destination_vat,
        )


@dataclass
class MonthSummary:
    month: date
    rows: list[TreatmentTotals]
    invoiced: Amounts
    credited: Amounts
    invoice_count: int
    credit_note_count: int

    @property
    def net(self) -> Amounts:
        return Amounts(
            taxable=self.invoiced.taxable + self.credited.taxable,
            vat=self.invoiced.vat + self.credited.vat,
            total=self.invoiced.total + self.credited.total,
            destination_vat=self.invoiced.destination_vat + self.credited.destination_vat,
        )


def _row_key(line: MoneyLine) -> tuple[str, str]:
    return (line.treatment, line.destination_country if line.treatment == "oss" else "")


def month_summary(*, lines: Sequence[MoneyLine], month: date) -> MonthSummary:
    """The month's totals per treatment (OSS per destination country), invoices and credit
    notes apart, from ``month_lines``."""
    rows: dict[tuple[str, str], TreatmentTotals] = {}
    invoiced, credited = Amounts(), Amounts()
    documents: dict[str, set[int]] = {INVOICE: set(), CREDIT_NOTE: set()}
    for line in lines:
        key = _row_key(line)
        row = rows.setdefault(key, TreatmentTotals(treatment=key[0], country=key[1]))
        is_invoice = line.doc_type == INVOICE
        (row.invoiced if is_invoice else row.credited).add(line)
        (invoiced if is_invoice else credited).add(line)
        documents[line.doc_type].add(line.doc_id)
    order = list(TREATMENTS)
    ordered = sorted(rows.values(), key=lambda r: (_position(order, r.treatment), r.country))
    return MonthSummary(
        month=month,
        rows=ordered,
        invoiced=invoiced,
        credited=credited,
        invoice_count=len(documents[INVOICE]),
        credit_note_count=len(documents[CREDIT_NOTE]),
    )


def _position(order: list[str], treatment: str) -> int:
    return order.index(treatment) if treatment in order else len(order)
