"""The VAT decision table (docs/tax.md §0), pure: plain facts about one sale in, a typed
``Treatment`` out — code, rate, natura, the Italian wording to print, and how the amount counts for
stamp duty. Shipping and handling follow the goods they accompany (§10): ``split_accessory``.

The region is invoicing.regions' answer as a plain string (domestic / eu / export, special
territories already folded into export). Where the table rests on an [UNCONFIRMED] point of
docs/tax.md, the treatment lists it in ``unconfirmed`` so the invoice plan can ask the seller to
have their accountant confirm it. What the table does not cover raises TreatmentUnsupported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from django.utils.translation import gettext as _

from . import wording
from .errors import TreatmentUnsupported
from .money import cents, split_pro_rata
from .vat_rates import standard_rate, vat_country

ZERO = Decimal("0")
SELLER_COUNTRY = "IT"  # docs/tax.md scope: a seller established only in Italy


class GoodsKind(StrEnum):
    ORDINARY = "ordinary"  # bought with deductible VAT
    MARGIN = "margin"  # eligible for the margin scheme by how it was bought (§5.1)


class Region(StrEnum):
    DOMESTIC = "domestic"
    EU = "eu"
    EXPORT = "export"


class BuyerKind(StrEnum):
    CONSUMER = "consumer"
    BUSINESS = "business"


class SellerRegime(StrEnum):
    ORDINARY = "ordinary"  # VAT-registered, ordinary regime
    FORFETTARIO = "forfettario"  # L. 190/2014 flat-rate regime, no VAT (§13)


class OssNatura(StrEnum):
    """How an OSS sale is e-invoiced (§3.4): the tenant's choice."""

    AGENZIA = "N3.2"  # the Agenzia delle Entrate's position: the default
    ASSOSOFTWARE = "N7"


class TreatmentCode(StrEnum):
    DOMESTIC = "domestic"
    EU_B2C_ITALIAN_VAT = "eu_b2c_italian_vat"
    OSS = "oss"
    EU_B2B = "eu_b2b"
    MARGIN = "margin"
    EXPORT = "export"
    FORFETTARIO = "forfettario"


# The [UNCONFIRMED] points a treatment can rest on, worded for "ask your accountant".
U_STAMP_ART41 = "docs/tax.md §8 (Q5): no stamp duty on art. 41 invoices"
U_MARGIN_EXPORT = "docs/tax.md §5.4: N3.1 (not N5) for exports of margin goods"
U_EXPORT_PROOF = "docs/tax.md §4.1: proof of export for parcels"
U_FORFETTARIO_ABROAD = "docs/tax.md §13 (Q10): forfettario sales abroad and of margin goods"
U_OSS_CROSSING = "docs/tax.md §3.2: the sale that crosses EUR 10,000 is already taxed at destination"
U_MARGIN_WORDING = "docs/tax.md §5.2: the margin-scheme wording"
U_FORFETTARIO_WORDING = "docs/tax.md §12.2: the forfettario wording"


@dataclass(frozen=True)
class OssAmounts:
    """A gross OSS amount split into the taxable amount and the destination VAT inside it."""

    taxable: Decimal
    vat: Decimal


@dataclass(frozen=True)
class Treatment:
    """How one line of a sale is invoiced.

    ``vat_rate``: the percentage on the line (0 for every non-taxable case, OSS included: FiC's
    pattern states the foreign VAT beside a 0 % line, docs/providers/fatture-in-cloud.md §18). ``natura``: None for
    taxed lines. ``counts_for_stamp_duty``: the amount is "not subject to VAT" and no exemption covers
    it (docs/tax.md §8). ``rule``: the section or row of docs/tax.md it applies.
    """

    code: TreatmentCode
    vat_rate: Decimal
    natura: str | None
    legal_note: str
    counts_for_stamp_duty: bool
    rule: str
    unconfirmed: tuple[str, ...] = ()
    destination_country: str = ""
    destination_rate: Decimal | None = None

    def oss_amounts(self, gross: Decimal) -> OssAmounts:
        """The destination VAT inside a gross OSS amount, half-up to cents; the taxable amount is the
        rest, so the two add up to ``gross`` exactly."""
        if self.destination_rate is None:
            raise ValueError("not an OSS treatment")
        vat = cents(gross * self.destination_rate / (100 + self.destination_rate))
        return OssAmounts(taxable=gross - vat, vat=vat)

    def note_for(self, gross: Decimal) -> str:
        """The wording to print for ``gross`` of this treatment: OSS states the VAT it implies."""
        if self.destination_rate is None:
            return self.legal_note
        return wording.oss_note(self.destination_rate, self.oss_amounts(gross).vat)


def _taxed_in_italy(code: TreatmentCode, rule: str, on: date) -> Treatment:
    return Treatment(code, standard_rate(SELLER_COUNTRY, on), None, "", False, rule)


def _margin(region: Region, on: date) -> Treatment:
    """Margin goods stay under the Italian margin scheme for every Italian or EU buyer, business or
    not: neither art. 41 nor OSS applies (art. 37 c.2 DL 41/95, §5.4); exports stay non-taxable."""
    if region == Region.EXPORT:
        return Treatment(TreatmentCode.EXPORT, ZERO, "N3.1", wording.EXPORT, False, "§0 row 9", (U_MARGIN_EXPORT,))
    rule = "§0 row 3" if region == Region.DOMESTIC else "§0 row 7"
    return Treatment(TreatmentCode.MARGIN, ZERO, "N5", wording.MARGIN, False, rule, (U_MARGIN_WORDING,))


