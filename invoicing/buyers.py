"""What the seller records about a marketplace buyer (``Buyer``): an EU VAT number checked in VIES
(an EU business is invoiced under art. 41), an Italian business's P.IVA with its SdI code or PEC,
or an Italian private buyer's codice fiscale (an e-invoice needs one). The marketplaces give none
of these (docs/tax.md §1.2, §2). Saving puts back the invoices that waited for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Max, Q, QuerySet
from django.utils.translation import gettext as _

from accounts.models import Tenant
from accounts.services import settings_for
from marketplaces.models import Order
from taxes.identifiers import codice_fiscale_validate, partita_iva_validate, vat_number_validate
from taxes.vies import vat_number_verify

from .customers import CODE_PREFIX, customer_code
from .models import Buyer, Invoice
from .queueing import reopen

# Invoices that waited for what the seller records here go back to the queue when it is saved.
WAITING_FOR_BUYER = ("codice_fiscale_needed", "einvoice_buyer_incomplete", "vies_unavailable")


@dataclass(frozen=True)
class KnownBuyer:
    code: str
    name: str
    country: str
    orders: int
    record: Buyer | None


def known_buyers(*, tenant: Tenant, query: str = "") -> list[KnownBuyer]:
    """The buyers of the tenant's orders (newest first), with what the seller recorded about them."""
    orders: QuerySet[Order] = Order.objects.filter(tenant=tenant)
    if query:
        orders = orders.filter(Q(buyer_username__icontains=query) | Q(buyer_name__icontains=query))
    rows = (
        orders.values("marketplace", "buyer_username", "buyer_name", "ship_country")
        .annotate(n=Count("id"), last=Max("ordered_at"))
        .order_by("-last")[:200]
    )
    records = {b.code: b for b in Buyer.objects.filter(tenant=tenant)}
    buyers = []
    for row in rows:
        prefix = CODE_PREFIX.get(row["marketplace"], row["marketplace"].upper())
        code = f"{prefix}-{(row['buyer_username'] or row['buyer_name'] or 'unknown').strip()}"[:120]
        buyers.append(KnownBuyer(code, row["buyer_name"], row["ship_country"], row["n"], records.get(code)))
    return buyers


def buyer_country(*, tenant: Tenant, code: str) -> str:
    """The country the buyer's latest order ships to (where the VAT number must come from)."""
    for order in Order.objects.filter(tenant=tenant).order_by("-ordered_at")[:500]:
        if customer_code(order) == code:
            return order.ship_country
    return ""


@dataclass
class Checked:
    values: dict[str, str]
    problems: dict[str, str]


def buyer_check(*, country: str, vat_number: str, codice_fiscale: str, sdi_code: str, pec: str) -> Checked:
    """Validate what the seller typed (offline: format and check digits); problems by field."""
    values = {"vat_number": "", "codice_fiscale": "", "sdi_code": sdi_code.strip().upper(), "pec": pec.strip()}
    problems: dict[str, str] = {}
    if vat_number.strip():
        if country == "IT":
            checked = partita_iva_validate(vat_number)
            values["vat_number"], problem = checked.value, checked.problem
        else:
            fmt = vat_number_validate(country, vat_number)
            values["vat_number"], problem = (fmt.full if fmt.ok else ""), fmt.problem
        if problem:
            problems["vat_number"] = problem
    if codice_fiscale.strip():
        cf = codice_fiscale_validate(codice_fiscale)
        values["codice_fiscale"] = cf.value
        if cf.problem:
            problems["codice_fiscale"] = cf.problem
    if values["sdi_code"] and (len(values["sdi_code"]) != 7 or not values["sdi_code"].isalnum()):
        problems["sdi_code"] = _("The SdI recipient code has 7 letters or digits.")
    return Checked(values, problems)


@transaction.atomic
def buyer_save(*, tenant: Tenant, code: str, country: str, values: dict[str, str]) -> Buyer:
    """Store the buyer's data; an EU VAT number is checked in VIES now (the evidence is kept; VIES
    being down is stored too and checked again when an invoice needs it). The invoices that waited
    for this data go back to the queue."""
    buyer, _created = Buyer.objects.get_or_create(tenant=tenant, code=code)
    changed_vat = buyer.vat_number != values["vat_number"]
    for field, value in values.items():
        setattr(buyer, field, value)
    if changed_vat:
        buyer.vies_check = None
        if buyer.vat_number and country not in ("", "IT"):
            requester = settings_for(tenant).vat_number or None
            buyer.vies_check = vat_number_verify(
                country=country, number=buyer.vat_number, requester=requester, tenant_id=tenant.id
            )
    buyer.save()
    _resume(tenant=tenant, code=code)
    return buyer


def _resume(*, tenant: Tenant, code: str) -> int:
    waiting = Invoice.objects.filter(
        tenant=tenant, state__in=[Invoice.State.NEEDS_ATTENTION, Invoice.State.FAILED], error_code__in=WAITING_FOR_BUYER
    )
    ids = [invoice.id for invoice in waiting.select_related("order") if customer_code(invoice.order) == code]
    return reopen(Invoice.objects.filter(id__in=ids))
