"""Fatture in Cloud services: connect, company, products and VAT types, product mapping, disconnect.

Views stay thin and call these; invoicing reaches them through fatture.backend. Shapes follow
../shared/reference/fatture-in-cloud (README §2 OAuth, §2.6 user, §2.7 companies, §3 paging,
§4 products, §5 VAT types) and the VAT expectations italian-vat.md (§0, §10, §12, §13).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from accounts.choices import MarginRule
from accounts.models import Tenant
from accounts.services import preregistration_is_approved, settings_for
from brickinvoice.errors import ServiceError, describe

from . import oauth
from .client import FattureClient, get_with_token
from .errors import FattureNotFound, FatturePermissionDenied, NoCompanySelected
from .models import FattureConnection, ProductMapping
from .slots import MARGIN_SLOTS, Slot, slot_label

logger = logging.getLogger("fatture.services")

CATALOGUE_CACHE_SECONDS = 600  # products and VAT types change rarely; each read costs quota (§10.3)
PER_PAGE = 100  # the API maximum; the spec default is 5 (§3)
MAX_PAGES = 500  # a guard against a provider that never reports its last page
# Errors that already say what to do; they are not re-labelled "Products Not Loading".
_PASS_THROUGH = {"fatture_auth_failed", "fatture_not_connected", "no_company_selected", "company_not_found"}


# --- typed results ------------------------------------------------------------------------------


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def percent(value: Decimal | None) -> str:
    """22 → "22 %", 5.50 → "5.5 %", None → "none"."""
    if value is None:
        return "none"
    return f"{format(value.normalize(), 'f')} %"


@dataclass(frozen=True)
class Company:
    id: int
    name: str
    type: str = "company"
    vat_number: str = ""
    tax_code: str = ""
    fic_plan: str = ""
    license_expire: date | None = None
    controlled_by: str = ""  # the accountant's studio, for a controlled company

    @property
    def license_expired(self) -> bool:
        return bool(self.license_expire and self.license_expire < timezone.localdate())

    @property
    def label(self) -> str:
        via = f" (via {self.controlled_by})" if self.controlled_by else ""
        return f"{self.name}{via}"


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
        return f"{self.name}{code} — VAT {percent(self.vat_value)}{nature}"


@dataclass(frozen=True)
class ExpectedVat:
    value: Decimal
    natures: frozenset[str] = field(default_factory=frozenset)  # acceptable natura codes; empty = any

    @property
    def label(self) -> str:
        if not self.natures:
            return percent(self.value)
        return f"{percent(self.value)} ({' or '.join(sorted(self.natures))})"


@dataclass(frozen=True)
class MappingIssue:
    """One problem with the mapping, shaped for templates/partials/error.html."""

    code: str
    slot: str
    message: str
    hint: str
    detail: str = ""


def _issue(code: str, *, at: str = "", detail: str = "", **params) -> MappingIssue:
    """An issue of ``code`` at slot ``at``; ``params`` fill the catalogue message."""
    text = describe(code, **params)
    return MappingIssue(code=code, slot=at, message=text.message, hint=text.hint, detail=detail)


# --- connection ---------------------------------------------------------------------------------


def connection_for(*, tenant: Tenant) -> FattureConnection | None:
    return FattureConnection.objects.filter(tenant=tenant).first()


def _connect_failed(detail: str, exc: Exception | None = None) -> ServiceError:
    error = ServiceError(detail, code="fatture_connect_failed", status=getattr(exc, "status", None))
    error.__cause__ = exc
    return error


def connection_complete(*, tenant: Tenant, code: str, redirect_uri: str) -> FattureConnection:
    """Finish the OAuth flow: exchange the code, read the user's e-mail, check pre-registration,
    then store the tokens (encrypted). An e-mail that is not approved raises ``email_not_registered``
    and the tokens are dropped without ever being stored."""
    try:
        tokens = oauth.token_from_code(code=code, redirect_uri=redirect_uri)
    except ServiceError as exc:
        raise _connect_failed(f"The authorization code was not accepted ({exc.detail or exc.code}).", exc) from exc
    try:
        info = get_with_token(tokens.access_token, "/user/info")
    except ServiceError as exc:
        raise _connect_failed(f"Could not read the Fatture in Cloud user ({exc.detail or exc.code}).", exc) from exc
    user = info.get("data") or {}
    email = str(user.get("email") or "").strip()
    if not email:
        raise _connect_failed("Fatture in Cloud did not tell us the e-mail of this login.")
    if (info.get("email_confirmation_state") or {}).get("need_confirmation"):
        raise _connect_failed(f"The e-mail {email} is not confirmed yet in Fatture in Cloud; confirm it there first.")
    if not preregistration_is_approved(email):
        raise ServiceError(
            f"The Fatture in Cloud login {email} is not on the pre-registration list.",
            code="email_not_registered",
            email=email,
        )
    with transaction.atomic():
        connection, _ = FattureConnection.objects.select_for_update().get_or_create(tenant=tenant)
        connection.status = FattureConnection.Status.CONNECTED
        connection.access_token = tokens.access_token
        connection.refresh_token = tokens.refresh_token
        connection.token_expires_at = tokens.expires_at
        connection.fatture_email = email.lower()
        connection.fatture_user_name = str(user.get("name") or "")[:200]
        connection.connected_at = timezone.now()
        connection.last_error_code = connection.last_error_message = connection.last_error_detail = ""
        connection.save()
    logger.info("fatture connected tenant=%s connection=%s", tenant.public_id, connection.public_id)
    return connection


def _record_error(connection: FattureConnection, code: str, detail: str = "") -> None:
    connection.last_error_code = code
    connection.last_error_message = describe(code).message
    connection.last_error_detail = (detail or "")[:2000]
    connection.save(update_fields=["last_error_code", "last_error_message", "last_error_detail", "updated_at"])


def _require_company(connection: FattureConnection) -> int:
    if not connection.company_id:
        raise NoCompanySelected()
    return connection.company_id


def connection_disconnect(*, connection: FattureConnection) -> None:
    """Forget the tokens. We create no webhook subscriptions, so there are none to delete, and
    Fatture has no revoke endpoint (§2.3): the seller removes the app's access on Fatture's side.
    The pre-registration, the company, the mappings and every invoice stay as they are."""
    connection.status = FattureConnection.Status.DISCONNECTED
    connection.access_token = ""
    connection.refresh_token = ""
    connection.token_expires_at = None
    connection.last_error_code = connection.last_error_message = connection.last_error_detail = ""
    connection.save()
    if connection.company_id:
        catalogue_cache_clear(company_id=connection.company_id)
    logger.info("fatture disconnected connection=%s", connection.public_id)


# --- companies ----------------------------------------------------------------------------------


def _parse_date(value) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _company(raw: dict, controlled_by: str = "") -> Company | None:
    if raw.get("id") is None:
        return None
    return Company(
        id=int(raw["id"]),
        name=str(raw.get("name") or f"Company {raw['id']}"),
        type=str(raw.get("type") or "company"),
        vat_number=str(raw.get("vat_number") or ""),
        tax_code=str(raw.get("tax_code") or ""),
        fic_plan=str(raw.get("fic_plan") or ""),
        license_expire=_parse_date(raw.get("fic_license_expire")),
        controlled_by=controlled_by,
    )


def companies_list(*, connection: FattureConnection) -> list[Company]:
    """Every company the user can invoice from: its own and, for an accountant, the controlled
    companies nested in ``controlled_companies`` (§2.7), flattened, each id once."""
    answer = FattureClient(connection).get("/user/companies")
    companies: dict[int, Company] = {}
    for raw in (answer.get("data") or {}).get("companies") or []:
        own = _company(raw)
        if own and own.id not in companies:
            companies[own.id] = own
        for inner in raw.get("controlled_companies") or []:
            controlled = _company(inner, controlled_by=own.name if own else "")
            if controlled and controlled.id not in companies:
                companies[controlled.id] = controlled
    return list(companies.values())


def company_select(*, connection: FattureConnection, company_id: int) -> Company:
    """Save the company invoices are issued from; it must be one the user can reach."""
    company = next((c for c in companies_list(connection=connection) if c.id == int(company_id)), None)
    if company is None:
        raise ServiceError(f"Company {company_id} is not among this user's companies.", code="company_not_found")
    connection.company_id = company.id
    connection.company_name = company.name[:300]
    connection.last_error_code = connection.last_error_message = connection.last_error_detail = ""
    connection.save(
        update_fields=[
            "company_id",
            "company_name",
            "last_error_code",
            "last_error_message",
            "last_error_detail",
            "updated_at",
        ]
    )
    return company


def company_check(*, connection: FattureConnection) -> bool:
    """False (and ``company_not_found`` stored on the connection) when the saved company is gone."""
    if not connection.company_id:
        return False
    if any(c.id == connection.company_id for c in companies_list(connection=connection)):
        return True
    _record_error(connection, "company_not_found", f"Company {connection.company_id} is no longer listed.")
    return False


def _company_lost_or(connection: FattureConnection, exc: ServiceError, code: str) -> ServiceError:
    """A 403/404 on a company call: Company Not Found if the company is gone, else ``code``."""
    try:
        still_there = company_check(connection=connection)
    except ServiceError:
        still_there = True  # cannot tell; report the original failure
    if not still_there:
        return ServiceError(exc.detail, code="company_not_found", status=exc.status)
    return ServiceError(exc.detail or describe(exc.code).message, code=code, status=exc.status)


# --- products and VAT types ---------------------------------------------------------------------


def _products_key(company_id: int) -> str:
    return f"fatture:products:{company_id}"


def _vat_types_key(company_id: int) -> str:
    return f"fatture:vat-types:{company_id}"


def catalogue_cache_clear(*, company_id: int) -> None:
    cache.delete_many([_products_key(company_id), _vat_types_key(company_id)])


def _all_pages(client: FattureClient, path: str) -> list[dict]:
    """Every item of a paginated list: page by page until current_page reaches last_page (§3);
    when last_page is missing, until next_page_url is empty."""
    items: list[dict] = []
    page = 1
    for _ in range(MAX_PAGES):
        answer = client.get(path, params={"per_page": PER_PAGE, "page": page})
        data = answer.get("data") or []
        items.extend(data)
        current = int(answer.get("current_page") or page)
        last = answer.get("last_page")
        if last is not None:
            if current >= int(last):
                break
        elif not answer.get("next_page_url") or not data:
            break
        page = current + 1
    return items


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
        # Opaque string (§5): the spec example is a number, real accounts show "N5"-style codes.
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
    _require_company(connection)
    try:
        return fetch(FattureClient(connection))
    except (FattureNotFound, FatturePermissionDenied) as exc:
        raise _company_lost_or(connection, exc, "products_not_loading") from exc
    except ServiceError as exc:
        if exc.transient or exc.code in _PASS_THROUGH:
            raise
        raise ServiceError(
            f"{what}: {exc.detail or describe(exc.code).message}", code="products_not_loading", status=exc.status
        ) from exc


def products_list(*, connection: FattureConnection) -> list[Product]:
    """All products of the selected company (every page, 100 per page), cached per company."""
    company_id = _require_company(connection)
    cached = cache.get(_products_key(company_id))
    if cached is not None:
        return _from_cache(Product, cached)
    raw = _load(connection, "Products", lambda client: _all_pages(client, client.company_path("products")))
    products = [p for p in (_product(r) for r in raw) if p]
    cache.set(_products_key(company_id), _to_cache(products), CATALOGUE_CACHE_SECONDS)
    return products


def vat_types_list(*, connection: FattureConnection) -> list[VatType]:
    """The company's VAT types (not paginated, §5), cached per company. Disabled ones included."""
    company_id = _require_company(connection)
    cached = cache.get(_vat_types_key(company_id))
    if cached is not None:
        return _from_cache(VatType, cached)
    answer = _load(connection, "VAT types", lambda client: client.get(client.company_path("info/vat_types")))
    vat_types = [v for v in (_vat_type(r) for r in answer.get("data") or []) if v]
    cache.set(_vat_types_key(company_id), _to_cache(vat_types), CATALOGUE_CACHE_SECONDS)
    return vat_types