def _oss(destination: str, natura: OssNatura, on: date, crossing: bool) -> Treatment:
    rate = standard_rate(destination, on)
    return Treatment(
        TreatmentCode.OSS,
        ZERO,
        str(natura),
        wording.oss_note(rate),
        False,
        "§0 row 6",
        unconfirmed=(U_OSS_CROSSING,) if crossing else (),
        destination_country=destination,
        destination_rate=rate,
    )


def _eu_ordinary(
    b2b: bool, destination: str, *, oss: bool, oss_natura: OssNatura, on: date, crossing: bool
) -> Treatment:
    """Rows 4–6: a business with a VIES-valid number gets art. 41; anyone else is a distance sale,
    at Italian VAT below the threshold, at the destination's rate through OSS above it (§2, §3)."""
    if b2b:
        return Treatment(TreatmentCode.EU_B2B, ZERO, "N3.2", wording.EU_B2B, False, "§0 row 4", (U_STAMP_ART41,))
    if oss:
        return _oss(destination, oss_natura, on, crossing)
    return _taxed_in_italy(TreatmentCode.EU_B2C_ITALIAN_VAT, "§0 row 5", on)


def _destination(region: Region, country: str) -> str:
    code = vat_country(country)
    if code in ("GB", "UK") and region == Region.EU:
        return "XI"  # invoicing.regions calls GB "EU" only for Northern Ireland (goods)
    return code


def decide_treatment(
    *,
    goods: GoodsKind | str,
    region: Region | str,
    buyer: BuyerKind | str,
    vies_verified: bool,
    destination_country: str,
    seller_regime: SellerRegime | str,
    oss: bool,
    oss_natura: OssNatura | str = OssNatura.AGENZIA,
    on: date,
    oss_by_crossing: bool = False,
) -> Treatment:
    """The treatment of one goods line (docs/tax.md §0).

    ``vies_verified``: an EU business buyer's VAT number was found valid in VIES (an offline or
    failed check is not a verification). ``oss``: ``oss_applies(...)`` for this sale (opted in, or
    over the threshold); ``oss_by_crossing``: it applies only because this sale crosses it.
    Raises TreatmentUnsupported for San Marino and the Vatican (row 10) and ValueError for values
    outside the vocabularies.
    """
    goods, region, buyer = GoodsKind(goods), Region(region), BuyerKind(buyer)
    seller_regime, oss_natura = SellerRegime(seller_regime), OssNatura(oss_natura)
    destination = _destination(region, destination_country)
    if destination in ("SM", "VA"):
        raise TreatmentUnsupported(
            _(
                "Sales to %(country)s follow the special regime of art. 71 DPR 633/72, which is not automated "
                "(docs/tax.md §0 row 10): ask your accountant how to invoice them."
            )
            % {"country": destination}
        )
    if region == Region.EU and destination == SELLER_COUNTRY:
        raise ValueError("an EU sale cannot ship to the seller's own country")
    if seller_regime == SellerRegime.FORFETTARIO:
        doubts: tuple[str, ...] = (U_FORFETTARIO_WORDING,)
        if region != Region.DOMESTIC or goods == GoodsKind.MARGIN:
            doubts += (U_FORFETTARIO_ABROAD,)
        return Treatment(TreatmentCode.FORFETTARIO, ZERO, "N2.2", wording.FORFETTARIO, True, "§13", doubts)
    if goods == GoodsKind.MARGIN:
        return _margin(region, on)
    if region == Region.DOMESTIC:
        return _taxed_in_italy(TreatmentCode.DOMESTIC, "§0 row 2" if buyer == BuyerKind.BUSINESS else "§0 row 1", on)
    if region == Region.EXPORT:
        return Treatment(TreatmentCode.EXPORT, ZERO, "N3.1", wording.EXPORT, False, "§0 row 8", (U_EXPORT_PROOF,))
    b2b = buyer == BuyerKind.BUSINESS and vies_verified
    return _eu_ordinary(b2b, destination, oss=oss, oss_natura=oss_natura, on=on, crossing=oss_by_crossing)


def split_accessory(amount: Decimal, goods: Sequence[tuple[Treatment, Decimal]]) -> list[tuple[Treatment, Decimal]]:
    """Shipping, handling or insurance ``amount`` shared over the goods treatments pro rata to their
    amounts, to the cent, adding up to ``amount`` exactly (§10, art. 12 DPR 633/72). Goods lines with
    the same treatment are pooled first; treatments keep their first-seen order; zero shares are
    left out. In an order of one treatment the whole amount follows it."""
    if not goods:
        raise ValueError("an accessory charge needs goods to follow")
    pooled: dict[Treatment, Decimal] = {}
    for treatment, value in goods:
        pooled[treatment] = pooled.get(treatment, ZERO) + value
    shares = split_pro_rata(amount, list(pooled.values()))
    return [(treatment, share) for treatment, share in zip(pooled, shares, strict=True) if share != 0]
