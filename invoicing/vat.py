"""VAT on each invoice line: the treatment the decision table gives (taxes.treatment, docs/tax.md
§0), the package's VAT type that carries it, the legal wording it needs, and stamp duty. Pure.

- Goods of each kind (ordinary / margin) get the treatment of their buyer and destination: 22 %
  at home and for EU consumers below the OSS threshold, the destination's rate through OSS above
  it, art. 41 (N3.2) for an EU business with a VIES-valid number, N5 for margin goods in Italy and
  the EU, N3.1 for exports.
- Shipping and handling follow the goods they accompany, split pro rata in a mixed order
  (docs/tax.md §10).
- A line's VAT type is its mapped product's own when that fits the treatment (rate, and natura
  for a non-taxable line); else the VAT type of the goods it follows; else the company's VAT type
  with that rate and natura. None fitting is a question for the seller (``vat_type_missing``):
  a 22 % VAT type never lands on an export.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from taxes.thresholds import STAMP_DUTY, stamp_duty_due
from taxes.treatment import Treatment

from .accounting import MappedProduct

ZERO = Decimal("0")
# The package's VAT type id with this rate and natura (None for a taxed line), or None.
VatTypeFinder = Callable[[Decimal, str | None], int | None]
# Printed when stamp duty is due (docs/tax.md §8: on e-invoices it is paid virtually) [PRACTICE].
STAMP_DUTY_NOTE = "Imposta di bollo assolta in modo virtuale ai sensi dell'art. 6 del D.M. 17 giugno 2014"


class VatTypeMissing(Exception):
    """No VAT type of the company has the rate and natura a treatment needs."""

    def __init__(self, treatment: Treatment):
        super().__init__(f"{treatment.vat_rate} {treatment.natura}")
        self.treatment = treatment


@dataclass(frozen=True)
class VatChoice:
    vat_id: int
    vat_rate: Decimal


def fits(product: MappedProduct, treatment: Treatment) -> bool:
    """The product's VAT type carries the treatment: same rate, and for a non-taxable line the
    same natura (SdI refuses a 0 % line without natura and a taxed one with it: 00400/00401)."""
    if product.vat_value != treatment.vat_rate:
        return False
    natura = (product.natura or "").strip().upper()
    if treatment.natura is None:
        return not natura.startswith("N")
    return natura == treatment.natura.upper()


def vat_for(treatment: Treatment, candidates: list[MappedProduct | None], find_vat_type: VatTypeFinder) -> VatChoice:
    """The VAT type for a line of ``treatment``: the first candidate product whose own VAT type
    fits, else the company's VAT type with that rate and natura; raises VatTypeMissing."""
    for product in candidates:
        if product is not None and fits(product, treatment):
            return VatChoice(product.vat_id, product.vat_value)
    found = find_vat_type(treatment.vat_rate, treatment.natura)
    if found is None:
        raise VatTypeMissing(treatment)
    return VatChoice(found, treatment.vat_rate)


def legal_notes(lines: list[tuple[Treatment, Decimal]]) -> list[str]:
    """The wording each treatment needs, once per treatment, in line order; an OSS treatment
    states the destination VAT of all its lines together."""
    totals: dict[Treatment, Decimal] = {}
    for treatment, gross in lines:
        totals[treatment] = totals.get(treatment, ZERO) + gross
    notes = [treatment.note_for(gross) for treatment, gross in totals.items() if treatment.legal_note]
    return list(dict.fromkeys(notes))


def stamp_duty_for(lines: list[tuple[Treatment, Decimal]]) -> Decimal:
    """EUR 2 when the invoice's amounts not subject to VAT exceed EUR 77.47 and no exemption
    covers them (docs/tax.md §8), else 0."""
    return STAMP_DUTY if stamp_duty_due(lines) else ZERO
