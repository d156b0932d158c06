"""Italian and EU tax identifiers, checked offline with python-stdnum (format and checksum):
the codice fiscale an Italian consumer's e-invoice needs (docs/tax.md §1.2), the partita IVA of
an Italian business (§1.3) and an EU buyer's VAT number before it goes to VIES (§2).

Each check returns the normalised value or a problem in plain words; none raises on what a buyer
typed.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _
from stdnum import exceptions as stdnum_errors
from stdnum.eu import vat as eu_vat
from stdnum.it import codicefiscale, iva

# ISO country → the prefix VIES uses (Greece is EL there; Northern Ireland is XI).
_VIES_PREFIX = {"GR": "EL"}
VIES_COUNTRIES = frozenset(_VIES_PREFIX.get(code.upper(), code.upper()) for code in eu_vat.MEMBER_STATES) | {"EL"}


@dataclass(frozen=True)
class IdentifierCheck:
    """``value`` normalised when valid (empty otherwise), ``problem`` when not (empty otherwise)."""

    value: str = ""
    problem: str = ""

    @property
    def ok(self) -> bool:
        return not self.problem


@dataclass(frozen=True)
class VatNumberFormat:
    """An EU VAT number split as VIES wants it: country prefix and the number without it."""

    country: str
    number: str = ""
    problem: str = ""

    @property
    def ok(self) -> bool:
        return not self.problem

    @property
    def full(self) -> str:
        return f"{self.country}{self.number}"


def _problem(exc: stdnum_errors.ValidationError, what: str) -> str:
    if isinstance(exc, stdnum_errors.InvalidLength):
        return _("The %(what)s has the wrong length.") % {"what": what}
    if isinstance(exc, stdnum_errors.InvalidChecksum):
        return _("The %(what)s is not valid: its check character does not match.") % {"what": what}
    if isinstance(exc, stdnum_errors.InvalidComponent):
        return _("The %(what)s is not valid: part of it cannot exist.") % {"what": what}
    return _("The %(what)s has characters or a layout it cannot have.") % {"what": what}


def _check(module: object, value: str, what: str) -> IdentifierCheck:
    text = (value or "").strip()
    if not text:
        return IdentifierCheck(problem=_("The %(what)s is empty.") % {"what": what})
    try:
        return IdentifierCheck(value=module.validate(text))  # type: ignore[attr-defined]
    except stdnum_errors.ValidationError as exc:
        return IdentifierCheck(problem=_problem(exc, what))


def codice_fiscale_validate(value: str) -> IdentifierCheck:
    """A person's 16-character codice fiscale, or a company's 11-digit one, normalised."""
    return _check(codicefiscale, value, _("codice fiscale"))


def partita_iva_validate(value: str) -> IdentifierCheck:
    """An Italian partita IVA (11 digits, an ``IT`` prefix is accepted and removed)."""
    return _check(iva, value, _("partita IVA"))


def vies_country(country: str) -> str:
    """The VIES prefix for an ISO country code (``GR`` → ``EL``)."""
    code = (country or "").strip().upper()
    return _VIES_PREFIX.get(code, code)


def vat_number_validate(country: str, number: str) -> VatNumberFormat:
    """Format and checksum of an EU VAT number for ``country`` (ISO or VIES code), offline. The
    number may carry its country prefix or not."""
    prefix = vies_country(country)
    if prefix not in VIES_COUNTRIES:
        return VatNumberFormat(prefix, problem=_("%(country)s does not issue EU VAT numbers.") % {"country": prefix})
    text = "".join((number or "").split()).upper()
    if text[:2] in (prefix, "GR" if prefix == "EL" else prefix):
        text = text[2:]
    if not text:
        return VatNumberFormat(prefix, problem=_("The VAT number is empty."))
    try:
        full = eu_vat.validate(prefix + text)
    except stdnum_errors.ValidationError as exc:
        return VatNumberFormat(prefix, problem=_problem(exc, _("VAT number")))
    return VatNumberFormat(prefix, number=full[2:])
