"""The selected company's catalogue: products and VAT types, read from Fatture in Cloud and kept
in the shared cache (each read costs quota), with the VAT type of each product completed.

Shapes follow docs/providers/fatture-in-cloud.md (§4 products, §5 VAT types).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.cache import cache
from django.utils import formats
from django.utils.translation import gettext

from brickinvoice.errors import ServiceError, describe
from invoicing.accounting import accounting_ready

from .cache import CATALOGUE_CACHE_SECONDS, catalogue_cache_clear, products_key, refusals_forget, vat_types_key
from .client import FattureClient
from .connection import company_lost_or, require_company
from .errors import FattureNotFound, FatturePermissionDenied
from .models import FattureConnection, ProductMapping

logger = logging.getLogger("fatture.catalogue")

# Errors that already say what to do; they are not re-labelled "Products Not Loading".
PASS_THROUGH = {"fatture_auth_failed", "fatture_not_connected", "no_company_selected", "company_not_found"}


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def percent(value: Decimal | None) -> str:
    """22 → "22 %", 5.50 → "5.5 %" ("5,5 %" in Italian), None → "none"."""
    if value is None:
        return gettext("none")
    return f"{formats.number_format(format(value.normalize(), 'f'), use_l10n=True)} %"


@dataclass(frozen=True)
class VatType:
    id: int
    value: Decimal | None
    description: str = ""
    ei_type: str = ""
    is_disabled: bool = False
    e_invoice: bool | None = None


@dataclass(frozen=True)
class Product:
    id: int
    name: str
    code: str = ""
    vat_id: int | None = None
    vat_value: Decimal | None = None
    vat_description: str = ""
    vat_ei_type: str = ""

    @property
    def label(self) -> str:
        code = f" ({self.code})" if self.code else ""
        nature = f" {self.vat_ei_type}" if self.vat_ei_type else ""
        return gettext("%(name)s%(code)s — VAT %(rate)s%(nature)s") % {
            "name": self.name,
            "code": code,
            "rate": percent(self.vat_value),
            "nature": nature,
        }


def _product(raw: dict) -> Product | None:
    if raw.get("id") is None:
        return None
    vat = raw.get("default_vat") or {}
    return Product(
        id=int(raw["id"]),
        name=str(raw.get("name") or f"Product {raw['id']}"),
        code=str(raw.get("code") or ""),
        vat_id=int(vat["id"]) if vat.get("id") is not None else None,
        vat_value=_decimal(vat.get("value")),
        vat_description=str(vat.get("description") or ""),
        vat_ei_type=str(vat.get("ei_type") or ""),
    )


def _vat_type(raw: dict) -> VatType | None:
    if raw.get("id") is None:
        return None
    return VatType(
        id=int(raw["id"]),
        value=_decimal(raw.get("value")),
        description=str(raw.get("description") or ""),
        # Opaque string (docs/providers/fatture-in-cloud.md §5): the spec example is a number, real
        # accounts show "N5"-style codes.
        ei_type=str(raw.get("ei_type") if raw.get("ei_type") is not None else ""),
        is_disabled=bool(raw.get("is_disabled")),
        e_invoice=raw.get("e_invoice") if isinstance(raw.get("e_invoice"), bool) else None,
    )


def _to_cache(items) -> list[dict]:
    return [{k: (str(v) if isinstance(v, Decimal) else v) for k, v in item.__dict__.items()} for item in items]


def _from_cache(cls, rows: list[dict]):
    out = []
    for row in rows:
        values = dict(row)
        for key in ("value", "vat_value"):
            if key in values:
                values[key] = _decimal(values[key])
        out.append(cls(**values))
    return out


def _load(connection: FattureConnection, what: str, fetch):
    """Run ``fetch(client)``; failures become Products Not Loading / Company Not Found."""
    require_company(connection)
    try:
        return fetch(FattureClient(connection))
    except (FattureNotFound, FatturePermissionDenied) as exc:
        raise company_lost_or(connection, exc, "products_not_loading") from exc
    except ServiceError as exc:
        if exc.transient or exc.code in PASS_THROUGH:
            raise
        raise ServiceError(
            f"{what}: {exc.detail or describe(exc.code).message}", code="products_not_loading", status=exc.status
        ) from exc


def products_list(*, connection: FattureConnection) -> list[Product]:
    """All products of the selected company (every page, 100 per page), cached per company."""
    company_id = require_company(connection)
    cached = cache.get(products_key(company_id))
    if cached is not None:
        return _from_cache(Product, cached)
    raw = _load(connection, "Products", lambda client: list(client.iter_pages(client.company_path("products"))))
    products = [p for p in (_product(r) for r in raw) if p]
    cache.set(products_key(company_id), _to_cache(products), CATALOGUE_CACHE_SECONDS)
    return products


def vat_types_list(*, connection: FattureConnection) -> list[VatType]:
    """The company's VAT types (not paginated, docs/providers/fatture-in-cloud.md §5), cached per
    company. Disabled ones included."""
    company_id = require_company(connection)
    cached = cache.get(vat_types_key(company_id))
    if cached is not None:
        return _from_cache(VatType, cached)
    answer = _load(connection, "VAT types", lambda client: client.get(client.company_path("info/vat_types")))
    vat_types = [v for v in (_vat_type(r) for r in answer.get("data") or []) if v]
    cache.set(vat_types_key(company_id), _to_cache(vat_types), CATALOGUE_CACHE_SECONDS)
    return vat_types


def catalogue(*, connection: FattureConnection) -> list[Product]:
    """Products with their VAT type completed from the VAT-types list (a product's ``default_vat``
    in list answers may carry only id/value/description, docs/providers/fatture-in-cloud.md §4). If
    the VAT types cannot be read, the products are still returned, without natura."""
    products = products_list(connection=connection)
    try:
        by_id = {v.id: v for v in vat_types_list(connection=connection)}
    except ServiceError as exc:
        if exc.code in PASS_THROUGH:
            raise
        logger.warning("fatture VAT types unavailable for company %s: %s", connection.company_id, exc.code)
        return products
    out = []
    for product in products:
        vat = by_id.get(product.vat_id) if product.vat_id is not None else None
        if vat:
            product = Product(
                id=product.id,
                name=product.name,
                code=product.code,
                vat_id=product.vat_id,
                vat_value=product.vat_value if product.vat_value is not None else vat.value,
                vat_description=product.vat_description or vat.description,
                vat_ei_type=product.vat_ei_type or vat.ei_type,
            )
        out.append(product)
    return out


def snapshot(mapping: ProductMapping, product: Product) -> None:
    """Copy what an invoice needs of ``product`` onto the mapping, so invoicing reads no API."""
    mapping.product_id = product.id
    mapping.product_name = product.name[:300]
    mapping.product_code = product.code[:100]
    mapping.vat_id = product.vat_id
    mapping.vat_value = product.vat_value
    mapping.vat_description = product.vat_description[:300]
    mapping.vat_ei_type = product.vat_ei_type[:20]


def products_refresh(*, connection: FattureConnection) -> list[Product]:
    """Forget the cached lists, read them again, and refresh the snapshots of mapped products."""
    company_id = require_company(connection)
    catalogue_cache_clear(company_id=company_id)
    refusals_forget(company_id=company_id)
    products = catalogue(connection=connection)
    by_id = {p.id: p for p in products}
    for mapping in ProductMapping.objects.filter(tenant=connection.tenant, company_id=company_id):
        product = by_id.get(mapping.product_id)
        if product:
            snapshot(mapping, product)
            mapping.save()
    accounting_ready.send(sender=ProductMapping, tenant=connection.tenant)
    return products
