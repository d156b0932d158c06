"""The invoice plan: a normalised order in, the invoice lines out, in EUR, with each line's VAT
treatment and the wording the invoice must carry. Pure functions, no I/O: everything the plan needs
beyond the order comes in a ``TaxContext`` (the seller's regime and OSS state, the buyer, the
exchange rate, and a look-up of the company's VAT types).

- Eligibility: the seller's status filter, never cancelled or quarantined, on or after the cutoff
  date, not yet invoiced.
- Region from the shipping address (``regions.region_for``); amounts (invoicing/amounts.py); VAT
  per line (invoicing/vat.py, docs/tax.md §0, §10).
- EUR for every store currency (docs/tax.md §9): the lines are converted at the ECB rate of the
  operation date, adding up exactly to the converted total; the original total and the rate are
  stated in the notes.
- Each slot names the product; a slot whose product's VAT does not fit what the slot expects, and
  that the seller did not accept, stops the orders that need it (``vat_rate_mismatch``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from django.utils import formats, translation
from django.utils.translation import gettext as _

from taxes.ecb import RateQuote, amounts_to_eur
from taxes.errors import TreatmentUnsupported
from taxes.thresholds import oss_applies, oss_crossing_sale
from taxes.treatment import Treatment, decide_treatment, split_accessory
from taxes.wording import conversion_note

from .accounting import MappedProduct
from .amounts import (
    AmountsMismatch,
    ItemLike,
    goods_amounts,
    handling_amount,
    money,
    reconcile,
    shipping_amount,
)
from .eligibility import OrderLike, SellerRules, as_local_date, ineligibility_reason, invoice_date_for
from .linetexts import line_texts
from .regions import Region, region_for
from .vat import STAMP_DUTY_NOTE, VatTypeFinder, VatTypeMissing, legal_notes, stamp_duty_for, vat_for

ZERO = Decimal("0")
INVOICE_LANGUAGE = "it"  # the documents are Italian invoices, whatever the seller's UI language

__all__ = [
    "ItemLike",
    "MappedProduct",
    "OrderLike",
    "SellerRules",
    "as_local_date",
    "ineligibility_reason",
    "invoice_date_for",
    "money",
]


def _no_vat_types(rate: Decimal, natura: str | None) -> int | None:
    return None


@dataclass(frozen=True)
class TaxContext:
    """The facts about the seller, the buyer and the day the decision table needs (docs/tax.md)."""

    regime: str = "ordinary"  # taxes.treatment.SellerRegime
    buyer: str = "consumer"  # taxes.treatment.BuyerKind
    vies_verified: bool = False
    oss_opted_in: bool = False
    oss_natura: str = "N3.2"
    eu_b2c_current_year: Decimal = ZERO  # EUR, EU-wide, before this sale, margin sales excluded
    eu_b2c_previous_year: Decimal = ZERO
    stamp_duty_recharged: bool = False
    fx: RateQuote | None = None  # None for a EUR order
    find_vat_type: VatTypeFinder = _no_vat_types


@dataclass(frozen=True)
class PlanLine:
    slot: str
    product_id: int
    product_name: str
    vat_id: int
    vat_value: Decimal
    description: str
    gross_amount: Decimal  # EUR, VAT included
    quantity: int = 1
    treatment: str = "domestic"
    natura: str = ""
    original_amount: Decimal = ZERO  # in the order's currency
    destination_country: str = ""
    destination_rate: Decimal | None = None


@dataclass(frozen=True)
class InvoicePlan:
    region: Region
    currency: str  # always EUR: what the invoice is issued in
    lines: tuple[PlanLine, ...]
    total: Decimal
    invoice_date: date
    description: str
    notes: tuple[str, ...] = ()  # statements printed on the invoice (choices, legal wording)
    operation_date: date | None = None
    original_currency: str = "EUR"
    original_total: Decimal = ZERO
    fx: RateQuote | None = None
    stamp_duty: Decimal = ZERO

    @property
    def slots(self) -> list[str]:
        return list(dict.fromkeys(line.slot for line in self.lines))


class PlanError(Exception):
    """The order cannot be planned; ``code`` is in brickinvoice.errors.CATALOGUE."""

    def __init__(self, code: str, detail: str = "", **params: object):
        super().__init__(detail or code)
        self.code, self.detail, self.params = code, detail, params


def goods_slot(kind: str, region: Region) -> str:
    return f"{kind}_{region.value}"


# --- the plan ------------------------------------------------------------------------------


@dataclass
class _Draft:
    """Lines being built: (slot, description, treatment, EUR amount, original amount)."""

    rows: list[tuple[str, str, Treatment, Decimal, Decimal]] = field(default_factory=list)


def _treatments(
    order: OrderLike, region: Region, kinds: list[str], tax: TaxContext, on: date, ordinary_eur: Decimal
) -> dict[str, Treatment]:
    """The decision table for each kind of goods in the order (docs/tax.md §0)."""
    if region == Region.EU:
        args = (tax.oss_opted_in, tax.eu_b2c_current_year, tax.eu_b2c_previous_year, ordinary_eur)
        oss, crossing = _oss_applies(*args), _oss_crossing(*args)
    else:
        oss = crossing = False
    try:
        return {
            kind: decide_treatment(
                goods="margin" if kind == "margin" else "ordinary",
                region=region.value,
                buyer=tax.buyer,
                vies_verified=tax.vies_verified,
                destination_country=order.ship_country,
                seller_regime=tax.regime,
                oss=oss,
                oss_natura=tax.oss_natura,
                on=on,
                oss_by_crossing=crossing,
            )
            for kind in kinds
        }
    except TreatmentUnsupported as exc:
        raise PlanError("vat_treatment_unsupported", str(exc)) from exc


def _oss_applies(opted_in: bool, current: Decimal, previous: Decimal, sale: Decimal) -> bool:
    return oss_applies(opted_in=opted_in, eu_b2c_current_year=current, eu_b2c_previous_year=previous, this_sale=sale)


def _oss_crossing(opted_in: bool, current: Decimal, previous: Decimal, sale: Decimal) -> bool:
    return oss_crossing_sale(
        opted_in=opted_in, eu_b2c_current_year=current, eu_b2c_previous_year=previous, this_sale=sale
    )


def _mapped(mapping: Mapping[str, MappedProduct], slot: str) -> MappedProduct:
    product = mapping.get(slot)
    if product is None:
        raise PlanError("slot_not_mapped", slot=slot)
    if product.mismatch:
        raise PlanError(
            "vat_rate_mismatch",
            product=product.name,
            slot=slot,
            actual=product.mismatch,
            expected=product.expected,
        )
    return product


def build_plan(
    order: OrderLike,
    items: Sequence[ItemLike],
    rules: SellerRules,
    mapping: Mapping[str, MappedProduct],
    tax: TaxContext | None = None,
    *,
    computed_total: bool = False,
    invoice_date: date | None = None,
) -> InvoicePlan:
    """The invoice lines for ``order``; raises PlanError with a catalogue code when it cannot.

    ``computed_total``: the seller chose to invoice the amounts as computed from the order's parts
    although they do not add up to what the marketplace says was paid (invoicing/decisions.py).
    ``invoice_date``: the seller chose to date the invoice later than the sale (it then states the
    operation date, art. 21 c.2 g-bis DPR 633/72, docs/tax.md §7.4)."""
    tax = tax or TaxContext()
    try:
        region = region_for(country=order.ship_country, postcode=order.ship_postal_code, seller_country=rules.country)
    except ValueError as exc:
        detail = _("Shipping country is missing or unknown (%(error)s).") % {"error": exc}
        raise PlanError("order_data_invalid", detail) from exc
    with translation.override(INVOICE_LANGUAGE):
        return _build(order, items, rules, mapping, tax, region, computed_total, invoice_date)


def _build(
    order: OrderLike,
    items: Sequence[ItemLike],
    rules: SellerRules,
    mapping: Mapping[str, MappedProduct],
    tax: TaxContext,
    region: Region,
    computed_total: bool,
    invoice_date: date | None,
) -> InvoicePlan:
    goods, pieces = goods_amounts(order, items, rules.margin_rule)
    kinds = [k for k in ("std", "margin") if k in goods and (goods[k] != 0 or pieces.get(k))]
    charges = [
        (slot, amount)
        for slot, amount in (("shipping", shipping_amount(order)), ("handling", handling_amount(order)))
        if amount
    ]
    parts = [goods[k] for k in kinds] + [amount for _slot, amount in charges]
    if not parts:
        raise PlanError("order_data_invalid", _("The order has no amounts to invoice."))
    paid, computed = money(order.amount_paid_to_seller), sum((money(p) for p in parts), ZERO)
    currency = (order.currency or "EUR").upper()
    try:
        original = reconcile(parts, computed if computed_total else paid)
    except AmountsMismatch as exc:
        raise PlanError(
            "order_data_held",
            _(
                "The order's amounts add up to %(computed)s %(currency)s but the buyer paid %(paid)s %(currency)s; "
                "it was not invoiced so that no wrong invoice is issued."
            )
            % {"computed": exc.computed, "paid": exc.paid, "currency": currency},
        ) from exc
    eur = amounts_to_eur(original, tax.fx) if tax.fx else list(original)
    operation_date = invoice_date_for(order, rules)
    goods_eur = dict(zip(kinds, eur, strict=False))
    treatments = _treatments(
        order, region, kinds, tax, operation_date, goods_eur.get("std", ZERO) + sum(eur[len(kinds) :], ZERO)
    )
    texts = line_texts(order, pieces, rules.line_texts)
    draft = _Draft()
    for kind, amount, amount_original in zip(kinds, eur, original, strict=False):
        draft.rows.append((goods_slot(kind, region), texts[kind], treatments[kind], amount, amount_original))
    followed = [(treatments[k], goods_eur[k]) for k in kinds] or [
        (_alone(order, region, tax, operation_date), Decimal(1))
    ]
    for (slot, _amount), amount, amount_original in zip(
        charges, eur[len(kinds) :], original[len(kinds) :], strict=True
    ):
        shares = split_accessory(amount, followed)
        originals = dict(split_accessory(amount_original, followed)) if tax.fx else dict(shares)
        for treatment, share in shares:
            draft.rows.append((slot, texts[slot], treatment, share, originals.get(treatment, share)))
    lines = _lines(draft, mapping, tax)
    notes: list[str] = []
    if computed_total and computed != paid:
        notes.append(
            f"Importo fatturato calcolato dalle voci dell'ordine ({computed} {currency}); il totale indicato "
            f"dal marketplace ({paid} {currency}) comprende importi non fatturati dal venditore."
        )
    if invoice_date and invoice_date != operation_date:
        day = formats.date_format(operation_date, "SHORT_DATE_FORMAT")
        notes.append(f"Data dell'operazione: {day} (art. 21, c. 2, lett. g-bis, D.P.R. 633/1972).")
    return _plan(
        lines,
        region=region,
        label=texts["label"],
        tax=tax,
        notes=notes,
        currency=currency,
        original_total=sum(original, ZERO),
        operation_date=operation_date,
        invoice_date=invoice_date or operation_date,
    )


def _alone(order: OrderLike, region: Region, tax: TaxContext, on: date) -> Treatment:
    """Charges with no goods (a shipping refund, a handling fee) take the ordinary goods' treatment."""
    return _treatments(order, region, ["std"], tax, on, ZERO)["std"]


