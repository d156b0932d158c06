"""E-invoice data for Fatture in Cloud, as pure functions the invoice payload is built from: the
buyer as SDI needs it, ``ei_data`` for invoices and credit notes, the marketplace payment method as
a FatturaPA ``ModalitaPagamento`` code, and text SDI accepts.

No HTTP, no database. Facts: docs/providers/fatture-in-cloud.md §8.1 (fields), §8.5 (foreign buyers
and Italian consumers), §8.6 (what SDI rejects), §14 (non-Latin text).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from anyascii import anyascii
from django.db import models
from django.utils.translation import gettext_lazy as _
from stdnum.it import codicefiscale, iva

from brickinvoice.errors import Text
from taxes.payments import MP_CODES

from .sdi import FOREIGN_CODE, NO_CHANNEL_CODE

# --- text SDI accepts -----------------------------------------------------------------------------

# FatturaPA strings are limited to Basic Latin and Latin-1 Supplement; FiC answers 422 "Validation
# XML" on anything else (docs/providers/fatture-in-cloud.md §14, ISSUE-PY-73). Control characters are never valid.
TEXT_FIELDS = ("name", "first_name", "last_name", "contact_person", "address_street", "address_city", "address_extra")


def _latin1_printable(char: str) -> bool:
    code = ord(char)
    return 0x20 <= code <= 0x7E or 0xA0 <= code <= 0xFF


def sdi_text(value, *, max_length: int | None = None) -> str:
    """``value`` as text SDI accepts: Latin-1 letters (à, è, ü, ß…) are kept, other scripts are
    transliterated ("Łódź" → "Lodz", "Иван" → "Ivan"), control characters dropped and runs of
    white space made one space. Idempotent."""
    text = unicodedata.normalize("NFC", "" if value is None else str(value))
    out = []
    for char in text:
        if char.isspace():
            out.append(" ")
        elif _latin1_printable(char):
            out.append(char)
        elif unicodedata.category(char)[0] != "C":
            out.append("".join(c for c in anyascii(char) if _latin1_printable(c)))
    result = " ".join("".join(out).split())
    return result[:max_length].rstrip() if max_length else result


def sdi_entity_text(fields: dict) -> dict:
    """The same entity fields with every name and address text made SDI-safe."""
    return {k: sdi_text(v) if k in TEXT_FIELDS and isinstance(v, str) else v for k, v in fields.items()}


# --- the buyer ------------------------------------------------------------------------------------


class BuyerKind(models.TextChoices):
    FOREIGN = "foreign", _("Foreign buyer")
    ITALIAN_BUSINESS = "italian_business", _("Italian business")
    ITALIAN_CONSUMER = "italian_consumer", _("Italian private person")


@dataclass(frozen=True)
class Problem:
    """Why a valid e-invoice cannot be built (or, as a warning, what the seller may want to check).
    ``code`` is the SDI rejection the data would cause (fatture.sdi) or our own short name."""

    code: str
    message: Text
    field: str = ""


@dataclass(frozen=True)
class BuyerFields:
    """FiC entity fields for an e-invoice buyer, to lay over ``documents.entity_fields(data)``
    (they include deliberate empty strings, e.g. ``tax_code: ""`` for a foreign buyer)."""

    kind: BuyerKind
    fields: dict
    problems: tuple[Problem, ...] = ()
    warnings: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


# Identifier for a foreign buyer without a VAT or tax number. AdE FAQ n. 63 accepts any identifier
# (up to 28 characters, not checked by SDI) with the real foreign country; Odoo's l10n_it_edi uses
# "0000000" for it (its "OO99999999999" also fakes the country as "OO", which we avoid: a wrong
# IdPaese risks 00313). Digits only, so FiC never reads it as a country prefix (FH-461), and written
# after the buyer's ISO prefix like a real VAT number (docs/providers/fatture-in-cloud.md §8.5). [unconfirmed] which of
# "DE0000000" / "0000000" FiC maps to IdPaese + IdCodice: check with GET …/e_invoice/xml.
FOREIGN_PLACEHOLDER_ID = "0000000"
FOREIGN_POSTAL_CODE = "00000"  # CAP of a foreign address (AdE FAQ n. 63, docs/providers/fatture-in-cloud.md §8.5)
_VAT_PREFIX = {"GR": ("EL", "GR")}  # VIES writes Greek VAT numbers with EL
_SDI_CODE = re.compile(r"^[A-Z0-9]{7}$")
_CAP = re.compile(r"^[0-9]{5}$")


def _compact(value) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", str(value or "")).upper()


def foreign_tax_id(iso: str, value) -> str:
    """A foreign buyer's VAT or tax number as FiC's VAT field: alphanumerics with the country
    prefix; the placeholder when there is none, or when only a prefix was typed (FH-461)."""
    iso = iso.upper()
    number = _compact(value)
    prefixes = _VAT_PREFIX.get(iso, (iso,))
    if number in prefixes or not number:
        number = ""
    elif not number.startswith(prefixes):
        number = iso + number
    return (number or iso + FOREIGN_PLACEHOLDER_ID)[:30]


def valid_codice_fiscale(code: str) -> bool:
    """A person's 16-character codice fiscale, or a company's 11 digits (never with an "IT"
    prefix: that is a VAT number, and on the codice fiscale it causes 00324, §8.6)."""
    if len(code) == 11:
        return code.isdigit() and iva.is_valid(code)
    return len(code) == 16 and codicefiscale.is_valid(code)


def _recipient(data: dict, problems: list, warnings: list) -> dict:
    """ei_code and PEC of an Italian buyer (§6, §8.5): a 7-character code, else a PEC with
    0000000, else 0000000 alone (the invoice waits in the buyer's tax area)."""
    code = _compact(data.get("ei_code"))
    pec = str(data.get("certified_email") or "").strip()
    if code == FOREIGN_CODE:
        problems.append(Problem("00313", _("XXXXXXX is the recipient code of foreign buyers only."), "ei_code"))
    elif code and len(code) == 6:
        problems.append(
            Problem("00311", _("A 6-character recipient code is a public administration office: not supported."))
        )
    elif code and not _SDI_CODE.match(code):
        problems.append(Problem("00311", _("The recipient code must be 7 letters or digits."), "ei_code"))
    if code and code != NO_CHANNEL_CODE:
        return {"ei_code": code, "certified_email": pec}
    if "@" in pec:
        return {"ei_code": NO_CHANNEL_CODE, "certified_email": pec}
    return {"ei_code": NO_CHANNEL_CODE, "certified_email": ""}


def _foreign(data: dict, iso: str) -> BuyerFields:
    warnings = []
    typed = data.get("vat_number") or data.get("tax_code")
    tax_id = foreign_tax_id(iso, typed)
    if tax_id == iso + FOREIGN_PLACEHOLDER_ID:
        warnings.append(Problem("placeholder_id", _("No VAT or tax number: a placeholder identifier is sent.")))
    postal, city = str(data.get("address_postal_code") or "").strip(), str(data.get("address_city") or "").strip()
    fields = {
        "e_invoice": True,
        "ei_code": FOREIGN_CODE,
        "certified_email": "",
        "country_iso": iso,
        "vat_number": tax_id,
        # Foreign buyers carry no codice fiscale (00313 otherwise, FH-305).
        "tax_code": "",
        "address_postal_code": FOREIGN_POSTAL_CODE,
        # The real postal code stays on the printed address, before the city.
        "address_city": sdi_text(f"{postal} {city}" if postal and postal not in city else city),
        "address_province": "",
    }
    return BuyerFields(BuyerKind.FOREIGN, fields, (), tuple(warnings))


def _italian(data: dict) -> BuyerFields:
    problems: list[Problem] = []
    warnings: list[Problem] = []
    vat = _compact(data.get("vat_number")).removeprefix("IT")
    tax_code = _compact(data.get("tax_code"))
    postal = str(data.get("address_postal_code") or "").strip()
    if not _CAP.match(postal):
        problems.append(Problem("postal_code", _("An Italian address needs a 5-digit postal code (CAP)."), "cap"))
    fields = {"e_invoice": True, "country_iso": "IT", **_recipient(data, problems, warnings)}
    if vat:
        kind = BuyerKind.ITALIAN_BUSINESS
        if not iva.is_valid(vat):
            problems.append(Problem("00305", _("The buyer's VAT number is not a valid Italian P.IVA."), "vat"))
        fields["vat_number"] = vat
        # Both only when both are valid: an incoherent pair is 00324 (docs/providers/fatture-in-cloud.md §8.6).
        valid_cf = valid_codice_fiscale(tax_code)
        if tax_code and not valid_cf:
            warnings.append(Problem("00324", _("The codice fiscale looks wrong and is left out."), "tax_code"))
        fields["tax_code"] = tax_code if valid_cf else ""
        if fields["ei_code"] == NO_CHANNEL_CODE and not fields["certified_email"]:
            warnings.append(
                Problem("no_channel", _("No recipient code or PEC: the invoice waits in the buyer's tax area."))
            )
    else:
        kind = BuyerKind.ITALIAN_CONSUMER
        if not tax_code:
            problems.append(
                Problem("00417", _("An Italian private buyer needs a codice fiscale for an e-invoice."), "tax_code")
            )
        elif not valid_codice_fiscale(tax_code):
            problems.append(Problem("00306", _("The buyer's codice fiscale is not valid."), "tax_code"))
        fields.update(vat_number="", tax_code=tax_code)
    return BuyerFields(kind, fields, tuple(problems), tuple(warnings))


def einvoice_entity(data: dict) -> BuyerFields:
    """The buyer of an e-invoice (docs/providers/fatture-in-cloud.md §8.5), from the same customer ``data`` as
    ``documents.entity_fields`` (``country_iso``, ``vat_number``, ``tax_code``, ``ei_code``,
    ``certified_email``, ``address_*``):

    - foreign (any country but IT, EU or not, business or consumer): ``XXXXXXX``, their country,
      their VAT/tax number or a placeholder identifier, no codice fiscale, CAP ``00000``, no province;
    - Italian business: a valid P.IVA plus a 7-character code, a PEC, or ``0000000``;
    - Italian consumer: ``0000000`` and a valid codice fiscale; without one the e-invoice cannot be
      built (00417) and ``problems`` says so.
    """
    iso = str(data.get("country_iso") or "").strip().upper()
    if len(iso) != 2:
        problem = Problem("country", _("The buyer's country is missing."), "country_iso")
        return BuyerFields(BuyerKind.FOREIGN, {}, (problem,))
    built = _foreign(data, iso) if iso != "IT" else _italian(data)
    if not str(data.get("name") or "").strip():
        problem = Problem("name", _("The buyer has no name."), "name")
        built = BuyerFields(built.kind, built.fields, (*built.problems, problem), built.warnings)
    return built


# --- ei_data ---------------------------------------------------------------------------------------


def _payment_method(code: str) -> str:
    code = str(code or "").strip().upper()
    if code not in MP_CODES:
        raise ValueError(f"not a FatturaPA ModalitaPagamento code (MP01…MP23): {code!r}")
    return code


def ei_data_invoice(*, payment_method: str) -> dict:
    """``ei_data`` of an e-invoice: ``payment_method`` is required since API 2.1.0 (§8.1)."""
    return {"payment_method": _payment_method(payment_method)}


def ei_data_credit_note(*, payment_method: str, invoice_number: str, invoice_date: date) -> dict:
    """``ei_data`` of a credit-note e-invoice: the credited invoice's visible number and date are
    required (docs/providers/fatture-in-cloud.md §16); its date must not be later than the credit note's (00418)."""
    number = str(invoice_number or "").strip()
    if not number or not isinstance(invoice_date, date):
        raise ValueError("a credit note needs the original invoice's number and date")
    return {
        "payment_method": _payment_method(payment_method),
        "invoice_number": number,
        "invoice_date": invoice_date.isoformat(),
    }


def credit_note_date_problem(*, credit_note_date: date, invoice_date: date) -> Problem | None:
    """00418 before it happens: a credit note dated before the invoice it corrects."""
    if credit_note_date < invoice_date:
        return Problem("00418", _("The credit note is dated before the invoice it corrects."), "date")
    return None