def catalogue(*, connection: FattureConnection) -> list[Product]:
    """Products with their VAT type completed from the VAT-types list (a product's ``default_vat``
    in list answers may carry only id/value/description, §4). If the VAT types cannot be read, the
    products are still returned, without natura."""
    products = products_list(connection=connection)
    try:
        by_id = {v.id: v for v in vat_types_list(connection=connection)}
    except ServiceError as exc:
        if exc.code in _PASS_THROUGH:
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


def products_refresh(*, connection: FattureConnection) -> list[Product]:
    """Forget the cached lists, read them again, and refresh the snapshots of mapped products."""
    catalogue_cache_clear(company_id=_require_company(connection))
    products = catalogue(connection=connection)
    by_id = {p.id: p for p in products}
    for mapping in ProductMapping.objects.filter(tenant=connection.tenant, company_id=connection.company_id):
        product = by_id.get(mapping.product_id)
        if product:
            _snapshot(mapping, product)
            mapping.save()
    return products


# --- product mapping ----------------------------------------------------------------------------

# Standard VAT rate of the seller's country for goods (italian-vat.md §1). Only Italy is supported.
DOMESTIC_STANDARD_RATE = {"IT": Decimal("22")}
ZERO = Decimal("0")


def expected_vat(*, tenant: Tenant) -> dict[str, ExpectedVat]:
    """The VAT each slot's product should carry, from the seller's settings (italian-vat.md):

    - VAT-registered seller: domestic and EU goods at the domestic rate (EU B2C below the OSS
      threshold is Italian VAT, §3); exports 0 % non-taxable, natura N3.1 (§4); margin goods
      0 % with natura N5, VAT not shown (§5.2), exports of margin goods N3.1 [UNCONFIRMED] or N5;
      shipping and handling follow the domestic rate (§10).
    - Forfettario (not VAT-registered): no VAT anywhere, natura N2.2 (§13).
    """
    seller = settings_for(tenant)
    if not seller.vat_registered:
        none = ExpectedVat(ZERO, frozenset({"N2.2"}))
        return {slot: none for slot in Slot.values}
    rate = DOMESTIC_STANDARD_RATE.get(str(seller.country), Decimal("22"))
    domestic = ExpectedVat(rate)
    return {
        Slot.STD_DOMESTIC: domestic,
        Slot.STD_EU: domestic,
        Slot.STD_EXPORT: ExpectedVat(ZERO, frozenset({"N3.1"})),
        Slot.MARGIN_DOMESTIC: ExpectedVat(ZERO, frozenset({"N5"})),
        Slot.MARGIN_EU: ExpectedVat(ZERO, frozenset({"N5"})),
        Slot.MARGIN_EXPORT: ExpectedVat(ZERO, frozenset({"N3.1", "N5"})),
        Slot.SHIPPING: domestic,
        Slot.HANDLING: domestic,
    }