def _lines(draft: _Draft, mapping: Mapping[str, MappedProduct], tax: TaxContext) -> list[tuple[PlanLine, Treatment]]:
    """Each row with its product and the VAT type that carries its treatment; a charge may take
    the VAT type of the goods it follows."""
    goods_products = {row[2]: mapping.get(row[0]) for row in draft.rows if row[0] not in ("shipping", "handling")}
    lines = []
    for slot, description, treatment, amount, amount_original in draft.rows:
        product = _mapped(mapping, slot)
        try:
            choice = vat_for(treatment, [product, goods_products.get(treatment)], tax.find_vat_type)
        except VatTypeMissing as exc:
            raise PlanError(
                "vat_type_missing", rate=str(exc.treatment.vat_rate), natura=exc.treatment.natura or "—"
            ) from exc
        line = PlanLine(
            slot=slot,
            product_id=product.product_id,
            product_name=product.name,
            vat_id=choice.vat_id,
            vat_value=choice.vat_rate,
            description=description,
            gross_amount=amount,
            treatment=str(treatment.code),
            natura=treatment.natura or "",
            original_amount=amount_original,
            destination_country=treatment.destination_country,
            destination_rate=treatment.destination_rate,
        )
        lines.append((line, treatment))
    return lines


def _recharge(lines: list[tuple[PlanLine, Treatment]], stamp: Decimal) -> list[tuple[PlanLine, Treatment]]:
    """Stamp duty recharged to the buyer comes out of what the buyer paid (a marketplace order's
    total is fixed): the largest line that counts for it carries the EUR 2 less, so the invoice
    total, stamp duty included, is still the amount paid (docs/tax.md §8)."""
    counted = [i for i, (_line, treatment) in enumerate(lines) if treatment.counts_for_stamp_duty]
    if not counted:
        return lines
    largest = max(counted, key=lambda i: lines[i][0].gross_amount)
    line, treatment = lines[largest]
    lines[largest] = (replace(line, gross_amount=line.gross_amount - stamp), treatment)
    return lines


