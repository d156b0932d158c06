"""Creating, on the seller's request, the product a mapping slot lacks, with the VAT type the slot
expects (fatture/mapping.py), and mapping it to the slot when the slot is empty.

``POST /c/{cid}/products`` needs the ``products:a`` scope (docs/providers/fatture-in-cloud.md §4;
spec ``createProduct``: ``name`` required, ``default_vat`` names the VAT type by id). A grant made
before the scope was asked for answers 403 until the seller reconnects (``fatture_scope_missing``).
The names are Italian: they print on the invoices.
"""

from __future__ import annotations

from django.utils.translation import gettext

from accounts.models import Tenant
from brickinvoice.errors import ServiceError
from brickinvoice.shapes import member
from invoicing.accounting import Slot

from .cache import catalogue_cache_clear
from .catalogue import Product, VatType, _product, vat_types_list
from .client import FattureClient
from .connection import require_company
from .errors import FatturePermissionDenied, FattureScopeMissing
from .mapping import ExpectedVat, expected_vat, mapping_for, mapping_save
from .models import FattureConnection

# slot → (name, code) of the product created for it.
SLOT_PRODUCTS: dict[str, tuple[str, str]] = {
    Slot.STD_DOMESTIC: ("Mattoncini LEGO", "LEGO"),
    Slot.STD_EU: ("Mattoncini LEGO UE", "LEGO-UE"),
    Slot.STD_EXPORT: ("Mattoncini LEGO extra UE", "LEGO-EXTRA"),
    Slot.MARGIN_DOMESTIC: ("Mattoncini LEGO usati (regime del margine)", "LEGO-USATO"),
    Slot.MARGIN_EU: ("Mattoncini LEGO usati UE (regime del margine)", "LEGO-USATO-UE"),
    Slot.MARGIN_EXPORT: ("Mattoncini LEGO usati extra UE", "LEGO-USATO-EXTRA"),
    Slot.SHIPPING: ("Spedizione", "SPEDIZIONE"),
    Slot.HANDLING: ("Gestione ordine", "GESTIONE"),
}


def vat_type_for(vat_types: list[VatType], expected: ExpectedVat) -> VatType | None:
    """The company's enabled VAT type the slot expects: the rate, and one of its naturas (in
    alphabetical order) or, for a taxed slot, no natura."""
    usable = [v for v in vat_types if not v.is_disabled and v.value == expected.value]
    for natura in sorted(expected.natures):
        found = next((v for v in usable if (v.ei_type or "").strip().upper() == natura), None)
        if found is not None:
            return found
    if expected.natures:
        return None
    return next((v for v in usable if not (v.ei_type or "").strip().upper().startswith("N")), None)


def product_payload(*, name: str, code: str, vat: VatType) -> dict:
    default_vat: dict[str, object] = {"id": vat.id}
    if vat.value is not None:
        default_vat["value"] = float(vat.value)
    return {"data": {"name": name, "code": code, "net_price": 0, "measure": "pz", "default_vat": default_vat}}


def product_create(client: FattureClient, *, name: str, code: str, vat: VatType) -> Product:
    """Create the product and forget the cached catalogue so the mapping page sees it at once."""
    company_id = require_company(client.connection)
    try:
        answer = client.post(client.company_path("products"), json=product_payload(name=name, code=code, vat=vat))
    except FatturePermissionDenied as exc:
        raise FattureScopeMissing(exc.detail, status=exc.status) from exc
    data = member(answer, "data")
    created = _product(data) if isinstance(data, dict) else None
    if created is None:
        raise ServiceError(gettext("Fatture in Cloud did not return the new product."), code="fatture_unavailable")
    catalogue_cache_clear(company_id=company_id)
    # The answer may carry only the VAT id: the created product has the type we chose.
    return Product(created.id, created.name, created.code, vat.id, vat.value, vat.description, vat.ei_type)


def slot_product_create(*, tenant: Tenant, connection: FattureConnection, slot: str) -> Product:
    """Create the product ``slot`` needs with the VAT type it expects, and map it when the slot
    has no product. Raises ``ValueError`` for an unknown slot and ``vat_type_missing`` when the
    company lacks the VAT type (the mapping page offers to create it first)."""
    Slot(slot)
    expected = expected_vat(tenant=tenant)[slot]
    vat = vat_type_for(vat_types_list(connection=connection), expected)
    if vat is None:
        natura = " / ".join(sorted(expected.natures)) or "—"
        raise ServiceError(code="vat_type_missing", rate=expected.value.normalize(), natura=natura)
    name, code = SLOT_PRODUCTS[slot]
    product = product_create(FattureClient(connection), name=name, code=code, vat=vat)
    if slot not in mapping_for(tenant=tenant, connection=connection):
        mapping_save(connection=connection, choices={slot: product.id}, products=[product], subject=None)
    return product
