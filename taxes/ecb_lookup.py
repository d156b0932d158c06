"""The last ECB rate published on or before a day", decided over a short run of publications.

docs/tax.md §9: convert at the ECB rate of the operation date; on a day without a fixing (weekend,
TARGET holiday) use the last rate published before it, never an interpolation. A source may know
only part of the history (the table starts somewhere; a feed can be missed), so a look-up answers
only when the source can *prove* that nothing was published between the rate it found and the
day asked for:

- each publication says which publication came before it (``previous_day``), as its feed told
  us; a publication without that link starts a new stretch of knowledge;
- after the newest publication a source knows, only weekends are certain to be empty: the ECB
  never publishes on Saturdays or Sundays, but a weekday may still bring a rate (today at 16:00,
  or a feed the refresh has not read yet);
- the publication must be at most ``lookback`` days old (a weekend plus holidays), and it must
  quote the currency.

Pure, no I/O; the table and the offline history both answer through ``last_published``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal


@dataclass(frozen=True)
class Publication:
    """What a source knows of one ECB publication: its day, the publication before it (None when
    unknown) and the rates it quoted (units of currency per 1 EUR)."""

    day: date
    previous_day: date | None
    rates: Mapping[str, Decimal]


def only_weekend_days(after: date, through: date) -> bool:
    """True if every day in (after, through] is a Saturday or a Sunday (or there is none)."""
    day = after + timedelta(days=1)
    while day <= through:
        if day.weekday() < 5:
            return False
        day += timedelta(days=1)
    return True


def last_published(
    newest: Publication | None,
    following: Publication | None,
    *,
    currency: str,
    day: date,
    lookback: int,
) -> tuple[Decimal, date] | None:
    """The rate of ``currency`` last published on or before ``day`` and the day it was published,
    or None when the source cannot prove it.

    ``newest``: the source's latest publication on or before ``day``; ``following``: its first
    publication after ``day``, if any. A currency missing from ``newest`` has no rate: the ECB
    suspends quoting a currency at times (ISK in 2008, RUB in 2022), and an older rate would be a
    guess.
    """
    if newest is None or newest.day > day or newest.day < day - timedelta(days=lookback):
        return None
    # Nothing may have been published between the newest publication we hold and the day.
    if following is not None:
        if following.previous_day != newest.day:
            return None
    elif not only_weekend_days(newest.day, day):
        return None
    rate = newest.rates.get(currency)
    return (rate, newest.day) if rate is not None else None