def required_slots(*, tenant: Tenant) -> list[str]:
    """Margin slots are needed only when the seller uses the margin scheme."""
    margin = settings_for(tenant).margin_rule != MarginRule.OFF
    return [slot for slot in Slot.values if margin or slot not in MARGIN_SLOTS]


def _nature_known(ei_type: str) -> bool:
    # ei_type is opaque (§5); only a FatturaPA-style code ("N5", "N3.1") can be compared.
    return ei_type.upper().startswith("N")


def vat_matches(*, expected: ExpectedVat, value: Decimal | None, ei_type: str) -> bool:
    if value is None or value != expected.value:
        return False
    if expected.natures and _nature_known(ei_type):
        return ei_type.upper() in expected.natures
    return True


def _actual_label(expected: ExpectedVat, value: Decimal | None, ei_type: str) -> str:
    if expected.natures and _nature_known(ei_type):
        return f"{percent(value)} ({ei_type})"
    return percent(value)


def mapping_for(*, tenant: Tenant | None, connection: FattureConnection | None = None) -> dict[str, ProductMapping]:
    """The mappings of the tenant's currently selected company, by slot (pass ``connection`` when
    it is already loaded, to save the query)."""
    connection = connection or connection_for(tenant=tenant)
    if not connection or not connection.company_id:
        return {}
    rows = ProductMapping.objects.filter(tenant_id=connection.tenant_id, company_id=connection.company_id)
    return {row.slot: row for row in rows}


