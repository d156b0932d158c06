"""The ECB reference-rate XML feeds, parsed into typed days or a list of problems (docs/architecture.md §10.4).

The daily feed (``eurofxref-daily.xml``) carries one publication, the 90-day feed
(``eurofxref-hist-90d.xml``) one per TARGET working day, newest first::

    <gesmes:Envelope ...><Cube><Cube time="2026-03-05"><Cube currency="USD" rate="1.0850"/>...

A rate is units of the currency per 1 EUR. This module never raises on what the ECB (or anything
pretending to be it) sends: a day with any bad value is dropped whole, because a publication
missing one currency would make a later look-up fall back to an older rate for it (docs/tax.md
§9). Pure, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from lxml import etree

# Far above the 90-day feed (about 60 KB); anything bigger is not an ECB rates feed.
MAX_FEED_BYTES = 2_000_000
_CURRENCY = re.compile(r"[A-Z]{3}")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
# Rates have at most a handful of significant digits; this bounds what we store (max_digits=18).
_MAX_RATE = Decimal("1e12")


@dataclass(frozen=True)
class EcbDay:
    """One ECB publication: the rates of ``day``. ``previous_day`` is the publication before it
    in the same feed (None for the oldest one, or for the single day of the daily feed), which
    tells a look-up that nothing was published in between."""

    day: date
    rates: Mapping[str, Decimal]
    previous_day: date | None = None


@dataclass(frozen=True)
class EcbFeed:
    """Valid publications, oldest first, and what was wrong with the rest."""

    days: tuple[EcbDay, ...] = ()
    problems: tuple[str, ...] = field(default_factory=tuple)

    @property
    def latest(self) -> EcbDay | None:
        return self.days[-1] if self.days else None


def _local(tag: object) -> str:
    """The element name without its namespace (comments and processing instructions have none)."""
    return tag.split("}", 1)[-1] if isinstance(tag, str) else ""


def _parse_day(value: str | None) -> date | None:
    if value is None or not _DAY.fullmatch(value.strip()):
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


def _parse_rate(value: str | None) -> Decimal | None:
    """A positive, finite rate, or None."""
    try:
        rate = Decimal((value or "").strip())
    except InvalidOperation:
        return None
    if not rate.is_finite() or rate <= 0 or rate >= _MAX_RATE:
        return None
    return rate


def _read_day(cube: etree._Element, problems: list[str]) -> tuple[date | None, dict[str, Decimal] | None]:
    """One ``<Cube time=...>``: its date, and its rates or None when any of them is unusable."""
    raw_day = cube.get("time")
    day = _parse_day(raw_day)
    if day is None:
        problems.append(f"publication with an unreadable date {raw_day!r}")
        return None, None
    rates: dict[str, Decimal] = {}
    ok = True
    for entry in cube:
        if _local(entry.tag) != "Cube":
            continue
        currency, raw_rate = (entry.get("currency") or "").strip(), entry.get("rate")
        rate = _parse_rate(raw_rate)
        if not _CURRENCY.fullmatch(currency):
            problems.append(f"{day}: unreadable currency code {currency!r}")
            ok = False
        elif rate is None:
            problems.append(f"{day}: unreadable rate {raw_rate!r} for {currency}")
            ok = False
        elif currency in rates:
            problems.append(f"{day}: {currency} listed twice")
            ok = False
        else:
            rates[currency] = rate
    if not rates:
        problems.append(f"{day}: no rates")
        ok = False
    return day, rates if ok else None


def _root(content: bytes) -> etree._Element | str:
    """The document's root element, or the reason it has none we can read."""
    if len(content) > MAX_FEED_BYTES:
        return f"feed larger than {MAX_FEED_BYTES} bytes"
    # No DTDs, entities or network: the feed is plain data, and outside data must not expand.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(content, parser=parser)  # noqa: S320 - hardened parser above
    except (etree.XMLSyntaxError, ValueError) as exc:
        return f"not XML ({exc.__class__.__name__})"
    if root is None:
        return "empty document"
    return root


def parse_ecb_feed(content: bytes) -> EcbFeed:
    """The publications in an ECB daily or history feed, oldest first, each linked to the one
    before it; never raises."""
    root = _root(content)
    if isinstance(root, str):
        return EcbFeed(problems=(root,))
    problems: list[str] = []
    read: dict[date, dict[str, Decimal] | None] = {}
    linked = True
    for cube in root.iter():
        if _local(cube.tag) != "Cube" or cube.get("time") is None:
            continue
        day, rates = _read_day(cube, problems)
        if day is None:
            linked = False  # a publication of unknown date sits somewhere: no day follows another
            continue
        if day in read:
            problems.append(f"{day}: listed twice")
            read[day] = None
            continue
        read[day] = rates
    if not read and not problems:
        problems.append("no publication found (is this an ECB reference-rate feed?)")
    days: list[EcbDay] = []
    previous: date | None = None
    for day in sorted(read):
        rates = read[day]
        if rates is not None:
            days.append(EcbDay(day=day, rates=rates, previous_day=previous if linked else None))
        previous = day  # a dropped day still sits between its neighbours
    return EcbFeed(days=tuple(days), problems=tuple(problems))
