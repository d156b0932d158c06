"""EU VAT numbers checked in VIES, kept as evidence (docs/tax.md §2).

Art. 41 DL 331/93 zero-rates an EU B2B sale only for a buyer with a VAT number valid in VIES at
the time of sale; the check and its answer are the seller's evidence. python-stdnum does the
offline format check; the VIES call is stdnum's own (``checkVat``, or ``checkVatApprox`` with the
seller's number as requester, which returns a consultation reference), made through our own zeep
client because stdnum builds its client from a module constant and a plain session: ours reads
``settings.VIES_WSDL_URL``, logs through ``build_session("vies")`` and has a short timeout.

VIES being down is normal (member-state services go offline): a check then answers
``unavailable``, never raises, and the sale is not treated as B2B until a later check succeeds.
With ``VIES_MODE=offline`` (the sandbox default) only the format is checked and the answer is
``not_verified``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from brickinvoice.http import build_session

from .identifiers import VatNumberFormat, vat_number_validate, vies_country
from .models import VatNumberCheck

logger = logging.getLogger(__name__)
Result = VatNumberCheck.Result

# VIES faults that say the request itself is wrong rather than the service being busy or down.
_INVALID_FAULTS = frozenset({"INVALID_INPUT"})
_NOT_SHARED = "---"  # what VIES answers for a name or address the member state does not share


@dataclass(frozen=True)
class ViesAnswer:
    """One VIES check as the engine reads it. ``detail`` says why it is not valid (a format
    problem, a VIES fault code, "not verified: offline")."""

    result: str
    country: str
    number: str
    name: str = ""
    address: str = ""
    consultation_reference: str = ""
    request_date: date | None = None
    requester: str = ""
    detail: str = ""
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def verified(self) -> bool:
        """Only a valid VIES answer lets a sale be treated as EU B2B (art. 41)."""
        return self.result == Result.VALID


def _soap_service() -> Any:
    """The VIES SOAP service (zeep), built from the configured WSDL on our provider session."""
    from zeep import Client, Settings
    from zeep.transports import Transport

    transport = Transport(  # type: ignore[no-untyped-call]
        session=build_session("vies"), timeout=settings.VIES_TIMEOUT, operation_timeout=settings.VIES_TIMEOUT
    )
    client = Client(  # type: ignore[no-untyped-call]
        settings.VIES_WSDL_URL, transport=transport, settings=Settings(forbid_dtd=True)
    )
    return client.service


def _text(value: object) -> str:
    text = str(value or "").strip()
    return "" if text == _NOT_SHARED else text


def _json_safe(answer: object) -> dict[str, Any]:
    from zeep.helpers import serialize_object

    data = serialize_object(answer, dict)  # type: ignore[no-untyped-call]
    return json.loads(json.dumps(data, default=str)) if isinstance(data, dict) else {}


def _read(answer: object, vat: VatNumberFormat, requester: str) -> ViesAnswer:
    raw = _json_safe(answer)
    valid = raw.get("valid") is True
    request_date = raw.get("requestDate")
    return ViesAnswer(
        result=Result.VALID if valid else Result.INVALID,
        country=vat.country,
        number=vat.number,
        name=_text(raw.get("name") or raw.get("traderName")),
        address=_text(raw.get("address") or raw.get("traderAddress")),
        consultation_reference=_text(raw.get("requestIdentifier")),
        request_date=date.fromisoformat(request_date[:10]) if isinstance(request_date, str) else None,
        requester=requester,
        detail="" if valid else _("VIES says the number is not valid."),
        raw=raw,
    )


def _call(vat: VatNumberFormat, requester: VatNumberFormat | None) -> object:
    service = _soap_service()
    if requester is None:
        return service.checkVat(countryCode=vat.country, vatNumber=vat.number)
    return service.checkVatApprox(
        countryCode=vat.country,
        vatNumber=vat.number,
        requesterCountryCode=requester.country,
        requesterVatNumber=requester.number,
    )


def _requester_format(requester: str | None) -> VatNumberFormat | None:
    """The seller's own VAT number (``IT01234567890``) for checkVatApprox, if usable."""
    text = "".join((requester or "").split()).upper()
    if not text:
        return None
    parsed = vat_number_validate(text[:2], text[2:])
    if not parsed.ok:
        logger.warning("VIES requester number unusable, checking without it")
        return None
    return parsed