def _snapshot(mapping: ProductMapping, product: Product) -> None:
    mapping.product_id = product.id
    mapping.product_name = product.name[:300]
    mapping.product_code = product.code[:100]
    mapping.vat_id = product.vat_id
    mapping.vat_value = product.vat_value
    mapping.vat_description = product.vat_description[:300]
    mapping.vat_ei_type = product.vat_ei_type[:20]


@transaction.atomic
def mapping_save(
    *, connection: FattureConnection, choices: dict[str, int | None], products: list[Product], subject: str | None
) -> None:
    """Store the product chosen for each slot (None clears it) with a snapshot of the product."""
    company_id = _require_company(connection)
    by_id = {p.id: p for p in products}
    for slot, product_id in choices.items():
        Slot(slot)  # unknown slots are a programming error
        if product_id is None:
            ProductMapping.objects.filter(tenant=connection.tenant, company_id=company_id, slot=slot).delete()
            continue
        mapping = ProductMapping.objects.filter(tenant=connection.tenant, company_id=company_id, slot=slot).first()
        product = by_id.get(int(product_id))
        if product is None:
            if mapping and mapping.product_id == int(product_id):
                continue  # unchanged; mapping_check keeps reporting it as not found
            raise ServiceError(code="product_not_found", product_id=product_id, slot=slot_label(slot))
        mapping = mapping or ProductMapping(tenant=connection.tenant, company_id=company_id, slot=slot)
        _snapshot(mapping, product)
        mapping.save()
    if subject is not None:
        connection.invoice_subject = subject.strip()[:300]
        connection.save(update_fields=["invoice_subject", "updated_at"])


