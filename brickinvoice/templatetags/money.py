"""Money on a page, in the reader's language: ``{% load money %}`` then ``{{ amount|money:currency }}``.

Italian (and any language but English) writes the amount first and the symbol after: ``49,77 €``,
``1.234,50 €``, ``12,00 USD``; English writes the symbol first: ``€49.77``, ``€1,234.50``,
``USD 12.00``. EUR shows as ``€``, any other currency as its ISO code. Amounts are rounded half-up
to cents, grouped by thousands, with a no-break space between number and code so that they never
wrap apart. ``None`` or ``""`` gives ``""`` (chain ``|default:"—"``); anything that is no number
is shown as it is.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template
from django.utils import formats, translation

register = template.Library()

CENT = Decimal("0.01")
NBSP = "\xa0"
SYMBOLS = {"EUR": "€"}
# Languages that put the currency before the amount; the others (Italian) put it after.
SYMBOL_FIRST = {"en"}


def format_money(value, currency: str = "EUR", language: str | None = None) -> str:
    """``value`` in ``currency`` as the language writes it (see the module docstring)."""
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError, TypeError):
        return str(value)
    code = str(currency or "EUR").strip().upper()
    symbol = SYMBOLS.get(code, code)
    language = (language or translation.get_language() or "").split("-")[0]
    with translation.override(language or None):
        number = formats.number_format(abs(amount), 2, use_l10n=True, force_grouping=True)
    sign = "-" if amount < 0 else ""
    if language in SYMBOL_FIRST:
        return f"{sign}{symbol}{number}" if symbol != code else f"{sign}{code}{NBSP}{number}"
    return f"{sign}{number}{NBSP}{symbol}"


@register.filter
def money(value, currency="EUR"):
    return format_money(value, currency)
