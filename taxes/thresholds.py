"""Two amount thresholds of docs/tax.md, pure: the EU-wide EUR 10,000 for distance sales (§3.2)
and the EUR 77.47 above which an invoice owes EUR 2 stamp duty (§8)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from .treatment import Treatment

OSS_THRESHOLD = Decimal("10000.00")
STAMP_DUTY_THRESHOLD = Decimal("77.47")
STAMP_DUTY = Decimal("2.00")


def oss_applies(
    *, opted_in: bool, eu_b2c_current_year: Decimal, eu_b2c_previous_year: Decimal, this_sale: Decimal
) -> bool:
    """Whether an EU B2C distance sale of ordinary goods is taxed at destination (OSS) rather
    than at Italian VAT (docs/tax.md §3.2).

    The totals are the seller's EU-wide (not per-country) intra-EU B2C distance sales of goods
    plus cross-border B2C TTE services, in EUR, **without margin-scheme sales**; the current
    year's total is before ``this_sale``. Destination taxation applies when the seller opted in,
    or last year's total exceeded EUR 10,000, or this year's does — including the sale that makes
    it exceed: that sale is already taxed at destination [UNCONFIRMED, §3.2: the EU Explanatory
    Notes were not retrieved] (``oss_crossing_sale`` tells the caller it relied on this). Whether
    the totals are net of VAT (Directive art. 59c) is for the accountant to confirm.
    """
    if opted_in or eu_b2c_previous_year > OSS_THRESHOLD or eu_b2c_current_year > OSS_THRESHOLD:
        return True
    return eu_b2c_current_year + this_sale > OSS_THRESHOLD


def oss_crossing_sale(
    *, opted_in: bool, eu_b2c_current_year: Decimal, eu_b2c_previous_year: Decimal, this_sale: Decimal
) -> bool:
    """True when ``oss_applies`` only because this very sale crosses the threshold — the
    [UNCONFIRMED] reading of §3.2, passed on to ``decide_treatment(oss_by_crossing=...)``."""
    below_before = not (opted_in or eu_b2c_previous_year > OSS_THRESHOLD or eu_b2c_current_year > OSS_THRESHOLD)
    return below_before and eu_b2c_current_year + this_sale > OSS_THRESHOLD


def stamp_duty_due(lines: Iterable[tuple[Treatment, Decimal]]) -> bool:
    """EUR 2 stamp duty is due when the invoice's amounts not subject to VAT, and not covered by an
    exemption, exceed EUR 77.47 (docs/tax.md §8): in practice a forfettario invoice above it.
    Exports, margin-scheme, OSS and art. 41 lines are exempt and taxed lines never count; a mixed
    invoice counts only its non-VAT part."""
    counted = sum((amount for treatment, amount in lines if treatment.counts_for_stamp_duty), Decimal("0"))
    return counted > STAMP_DUTY_THRESHOLD
