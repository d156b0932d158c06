"""Parsers for values that come from a marketplace. None of them raises, whatever it is given.

Each returns a typed value and, when the input cannot be used, writes one sentence into
``problems`` that names the field and shows the bad value (cut short, see ``excerpt``). A problem
that put a placeholder where the invoice needs a real value (an amount, the order date, the
currency, the country, an item) *blocks*: the order is quarantined (``Order.quarantined``) until a
later read is clean. Every other problem is a note for the seller and for the invoicing side,
which holds such orders for a decision.

Why each bound exists:

- text: PostgreSQL refuses NUL and lone surrogates, and control or bidi characters in a name or
  an address end up printed on an invoice; lengths are the model's column sizes;
- money: the columns hold 10 integer digits, ``Decimal.quantize`` raises for huge values and
  JSON numbers such as ``1e400`` arrive as float infinity, so an amount is only accepted below
  ``MAX_AMOUNT`` and is rounded to 4 places (BrickLink's precision, docs/providers/bricklink.md §1);
- dates: in marketplaces/moments.py, same contract; the raw payload kept for support is made
  storable in marketplaces/rawpayload.py;
- country: ISO 3166-1 alpha-2 plus the marketplaces' own aliases (docs/providers/bricklink.md §10.8).
"""

import html
import json
import math
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _
from django_countries import countries

ZERO = Decimal("0")
FOUR_PLACES = Decimal("0.0001")
MAX_AMOUNT = Decimal("100000000")  # 10^8 in the store currency: far above any LEGO order
MAX_QUANTITY = 1_000_000
# At most this many problems per order are kept: a payload with thousands of broken items must
# not turn into a megabyte of sentences.
MAX_PROBLEMS = 50
EXCERPT = 40

# Codes the marketplaces use for a country whose ISO code is another: BrickLink sends UK
# (docs/providers/bricklink.md §10.8); EL is the EU's own code for Greece.
COUNTRY_ALIASES = {"UK": "GB", "EL": "GR"}
# Northern Ireland's XI is no ISO country; read as GB, with a note (its VAT treatment differs).
NOTED_COUNTRY_ALIASES = {"XI": "GB"}

# Control characters (C0 except tab, newline and carriage return, DEL, C1), lone surrogates,
# bidi embedding and override characters, and the two non-characters.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufffe\uffff\ud800-\udfff]")
_NEWLINES = re.compile(r"\r\n?")
_NUMBER = re.compile(r"[+-]?(?:\d{1,30}(?:\.\d{0,30})?|\.\d{1,30})(?:[eE][+-]?\d{1,4})?")
WHOLE_NUMBER = re.compile(r"[+-]?\d{1,12}")
_ORDER_REF = re.compile(r"[0-9A-Za-z][0-9A-Za-z_-]{0,39}")


@dataclass
class Problems:
    """The problems found in one order: sentences for people, and whether any of them blocks."""

    messages: list[str] = field(default_factory=list)
    blocking: bool = False

    def note(self, message: str) -> None:
        """Something the seller should see; the values are still usable."""
        if len(self.messages) < MAX_PROBLEMS:
            self.messages.append(message)
        elif len(self.messages) == MAX_PROBLEMS:
            self.messages.append(_("More problems were found and are not listed."))

    def block(self, message: str) -> None:
        """A value the invoice needs was replaced by a placeholder: quarantine the order."""
        self.blocking = True
        self.note(message)


# -- describing bad values ----------------------------------------------------------------------


def excerpt(value: Any, limit: int = EXCERPT) -> str:
    """A short, printable rendering of a bad value, cut at ``limit`` characters: text quoted and
    escaped (a NUL shows as ``\\x00``), anything else as its JSON (``29.19``, ``null``, ``[{...``)."""
    if isinstance(value, str):
        return repr(value[:limit]) + ("…" if len(value) > limit else "")
    try:
        shown = json.dumps(value, default=str, ensure_ascii=True)
    except (TypeError, ValueError, RecursionError):
        shown = type(value).__name__
    return shown[:limit] + ("…" if len(shown) > limit else "")


def shown(value: Any) -> str:
    """``excerpt``, or '(none)' for a missing value: for "unexpected X" sentences."""
    return "'(none)'" if value is None or value == "" else excerpt(value)