def vat_number_check_vies(country: str, number: str, requester: str | None = None) -> ViesAnswer:
    """Check an EU VAT number in VIES (no database). Never raises for VIES being down, slow or
    answering nonsense: the answer is then ``unavailable`` with the reason in ``detail``."""
    from requests import RequestException
    from zeep.exceptions import Error as ZeepError
    from zeep.exceptions import Fault

    vat = vat_number_validate(country, number)
    if not vat.ok:
        return ViesAnswer(Result.INVALID, vat.country, (number or "").strip()[:20], detail=vat.problem)
    requester_vat = _requester_format(requester)
    requester_text = requester_vat.full if requester_vat else ""
    if settings.VIES_MODE == "offline":
        return ViesAnswer(
            Result.NOT_VERIFIED, vat.country, vat.number, requester=requester_text, detail=_("not verified: offline")
        )
    try:
        return _read(_call(vat, requester_vat), vat, requester_text)
    except Fault as fault:
        code = str(fault.message or "").strip()
        result = Result.INVALID if code in _INVALID_FAULTS else Result.UNAVAILABLE
        return ViesAnswer(
            result, vat.country, vat.number, requester=requester_text, detail=code[:300], raw={"fault": code}
        )
    except (RequestException, ZeepError, SyntaxError, ValueError, OSError) as exc:
        # Unreachable, timed out, an HTTP error, a WSDL or answer that is not what VIES sends.
        logger.warning("VIES unavailable: %s", exc.__class__.__name__)
        return ViesAnswer(
            Result.UNAVAILABLE,
            vat.country,
            vat.number,
            requester=requester_text,
            detail=_("VIES did not answer (%(reason)s).") % {"reason": exc.__class__.__name__},
        )


def _recent_valid(
    vat: VatNumberFormat, requester: str, tenant_id: int | None, max_age_days: int
) -> VatNumberCheck | None:
    since = timezone.now() - timedelta(days=max_age_days)
    checks = VatNumberCheck.objects.filter(
        country=vat.country, number=vat.number, result=Result.VALID, checked_at__gte=since
    )
    checks = checks.filter(tenant__isnull=True) if tenant_id is None else checks.filter(tenant_id=tenant_id)
    if requester:
        checks = checks.filter(requester=requester)
    return checks.order_by("-checked_at").first()


def _store(answer: ViesAnswer, tenant_id: int | None) -> VatNumberCheck:
    return VatNumberCheck.objects.create(
        tenant_id=tenant_id,
        country=answer.country,
        number=answer.number,
        result=answer.result,
        name=answer.name[:300],
        address=answer.address,
        consultation_reference=answer.consultation_reference[:60],
        request_date=answer.request_date,
        requester=answer.requester,
        detail=answer.detail[:300],
        raw=answer.raw,
    )


def vat_number_verify(
    *, country: str, number: str, requester: str | None = None, tenant_id: int | None = None
) -> VatNumberCheck:
    """The evidence for an EU buyer's VAT number: a valid check of the last
    ``settings.VIES_CACHE_DAYS`` days (same tenant, same requester when given) is reused; otherwise
    VIES is asked and the answer stored, whatever it is. Never raises for VIES being down."""
    vat = vat_number_validate(country, number)
    requester_vat = _requester_format(requester)
    if vat.ok:
        cached = _recent_valid(vat, requester_vat.full if requester_vat else "", tenant_id, settings.VIES_CACHE_DAYS)
        if cached is not None:
            return cached
    return _store(vat_number_check_vies(country, number, requester), tenant_id)


def vies_is_valid(check: VatNumberCheck) -> bool:
    """Whether a stored check lets the sale be treated as EU B2B (``decide_treatment``'s
    ``vies_verified``)."""
    return check.result == Result.VALID


__all__ = ["ViesAnswer", "vat_number_check_vies", "vat_number_verify", "vies_country", "vies_is_valid"]
