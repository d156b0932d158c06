"""Which Fatture in Cloud product stands behind each invoice slot: the VAT each slot expects, the
check of the seller's mapping against the live catalogue, and saving it with a snapshot of each
product (so invoicing reads no API to build an invoice).

The VAT expectations follow docs/tax.md (decision table §0, shipping §10, natura §12, forfettario
§13).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext

from accounts.choices import MarginRule
from accounts.models import Tenant
from accounts.services import settings_for
from brickinvoice.errors import ErrorBox, ServiceError
from invoicing.accounting import MARGIN_SLOTS, MappedProduct, Slot, accounting_ready, slot_label

from .cache import refusals_forget
from .catalogue import Product, catalogue, percent, snapshot
from .connection import connection_for, connection_issue, require_company
from .models import FattureConnection, ProductMapping

# Standard VAT rate of the seller's country for goods (docs/tax.md §1). Only Italy is supported.
DOMESTIC_STANDARD_RATE = {"IT": Decimal("22")}
ZERO = Decimal("0")


@dataclass(frozen=True)
class ExpectedVat:
    value: Decimal
    natures: frozenset[str] = field(default_factory=frozenset)  # acceptable natura codes; empty = any

    @property
    def label(self) -> str:
        if not self.natures:
            return percent(self.value)
        natures = gettext(" or ").join(sorted(self.natures))
        return f"{percent(self.value)} ({natures})"


def expected_vat(*, tenant: Tenant) -> dict[str, ExpectedVat]:
    """The VAT each slot's product should carry, from the seller's settings (docs/tax.md):

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
    # ei_type is opaque (docs/providers/fatture-in-cloud.md §5); only a FatturaPA-style code
    # ("N5", "N3.1") can be compared.
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
    if connection is None and tenant is not None:
        connection = connection_for(tenant=tenant)
    if not connection or not connection.company_id:
        return {}
    rows = ProductMapping.objects.filter(tenant_id=connection.tenant_id, company_id=connection.company_id)
    return {row.slot: row for row in rows}


@transaction.atomic
def mapping_save(
    *,
    connection: FattureConnection,
    choices: dict[str, int | None],
    products: list[Product],
    subject: str | None,
    accepted: set[str] | None = None,
) -> None:
    """Store the product chosen for each slot (None clears it) with a snapshot of the product.
    ``accepted``: the slots whose VAT mismatch the seller accepts; an acceptance holds only for the
    product it was given for, so choosing another product asks again."""
    company_id = require_company(connection)
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
        same_product = mapping is not None and mapping.product_id == product.id
        mapping = mapping or ProductMapping(tenant=connection.tenant, company_id=company_id, slot=slot)
        snapshot(mapping, product)
        if accepted is not None:
            mapping.mismatch_accepted = same_product and slot in accepted
        mapping.save()
    refusals_forget(company_id=company_id)
    if subject is not None:
        connection.invoice_subject = subject.strip()[:300]
        connection.save(update_fields=["invoice_subject", "updated_at"])
    transaction.on_commit(lambda: accounting_ready.send(sender=ProductMapping, tenant=connection.tenant))


def mapping_check(*, tenant: Tenant) -> list[ErrorBox]:
    """Everything that would stop or falsify an invoice because of the mapping: no connection or
    company, unmapped required slots, mapped products that no longer exist, and VAT mismatches
    against the seller's settings. Reads products from the (cached) catalogue."""
    connection = connection_for(tenant=tenant)
    problem = connection_issue(connection=connection)
    if problem or connection is None:
        return [problem or ErrorBox.of("fatture_not_connected")]
    mappings = mapping_for(tenant=tenant, connection=connection)
    issues = [
        ErrorBox.of("slot_not_mapped", at=slot, slot=slot_label(slot))
        for slot in required_slots(tenant=tenant)
        if slot not in mappings
    ]
    try:
        live = {p.id: p for p in catalogue(connection=connection)}
    except ServiceError as exc:
        return [ErrorBox.from_exception(exc), *issues]
    expectations = expected_vat(tenant=tenant)
    for slot in Slot.values:
        mapping = mappings.get(slot)
        if mapping is None:
            continue
        product = live.get(mapping.product_id)
        if product is None:
            issues.append(
                ErrorBox.of("product_not_found", at=slot, product_id=mapping.product_id, slot=slot_label(slot))
            )
            continue
        expected = expectations[slot]
        if mapping.mismatch_accepted:
            continue
        if not vat_matches(expected=expected, value=product.vat_value, ei_type=product.vat_ei_type):
            issues.append(
                ErrorBox.of(
                    "vat_rate_mismatch",
                    at=slot,
                    product=product.name,
                    slot=slot_label(slot),
                    actual=_actual_label(expected, product.vat_value, product.vat_ei_type),
                    expected=expected.label,
                )
            )
    order = {slot: i for i, slot in enumerate(Slot.values)}
    return sorted(issues, key=lambda i: order.get(i.at, -1))


def slot_products(*, connection: FattureConnection) -> dict[str, MappedProduct]:
    """The mapped product of each slot for the selected company, from the stored snapshots (no API
    call), each with how its VAT differs from what the slot expects unless the seller accepted it.
    A product with no VAT type is left out, so the invoice plan reports the slot as not mapped
    instead of sending no VAT."""
    expectations = expected_vat(tenant=connection.tenant)
    products = {}
    for slot, m in mapping_for(tenant=None, connection=connection).items():
        if m.vat_id is None or m.vat_value is None:
            continue
        expected = expectations[slot]
        fits = m.mismatch_accepted or vat_matches(expected=expected, value=m.vat_value, ei_type=m.vat_ei_type)
        products[slot] = MappedProduct(
            product_id=m.product_id,
            name=m.product_name,
            code=m.product_code,
            vat_id=m.vat_id,
            vat_value=m.vat_value,
            natura=m.vat_ei_type,
            mismatch="" if fits else _actual_label(expected, m.vat_value, m.vat_ei_type),
            expected="" if fits else expected.label,
        )
    return products


def mapping_health_issue(*, tenant: Tenant, connection: FattureConnection) -> ErrorBox | None:
    """The first required slot without a product, for the dashboard (database only)."""
    mapped = mapping_for(tenant=tenant, connection=connection)
    missing = [slot for slot in required_slots(tenant=tenant) if slot not in mapped]
    return ErrorBox.of("slot_not_mapped", at=missing[0], slot=slot_label(missing[0])) if missing else None