def _plan(
    lines: list[tuple[PlanLine, Treatment]],
    *,
    region: Region,
    label: str,
    tax: TaxContext,
    notes: list[str],
    currency: str,
    original_total: Decimal,
    operation_date: date,
    invoice_date: date,
) -> InvoicePlan:
    """Wording, stamp duty and the EUR conversion note around the lines."""
    treated = [(treatment, line.gross_amount) for line, treatment in lines]
    stamp = stamp_duty_for(treated)
    legal = legal_notes(treated)
    if stamp:
        legal.append(STAMP_DUTY_NOTE)
        if tax.stamp_duty_recharged:
            lines = _recharge(lines, stamp)
    if tax.fx:
        legal.append(conversion_note(original_total, currency, tax.fx.rate, tax.fx.rate_date))
    plan_lines = tuple(line for line, _treatment in lines)
    recharged = stamp if tax.stamp_duty_recharged else ZERO
    return InvoicePlan(
        region=region,
        currency="EUR",
        lines=plan_lines,
        total=sum((line.gross_amount for line in plan_lines), ZERO) + recharged,
        invoice_date=invoice_date,
        description=label,
        notes=tuple(legal + notes),
        operation_date=operation_date,
        original_currency=currency,
        original_total=original_total,
        fx=tax.fx,
        stamp_duty=stamp,
    )
