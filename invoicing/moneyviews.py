"""The Money page (a month's invoiced totals per VAT treatment, its credit notes, a year's chart)
and the accountant's exports of the month. Thin: the month from the form, the selectors of
invoicing/money.py, the writers of invoicing/moneyexport.py; only ``request.tenant``'s documents."""

from datetime import date

from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from accounts.access import tenant_required

from . import money, moneyexport
from .forms import MonthForm
from .moneyhistory import month_history


def _month(request) -> tuple[MonthForm, date]:
    form = MonthForm(request.GET or None)
    return form, form.month_or(money.month_start())


@tenant_required
def money_month(request):
    form, month = _month(request)
    lines = money.month_lines(tenant=request.tenant, month=month)
    context = {
        "form": form,
        "month": month,
        "month_param": f"{month:%Y-%m}",
        "previous": f"{money.previous_month(month):%Y-%m}",
        "next": f"{money.next_month(month):%Y-%m}",
        "summary": money.month_summary(lines=lines, month=month),
        "chart": month_history(tenant=request.tenant, month=month),
    }
    return render(request, "invoicing/money.html", context)


def _attachment(content: bytes, content_type: str, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _file_name(month: date, extension: str) -> str:
    return f"brickinvoice-{month:%Y-%m}.{extension}"


@tenant_required
def money_export_csv(request):
    _form, month = _month(request)
    lines = money.month_lines(tenant=request.tenant, month=month)
    return _attachment(moneyexport.export_csv(lines), moneyexport.CSV_TYPE, _file_name(month, "csv"))


@tenant_required
def money_export_xlsx(request):
    _form, month = _month(request)
    lines = money.month_lines(tenant=request.tenant, month=month)
    title = _("Lines %(month)s") % {"month": f"{month:%Y-%m}"}
    content = moneyexport.export_xlsx(lines, title=title)
    return _attachment(content, moneyexport.XLSX_TYPE, _file_name(month, "xlsx"))
