"""The Money page's chart: what was invoiced and credited in each of the last twelve months, as
bars of an inline SVG (the Content-Security-Policy allows no script and no style attribute:
geometry is SVG attributes, colours come from static/css/app.css)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Sum
from django.db.models.functions import TruncMonth

from accounts.models import Tenant

from .creditmodels import CreditNote, CreditNoteLine
from .models import Invoice, InvoiceLine
from .money import ZERO, next_month, previous_month

MONTHS = 12
# The SVG's drawing box: one slot per month, bars up to BAR_AREA high above the month labels.
SLOT_WIDTH, BAR_WIDTH, BAR_AREA, TOP = 40, 26, 120, 4


@dataclass(frozen=True)
class MonthBar:
    month: date
    invoiced: Decimal
    credited: Decimal  # positive: what the month's credit notes took back
    x: int
    invoiced_height: int
    credited_height: int
    current: bool

    @property
    def net(self) -> Decimal:
        return self.invoiced - self.credited

    @property
    def invoiced_y(self) -> int:
        return TOP + BAR_AREA - self.invoiced_height

    @property
    def credited_y(self) -> int:
        return TOP + BAR_AREA - self.credited_height

    @property
    def label_x(self) -> int:
        return self.x + BAR_WIDTH // 2


@dataclass(frozen=True)
class Chart:
    bars: list[MonthBar]
    width: int = SLOT_WIDTH * MONTHS
    height: int = TOP + BAR_AREA + 18
    baseline: int = TOP + BAR_AREA
    label_y: int = TOP + BAR_AREA + 14
    bar_width: int = BAR_WIDTH


def _months_ending(month: date) -> list[date]:
    months = [month]
    while len(months) < MONTHS:
        months.insert(0, previous_month(months[0]))
    return months


def _sums(queryset, date_field: str, start: date, end: date) -> dict[date, Decimal]:
    rows = (
        queryset.filter(**{f"{date_field}__gte": start, f"{date_field}__lt": end})
        .annotate(month=TruncMonth(date_field))
        .values("month")
        .annotate(total=Sum("gross"))
        .order_by()
    )
    return {row["month"]: row["total"] for row in rows}


def month_history(*, tenant: Tenant, month: date) -> Chart:
    """The twelve months up to ``month``: gross invoiced and credited (EUR), two grouped queries."""
    months = _months_ending(month)
    start, end = months[0], next_month(month)
    invoiced = _sums(
        InvoiceLine.objects.filter(invoice__tenant=tenant, invoice__state=Invoice.State.ISSUED),
        "invoice__invoice_date",
        start,
        end,
    )
    credited = _sums(
        CreditNoteLine.objects.filter(credit_note__tenant=tenant, credit_note__state=CreditNote.State.ISSUED),
        "credit_note__credit_date",
        start,
        end,
    )
    top = max([*invoiced.values(), *credited.values(), ZERO])
    return Chart(
        bars=[_bar(i, m, invoiced.get(m, ZERO), credited.get(m, ZERO), top, month) for i, m in enumerate(months)]
    )


def _height(amount: Decimal, top: Decimal) -> int:
    """The bar's height; any amount above zero stays visible (at least 1)."""
    if amount <= 0 or top <= 0:
        return 0
    return max(1, int(BAR_AREA * amount / top))


def _bar(index: int, month: date, invoiced: Decimal, credited: Decimal, top: Decimal, current: date) -> MonthBar:
    return MonthBar(
        month=month,
        invoiced=invoiced,
        credited=credited,
        x=index * SLOT_WIDTH + (SLOT_WIDTH - BAR_WIDTH) // 2,
        invoiced_height=_height(invoiced, top),
        credited_height=_height(credited, top),
        current=month == current,
    )
