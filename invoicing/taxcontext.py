"""Everything the pure invoice plan needs to decide VAT that lives outside the order: the seller's
regime and OSS state, what the seller recorded about the buyer (a VIES-checked VAT number), the
EU-wide distance sales so far, and the ECB rate of the operation date (docs/tax.md §0, §2, §3, §9).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db.models import Q, Sum

from accounts.services import settings_for
from brickinvoice.errors import ServiceError
from marketplaces.models import Order
from taxes.ecb import rate_on
from taxes.models import VatNumberCheck
from taxes.vies import vat_number_verify, vies_is_valid

from .accounting import AccountingBackend
from .creditmodels import CreditNoteLine
from .customers import customer_code
from .models import Buyer, InvoiceLine
from .plan import TaxContext
from .regions import Region, region_for

EUR = "EUR"
# Lines that count towards the EUR 10,000 EU-wide distance-sales threshold (margin sales do not).
DISTANCE_SALES = ("eu_b2c_italian_vat", "oss")


def buyer_for(order: Order) -> Buyer | None:
    return Buyer.objects.filter(tenant_id=order.tenant_id, code=customer_code(order)).first()


def eu_b2c_totals(*, tenant_id: int, year: int) -> tuple[Decimal, Decimal]:
    """The seller's EU B2C distance sales through BrickInvoice in ``year`` and the year before
    (EUR), from the lines as issued, less what issued credit notes gave back of them, counted in
    the year of the sale they correct (docs/tax.md §3.2). Two queries for both years."""
    years = (year, year - 1)
    sold = _distance_sales_by_year(
        InvoiceLine.objects.filter(invoice__tenant_id=tenant_id, invoice__state="issued"), "invoice__", years
    )
    credited = _distance_sales_by_year(
        CreditNoteLine.objects.filter(credit_note__tenant_id=tenant_id, credit_note__state="issued"),
        "credit_note__invoice__",
        years,
    )
    return sold[year] - credited[year], sold[year - 1] - credited[year - 1]


def _distance_sales_by_year(lines, to_invoice: str, years: tuple[int, ...]) -> dict[int, Decimal]:
    """The gross of ``lines`` that are distance sales, per year of the invoice reached through
    ``to_invoice`` (one query)."""
    year_of = f"{to_invoice}invoice_date__year"
    totals = lines.filter(treatment__in=DISTANCE_SALES, **{f"{year_of}__in": years}).aggregate(
        **{f"y{y}": Sum("gross", filter=Q(**{year_of: y})) for y in years}
    )
    return {y: totals[f"y{y}"] or Decimal(0) for y in years}


def _vies_verified(order: Order, buyer: Buyer | None) -> bool:
    """An EU business buyer's VAT number valid in VIES, checked now when it never was (docs/tax.md
    §2). VIES being down never blocks the sync nor turns the sale into B2C: the order waits with a
    clear message and is tried again later (a transient error)."""
    if buyer is None or not buyer.vat_number:
        return False
    check = buyer.vies_check
    if check is None or check.result == VatNumberCheck.Result.UNAVAILABLE:
        seller = settings_for(order.tenant)
        check = vat_number_verify(
            country=order.ship_country,
            number=buyer.vat_number,
            requester=seller.vat_number or None,
            tenant_id=order.tenant_id,
        )
        if check.result == VatNumberCheck.Result.UNAVAILABLE:
            raise ServiceError(check.detail, code="vies_unavailable", transient=True, retry_after=3600)
        Buyer.objects.filter(id=buyer.id).update(vies_check=check)
    return vies_is_valid(check)


def tax_context(*, order: Order, buyer: Buyer | None, backend: AccountingBackend, operation_date: date) -> TaxContext:
    """The TaxContext for invoicing ``order`` on ``operation_date`` (raises RateUnknown, a transient
    error, when the ECB rate of a non-EUR order cannot be proven yet)."""
    seller = settings_for(order.tenant)
    try:
        region = region_for(
            country=order.ship_country, postcode=order.ship_postal_code, seller_country=str(seller.country)
        )
    except ValueError:
        region = None  # the plan reports the unknown country
    currency = (order.currency or EUR).upper()
    year = operation_date.year
    eu = region == Region.EU
    # Only an EU sale asks the threshold (two queries saved for every other order).
    this_year, last_year = eu_b2c_totals(tenant_id=order.tenant_id, year=year) if eu else (Decimal(0), Decimal(0))
    return TaxContext(
        regime="ordinary" if seller.vat_registered else "forfettario",
        buyer="business" if buyer and buyer.vat_number else "consumer",
        vies_verified=eu and _vies_verified(order, buyer),
        oss_opted_in=seller.oss_opted_in,
        oss_natura=seller.oss_natura,
        eu_b2c_current_year=this_year + seller.oss_prior_current_year,
        eu_b2c_previous_year=last_year + seller.oss_prior_previous_year,
        stamp_duty_recharged=seller.stamp_duty_recharged,
        fx=None if currency == EUR else rate_on(currency, operation_date),
        find_vat_type=backend.vat_type_id,
    )