def kind(value: Any) -> str:
    """The JSON type of a value, in words, for "expected X, got Y" sentences."""
    if value is None:
        return _("null")
    if isinstance(value, bool):
        return _("true/false")
    if isinstance(value, int | float | Decimal):
        return _("a number")
    if isinstance(value, str):
        return _("text")
    if isinstance(value, list):
        return _("a list")
    if isinstance(value, dict):
        return _("an object")
    return type(value).__name__


# -- structure ----------------------------------------------------------------------------------


def obj(value: Any, label: str, problems: Problems, *, required: bool = False) -> dict:
    """A nested JSON object, or ``{}``: a missing one is fine unless ``required``; any other type
    is a problem (a list, a string or a number where an object belongs)."""
    if isinstance(value, dict):
        return value
    if value is None and not required:
        return {}
    message = _("%(field)s is not an object (got %(kind)s: %(value)s).") % {
        "field": label,
        "kind": kind(value),
        "value": excerpt(value),
    }
    (problems.block if required else problems.note)(message)
    return {}


def seq(value: Any, label: str, problems: Problems, *, required: bool = True) -> list:
    """A JSON list, or ``[]`` with a problem (blocking when ``required``)."""
    if isinstance(value, list):
        return value
    message = _("%(field)s is not a list (got %(kind)s: %(value)s).") % {
        "field": label,
        "kind": kind(value),
        "value": excerpt(value),
    }
    (problems.block if required else problems.note)(message)
    return []


def order_ref(value: Any) -> str:
    """A marketplace order id as a string, or "" when it is missing or not a plausible id.

    BrickLink sends a number, BrickOwl a digit string (docs/providers/bricklink.md §6,
    docs/providers/brickowl.md §5); anything else (an object, a 50-character string, a path)
    would overflow the column or end up inside a URL.
    """
    if isinstance(value, bool):
        return ""
    if isinstance(value, int):
        return str(value) if 0 < value < 10**18 else ""
    if isinstance(value, str) and _ORDER_REF.fullmatch(value.strip()):
        return value.strip()
    return ""


# -- text ---------------------------------------------------------------------------------------


def text(
    value: Any,
    label: str,
    problems: Problems,
    *,
    limit: int = 255,
    multiline: bool = False,
) -> str:
    """A trimmed string, HTML entities decoded once (BrickLink sends ``&#40;`` and ``&amp;``,
    docs/providers/bricklink.md §7), control characters removed and cut at ``limit``.

    Line breaks survive only where ``multiline`` (BrickLink's free-text address, §6); elsewhere
    they become spaces. A number is accepted as text (a postcode sent as 10115).
    """
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        problems.note(
            _("%(field)s is not text (got %(kind)s: %(value)s); left empty.")
            % {"field": label, "kind": kind(value), "value": excerpt(value)}
        )
        return ""
    raw = html.unescape(value if isinstance(value, str) else str(value))
    raw = _NEWLINES.sub("\n", raw).replace("\t", " ")
    if not multiline:
        raw = raw.replace("\n", " ")
    cleaned = _CONTROL.sub("", raw)
    if cleaned != raw:
        problems.note(
            _("%(field)s contained control characters, which were removed: %(value)s.")
            % {"field": label, "value": excerpt(raw)}
        )
    cleaned = cleaned.strip()
    if len(cleaned) > limit:
        problems.note(
            _("%(field)s is longer than %(limit)d characters and was cut: %(value)s.")
            % {"field": label, "limit": limit, "value": excerpt(cleaned)}
        )
        cleaned = cleaned[:limit].rstrip()
    return cleaned


# -- numbers ------------------------------------------------------------------------------------


