"""Creating a VAT type in the selected company, for the mapping page's "create the missing VAT
type" offer (e.g. 0 % N3.2 for EU business sales, 0 % N5 for the margin scheme).

``POST /c/{cid}/settings/vat_types`` needs the ``settings:a`` scope (docs/providers/fatture-in-cloud.md
§5.2, §2.4); VAT types are looked up by value and natura, never by id (§5.2, docs/tax.md §12.2).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext

from brickinvoice.errors import ServiceError
from brickinvoice.shapes import member

from .cache import catalogue_cache_clear
from .catalogue import VatType, _vat_type
from .errors import FatturePermissionDenied, FattureScopeMissing

# FatturaPA Natura codes in force since 2021: the generic N2, N3 and N6 are refused (docs/tax.md §7.5).
NATURE = re.compile(r"^N(1|2\.[12]|3\.[1-6]|4|5|6\.[1-9]|7)$")


def vat_type_payload(*, value, natura: str, description: str, notes: str, ei_description: str) -> dict:
    """The create body. A 0 % type needs a natura and a non-zero one must have none: SDI rejects
    the opposite with 00400 / 00401 (docs/providers/fatture-in-cloud.md §8.6). Raises ``ValueError`` on such
    a combination."""
    try:
        rate = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"not a VAT rate: {value!r}") from exc
    if not 0 <= rate <= 100:
        raise ValueError(f"VAT rate out of range: {rate}")
    natura = (natura or "").strip().upper()
    if rate == 0 and not NATURE.match(natura):
        raise ValueError(f"a 0 % VAT type needs a valid natura (N1…N7 with sub-code), not {natura!r}")
    if rate != 0 and natura:
        raise ValueError("a VAT type above 0 % has no natura")
    data = {
        "value": float(rate),
        "description": str(description).strip()[:100],
        "notes": str(notes).strip(),
        "e_invoice": True,
        "ei_description": str(ei_description).strip()[:100],
        "is_disabled": False,
    }
    if natura:
        data["ei_type"] = natura
    return {"data": data}


def vat_type_create(client, *, value, natura: str, description: str, notes: str, ei_description: str) -> VatType:
    """Create the VAT type and forget the cached catalogue so the mapping page sees it at once.
    ``notes`` is the legal wording printed on documents. A 403 means the grant predates
    ``settings:a`` (``fatture_scope_missing``)."""
    body = vat_type_payload(
        value=value, natura=natura, description=description, notes=notes, ei_description=ei_description
    )
    try:
        answer = client.post(client.company_path("settings/vat_types"), json=body)
    except FatturePermissionDenied as exc:
        raise FattureScopeMissing(exc.detail, status=exc.status) from exc
    data = member(answer, "data")
    created = _vat_type(data) if data else None
    if created is None:
        raise ServiceError(gettext("Fatture in Cloud did not return the new VAT type."), code="fatture_unavailable")
    catalogue_cache_clear(company_id=client.company_id)
    return created


def vat_type_find(vat_types, *, value, natura: str = "") -> VatType | None:
    """The first enabled VAT type with this rate and natura (letter case ignored), or None."""
    try:
        rate = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    natura = (natura or "").strip().upper()
    for vat in vat_types:
        if vat.is_disabled or vat.value is None or vat.value != rate:
            continue
        if (vat.ei_type or "").strip().upper() == natura:
            return vat
    return None
