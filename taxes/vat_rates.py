"""Standard VAT rates of the EU member states (and Northern Ireland for goods), dated
(docs/tax.md §11). OSS taxes a distance sale at the destination's standard rate valid on the
taxable-event date (§3.4, §3.5), so a backfilled order of 2024 must not get a 2025 rate.

Source: the European Commission's TEDB history as mirrored in vatnode/eu-vat-rates-data, cross-
checked with 2025 tables (docs/tax.md §11, src S56, S57). Each period is (from, until, rate),
both ends inclusive; ``None`` means "before/after the period our sources cover". Data, in one
place, so a rate change is one line and its tests.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.utils.translation import gettext as _

from .errors import TreatmentUnsupported

Period = tuple[date | None, date | None, Decimal]


def _always(rate: str) -> tuple[Period, ...]:
    return ((None, None, Decimal(rate)),)


STANDARD_RATES: dict[str, tuple[Period, ...]] = {
    "AT": _always("20"),
    "BE": _always("21"),
    "BG": _always("20"),
    "HR": _always("25"),
    "CY": _always("19"),
    "CZ": _always("21"),
    "DK": _always("25"),
    "EE": (
        (None, date(2023, 12, 31), Decimal("20")),
        (date(2024, 1, 1), date(2025, 6, 30), Decimal("22")),
        (date(2025, 7, 1), None, Decimal("24")),
    ),
    "FI": (
        (None, date(2024, 8, 31), Decimal("24")),
        (date(2024, 9, 1), None, Decimal("25.5")),
    ),
    "FR": _always("20"),
    "DE": _always("19"),
    "GR": _always("24"),
    "HU": _always("27"),
    "IE": (
        (None, date(2020, 8, 31), Decimal("23")),
        (date(2020, 9, 1), date(2021, 2, 28), Decimal("21")),
        (date(2021, 3, 1), None, Decimal("23")),
    ),
    "IT": _always("22"),
    "LV": _always("21"),
    "LT": _always("21"),
    "LU": (
        (None, date(2022, 12, 31), Decimal("17")),
        (date(2023, 1, 1), date(2023, 12, 31), Decimal("16")),
        (date(2024, 1, 1), None, Decimal("17")),
    ),
    "MT": _always("18"),
    "NL": _always("21"),
    "PL": _always("23"),
    "PT": _always("23"),  # mainland; Azores and Madeira have their own rates [UNCONFIRMED values]
    "RO": (
        (None, date(2025, 7, 31), Decimal("19")),
        (date(2025, 8, 1), None, Decimal("21")),
    ),
    "SK": (
        (None, date(2024, 12, 31), Decimal("20")),
        (date(2025, 1, 1), None, Decimal("23")),
    ),
    "SI": _always("22"),
    "ES": _always("21"),
    "SE": _always("25"),
    "XI": _always("20"),  # Northern Ireland, goods: the UK rate
}

# Codes that name the same VAT area: Greece is EL in VIES; Monaco is in the French VAT area
# (invoicing/regions.py VAT_AREA_OF, docs/tax.md §4.2 [UNCONFIRMED]).
_ALIASES = {"EL": "GR", "MC": "FR"}


def vat_country(country: str) -> str:
    """The key of ``STANDARD_RATES`` for a country code (``EL`` is Greece in VIES)."""
    code = (country or "").strip().upper()
    return _ALIASES.get(code, code)


def standard_rate(country: str, on: date) -> Decimal:
    """The standard VAT rate (percent) of ``country`` on the day ``on``.

    Raises TreatmentUnsupported for a country outside the EU VAT area (and NI): there is no
    destination VAT to charge there, and a caller asking for one has the wrong region.
    """
    code = vat_country(country)
    for start, end, rate in STANDARD_RATES.get(code, ()):
        if (start is None or start <= on) and (end is None or on <= end):
            return rate
    raise TreatmentUnsupported(
        _("No EU standard VAT rate is known for %(country)s on %(day)s.") % {"country": code or "?", "day": on}
    )
