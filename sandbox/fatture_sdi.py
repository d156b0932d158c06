"""A small SDI for the fake Fatture in Cloud: the formal check behind ``xml_verify`` and ``send``,
the registry checks only SDI does, and the status an e-invoice goes through after a send.

Facts it models (docs/providers/fatture-in-cloud.md §8): the formal check finds format problems
(0 % line without natura, recipient code, CAP, missing identifiers, non-Latin text); the registry
checks happen after sending (00305 VAT number, 00306 codice fiscale, 00313 foreign recipient with
Italian data, 00418 credit note dated before its invoice, 00404 duplicate); a send moves the status
``sent`` → ``processing`` → ``accepted`` (a real recipient code or PEC), ``not_delivered``
(``0000000`` / ``XXXXXXX``) or ``discarded`` with an ``error_reason`` carrying the code, one step
per ``SANDBOX_SDI_STEP_SECONDS`` (or at once from the sandbox index page). The Italian messages are
written in FiC's style; FiC's exact wording is not known.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from django.utils import timezone
from stdnum.it import codicefiscale, iva

from .conf import knob
from .fatture_values import stamp
from .models import SandboxEInvoice, SandboxFattureDocument, SandboxFattureVatType

SUCCESS = ("accepted", "not_delivered")
IN_FLIGHT = ("sent", "pending", "processing", "attempt")
NO_CHANNEL = ("0000000", "XXXXXXX")
# Well-formed VAT numbers the Anagrafe Tributaria no longer knows (a ceased business): only SDI can
# tell, so this is the 00305 a formal check before sending cannot catch.
CEASED_VAT_NUMBERS = ("12345670017",)
_CAP = re.compile(r"^[0-9]{5}$")
_CODE = re.compile(r"^[A-Z0-9]{7}$")
_TEXT_FIELDS = ("name", "address_street", "address_city", "address_extra")
REASONS = {
    "00305": "1.4.1.1.2 <IdCodice> non valido: la partita IVA del cessionario/committente non risulta valida",
    "00306": "1.4.1.2 <CodiceFiscale> non valido: il codice fiscale del cessionario/committente non è censito",
    "00311": "1.1.4 <CodiceDestinatario> non valido",
    "00313": "1.1.4 <CodiceDestinatario> XXXXXXX non ammesso per un cessionario/committente italiano",
    "00404": "Fattura duplicata: già trasmessa con lo stesso numero e la stessa data",
    "00418": "2.1.1.3 <Data> anteriore alla data della fattura collegata (2.1.6.3)",
}
SOLUTIONS = {
    "00305": "Correggi la Partita IVA del cliente e invia di nuovo la fattura entro 5 giorni.",
    "00306": "Correggi il codice fiscale del cliente e invia di nuovo la fattura entro 5 giorni.",
    "00313": "Per un cliente estero lascia vuoto il codice fiscale e indica il paese corretto.",
    "00404": "La fattura risulta già consegnata: non inviarla di nuovo.",
    "00418": "Indica una data della nota di credito uguale o successiva a quella della fattura.",
}


def _latin1(text: str) -> bool:
    return all(0x20 <= ord(c) <= 0x7E or 0xA0 <= ord(c) <= 0xFF for c in text)


def _compact(value) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", str(value or "")).upper()


def _item_problems(company_id: int, doc: dict) -> list[str]:
    vat_types = {v.vat_id: v.data for v in SandboxFattureVatType.objects.filter(company_id=company_id)}
    problems = []
    for index, item in enumerate(doc.get("items_list") or [], start=1):
        vat = vat_types.get(int((item.get("vat") or {}).get("id", -1)), {})
        rate, nature = float(vat.get("value") or 0), str(vat.get("ei_type") or "")
        if rate == 0 and not nature.startswith("N"):
            problems.append(f"Nel dettaglio linee (riga {index}), per l'aliquota IVA 0 il campo Natura è obbligatorio")
        if rate != 0 and nature:
            problems.append(
                f"Nel dettaglio linee (riga {index}), con aliquota IVA diversa da 0 la Natura non va indicata"
            )
    return problems


def _entity_problems(entity: dict) -> list[str]:
    problems = []
    country = str(entity.get("country_iso") or "IT").upper()
    code = _compact(entity.get("ei_code"))
    vat, tax_code = _compact(entity.get("vat_number")), _compact(entity.get("tax_code"))
    if country != "IT":
        if code != "XXXXXXX":
            problems.append("Per un cliente estero il campo CodiceDestinatario deve essere XXXXXXX")
        if len(vat) <= 2:
            problems.append(
                "Impossibile recuperare il recipient id: indicare la Partita IVA o un identificativo estero"
            )
    else:
        if code and not _CODE.match(code):
            problems.append("Nel cessionario/committente, il CodiceDestinatario deve essere di 7 caratteri")
        if not vat and not tax_code:
            problems.append("Nel cessionario/committente indicare la Partita IVA o il Codice Fiscale")
        province = str(entity.get("address_province") or "")
        if province and not re.match(r"^[A-Z]{2}$", province):
            problems.append("Nel cessionario/committente, il campo Provincia deve contenere la sigla di 2 lettere")
    if not _CAP.match(str(entity.get("address_postal_code") or "")):
        problems.append("Nel cessionario/committente, il campo CAP deve contenere 5 cifre")
    for key in _TEXT_FIELDS:
        if not _latin1(str(entity.get(key) or "")):
            problems.append(
                f"Validation XML: il campo {key} del cessionario/committente contiene caratteri non ammessi"
            )
    return problems


def xml_problems(company_id: int, doc: dict) -> list[str]:
    """FiC's formal check (xml_verify): format problems only, in FiC's Italian style."""
    if not doc.get("e_invoice"):
        return ["Il documento non è una fattura elettronica"]
    problems = []
    if not (doc.get("ei_data") or {}).get("payment_method"):
        problems.append("Indicare la modalità di pagamento (ModalitaPagamento)")
    return problems + _entity_problems(doc.get("entity") or {}) + _item_problems(company_id, doc)


def _original_date(row: SandboxFattureDocument) -> date | None:
    try:
        return date.fromisoformat(str((row.data.get("ei_data") or {}).get("invoice_date")))
    except ValueError:
        return None


def _registry_outcome(row: SandboxFattureDocument, einvoice: SandboxEInvoice) -> tuple[str, str]:
    """(status, SDI code) the submission will end in."""
    entity = row.data.get("entity") or {}
    country = str(entity.get("country_iso") or "IT").upper()
    code = _compact(entity.get("ei_code"))
    vat, tax_code = _compact(entity.get("vat_number")).removeprefix("IT"), _compact(entity.get("tax_code"))
    original = _original_date(row)
    if einvoice.delivered or (einvoice.status in IN_FLIGHT and einvoice.outcome in SUCCESS):
        return "discarded", "00404"
    if row.doc_type == "credit_note" and original and row.date < original:
        return "discarded", "00418"
    if (code == "XXXXXXX" and country == "IT") or (country != "IT" and tax_code):
        return "discarded", "00313"
    if country == "IT" and vat and (not iva.is_valid(vat) or vat in CEASED_VAT_NUMBERS):
        return "discarded", "00305"
    if country == "IT" and not vat and tax_code and not (codicefiscale.is_valid(tax_code) or iva.is_valid(tax_code)):
        return "discarded", "00306"
    if code in NO_CHANNEL or (not code and not entity.get("certified_email")):
        return "not_delivered", ""
    return "accepted", ""


def _show(einvoice: SandboxEInvoice, status: str) -> None:
    """Set the status on the row and on the document body the API answers with."""
    einvoice.status = status
    row = einvoice.document
    row.data = {**row.data, "ei_status": status, "locked": einvoice.delivered or status in IN_FLIGHT}
    row.save(update_fields=["data"])


def einvoice_of(row: SandboxFattureDocument) -> SandboxEInvoice:
    einvoice, _ = SandboxEInvoice.objects.get_or_create(document=row)
    return einvoice


def submit(row: SandboxFattureDocument) -> SandboxEInvoice:
    """One send to SDI: plan its outcome, show ``sent``, schedule the next step."""
    einvoice = einvoice_of(row)
    outcome, code = _registry_outcome(row, einvoice)
    if einvoice.status in IN_FLIGHT and einvoice.outcome in SUCCESS:
        einvoice.delivered = True  # the copy already in flight will arrive; this one is the duplicate
    einvoice.outcome, einvoice.outcome_code = outcome, code
    einvoice.outcome_reason = REASONS.get(code, "")
    einvoice.submissions += 1
    einvoice.error_reason = {}
    einvoice.advance_at = timezone.now() + timedelta(seconds=knob("SANDBOX_SDI_STEP_SECONDS"))
    _show(einvoice, "sent")
    einvoice.save()
    return einvoice


def _finish(einvoice: SandboxEInvoice) -> None:
    einvoice.advance_at = None
    if einvoice.outcome in SUCCESS:
        einvoice.delivered = True
    else:
        code = einvoice.outcome_code
        reason = f"Scarto SDI {code}: {einvoice.outcome_reason}".strip() if code else einvoice.outcome_reason
        einvoice.error_reason = {
            "reason": reason,
            "ei_status": einvoice.outcome,
            "solution": SOLUTIONS.get(code, "Correggi il documento e invialo di nuovo."),
            "code": code or None,
            "date": stamp(),
        }
    _show(einvoice, einvoice.outcome)


def advance(einvoice: SandboxEInvoice, *, now=None, at_once: bool = False) -> SandboxEInvoice:
    """Apply every step that is due (or all of them with ``at_once``)."""
    now = now or timezone.now()
    step = timedelta(seconds=knob("SANDBOX_SDI_STEP_SECONDS"))
    while einvoice.advance_at is not None and (at_once or einvoice.advance_at <= now):
        if einvoice.status == "sent":
            _show(einvoice, "processing")
            einvoice.advance_at = einvoice.advance_at + step
        else:
            _finish(einvoice)
    einvoice.save()
    return einvoice


def reject(einvoice: SandboxEInvoice, code: str) -> SandboxEInvoice:
    """The sandbox page's "reject": the submission in flight ends discarded with ``code``."""
    einvoice.outcome, einvoice.outcome_code = "discarded", code
    einvoice.outcome_reason = REASONS.get(code, "Il file non ha superato i controlli SDI")
    if einvoice.advance_at is None:
        einvoice.advance_at = timezone.now()
    return advance(einvoice, at_once=True)


def advance_due(company_id: int) -> None:
    """Bring every e-invoice of the company up to date before a list or a read answers."""
    due = SandboxEInvoice.objects.filter(document__company_id=company_id, advance_at__lte=timezone.now())
    for einvoice in due.select_related("document"):
        advance(einvoice)