def connection_issue(*, connection: FattureConnection | None) -> MappingIssue | None:
    """Why nothing can be mapped or invoiced yet (not connected, needs reconnecting, no company), or None."""
    if connection is None or connection.status == FattureConnection.Status.DISCONNECTED:
        return _issue("fatture_not_connected")
    if connection.status == FattureConnection.Status.NEEDS_RECONNECT:
        return _issue("fatture_auth_failed")
    if not connection.company_id:
        return _issue("no_company_selected")
    return None


def mapping_check(*, tenant: Tenant) -> list[MappingIssue]:
    """Everything that would stop or falsify an invoice because of the mapping: no connection or
    company, unmapped required slots, mapped products that no longer exist, and VAT mismatches
    against the seller's settings. Reads products from the (cached) catalogue."""
    connection = connection_for(tenant=tenant)
    problem = connection_issue(connection=connection)
    if problem:
        return [problem]
    mappings = mapping_for(tenant=tenant)
    issues = [
        _issue("slot_not_mapped", at=slot, slot=slot_label(slot))
        for slot in required_slots(tenant=tenant)
        if slot not in mappings
    ]
    try:
        live = {p.id: p for p in catalogue(connection=connection)}
    except ServiceError as exc:
        return [_issue(exc.code, detail=exc.detail, **exc.params), *issues]
    expectations = expected_vat(tenant=tenant)
    for slot in Slot.values:
        mapping = mappings.get(slot)
        if mapping is None:
            continue
        product = live.get(mapping.product_id)
        if product is None:
            issues.append(_issue("product_not_found", at=slot, product_id=mapping.product_id, slot=slot_label(slot)))
            continue
        expected = expectations[slot]
        if not vat_matches(expected=expected, value=product.vat_value, ei_type=product.vat_ei_type):
            issues.append(
                _issue(
                    "vat_rate_mismatch",
                    at=slot,
                    product=product.name,
                    slot=slot_label(slot),
                    actual=_actual_label(expected, product.vat_value, product.vat_ei_type),
                    expected=expected.label,
                )
            )
    order = {slot: i for i, slot in enumerate(Slot.values)}
    return sorted(issues, key=lambda i: order.get(i.slot, -1))


def slot_products(*, tenant: Tenant | None, connection: FattureConnection | None = None) -> dict[str, dict]:
    """The mapped product of each slot for the selected company, from the stored snapshots (no API
    call): ``{slot: {product_id, name, code, vat_id, vat_value}}``. A product with no VAT type is
    left out, so the invoice plan reports the slot as not mapped instead of sending no VAT."""
    return {
        slot: {
            "product_id": m.product_id,
            "name": m.product_name,
            "code": m.product_code,
            "vat_id": m.vat_id,
            "vat_value": m.vat_value,
        }
        for slot, m in mapping_for(tenant=tenant, connection=connection).items()
        if m.vat_id is not None and m.vat_value is not None
    }


def fatture_health(*, tenant: Tenant) -> dict:
    """One status row for the dashboard, from the database only (no API call):
    ``{label, ok, status, detail, hint}``."""
    connection = connection_for(tenant=tenant)
    label = "Fatture in Cloud"
    problem = connection_issue(connection=connection)
    if problem:
        status = {
            "fatture_not_connected": "Not connected",
            "fatture_auth_failed": "Needs reconnecting",
            "no_company_selected": "No company selected",
        }[problem.code]
        return {"label": label, "ok": False, "status": status, "detail": problem.message, "hint": problem.hint}
    label = f"Fatture in Cloud — {connection.company_name or connection.company_id}"
    if connection.last_error_code:
        err = connection.last_error
        return {"label": label, "ok": False, "status": "Needs attention", "detail": err["message"], "hint": err["hint"]}
    missing = [slot for slot in required_slots(tenant=tenant) if slot not in mapping_for(tenant=tenant)]
    if missing:
        text = describe("slot_not_mapped", slot=slot_label(missing[0]))
        return {
            "label": label,
            "ok": False,
            "status": "Product mapping incomplete",
            "detail": text.message,
            "hint": text.hint,
        }
    return {"label": label, "ok": True, "status": "Connected", "detail": "", "hint": ""}