def money(value: Any, label: str, problems: Problems) -> Decimal:
    """An amount as Decimal rounded half-up to 4 places; missing is 0.

    Accepts the marketplaces' strings (``"10.1210"``) and JSON numbers (BrickOwl's fees,
    docs/providers/brickowl.md §5), through their text, never through float arithmetic. Text that
    is no number, infinity, NaN or an amount of 10^8 or more is 0 plus a blocking problem.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return ZERO
    amount = _decimal(value)
    if amount is None:
        problems.block(
            _("%(field)s is not a number (%(value)s); counted as 0.") % {"field": label, "value": excerpt(value)}
        )
        return ZERO
    if abs(amount) >= MAX_AMOUNT:
        problems.block(
            _("%(field)s is out of range (%(value)s): amounts must be below 100,000,000; counted as 0.")
            % {"field": label, "value": excerpt(value)}
        )
        return ZERO
    # Below 10^8 with 4 places is 12 digits: quantize cannot overflow the default precision.
    return amount.quantize(FOUR_PLACES, rounding=ROUND_HALF_UP)


def _decimal(value: Any) -> Decimal | None:
    """The finite Decimal a JSON value spells, or None. Only plain decimal notation is read: no
    underscores, no "Infinity", no thousands separators."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        value = repr(value)
    elif isinstance(value, int):
        if abs(value) >= 10**30:
            return None
        value = str(value)
    if not isinstance(value, str) or not _NUMBER.fullmatch(value.strip()):
        return None
    try:
        return Decimal(value.strip())
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid literals
        return None


def integer(value: Any, label: str, problems: Problems, *, high: int = MAX_QUANTITY) -> int:
    """A whole number from 0 to ``high`` (a JSON integer, ``"20"`` or ``20.0``); anything else is 0
    plus a blocking problem: a quantity the invoice cannot trust."""
    number: int | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and WHOLE_NUMBER.fullmatch(value.strip()):
        number = int(value.strip())
    if number is None:
        problems.block(
            _("%(field)s is not a whole number (%(value)s); counted as 0.") % {"field": label, "value": excerpt(value)}
        )
        return 0
    if not 0 <= number <= high:
        problems.block(
            _("%(field)s is out of range (%(value)s); counted as 0.") % {"field": label, "value": excerpt(value)}
        )
        return 0
    return number


def flag(value: Any) -> bool:
    """A JSON boolean; ``"true"``/``"false"``/``1``/``0`` too (a string "false" is truthy)."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "y")
    if isinstance(value, bool | int):
        return bool(value)
    return False


# -- codes --------------------------------------------------------------------------------------


def country(value: Any, label: str, problems: Problems) -> str:
    """ISO 3166-1 alpha-2, upper case, or "" with a blocking problem (the VAT region needs it).

    ``UK`` and ``EL`` are read as GB and GR. A three-letter ISO code (``ITA``) is mapped to its
    two-letter code *with a note*, so the seller sees that the marketplace sent something odd but
    the order is not held for it. Numeric codes and anything else are refused.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        problems.block(_("The shipping address has no country (%(field)s).") % {"field": label})
        return ""
    code = value.strip().upper() if isinstance(value, str) else ""
    if code in COUNTRY_ALIASES:
        return COUNTRY_ALIASES[code]
    if code in NOTED_COUNTRY_ALIASES:
        mapped = NOTED_COUNTRY_ALIASES[code]
        problems.note(
            _("The shipping country code %(value)s (%(field)s) is not an ISO code; read as %(code)s.")
            % {"value": excerpt(value), "field": label, "code": mapped}
        )
        return mapped
    if len(code) == 2 and code.isascii() and code.isalpha() and countries.alpha2(code) == code:
        return code
    if len(code) == 3 and code.isascii() and code.isalpha() and countries.alpha2(code):
        mapped = countries.alpha2(code)
        problems.note(
            _("The shipping country code %(value)s (%(field)s) is a three-letter code; read as %(code)s (%(name)s).")
            % {"value": excerpt(value), "field": label, "code": mapped, "name": countries.name(mapped)}
        )
        return mapped
    problems.block(
        _("Unknown shipping country code %(value)s (%(field)s).") % {"value": excerpt(value), "field": label}
    )
    return ""


def currency(value: Any, label: str, problems: Problems) -> str:
    """A three-letter currency code, upper case, or "" with a blocking problem."""
    code = value.strip().upper() if isinstance(value, str) else ""
    if len(code) == 3 and code.isascii() and code.isalpha():
        return code
    problems.block(
        _("The order has no valid currency (%(field)s: %(value)s).") % {"field": label, "value": excerpt(value)}
    )
    return ""
