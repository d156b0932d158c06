"""Cent-exact money helpers for the tax engine (docs/architecture.md §5.4: Decimal, 2 places,
half-up).

Invoice lines must add up to the invoice total to the cent, so every split here hands out whole
cents and puts the rounding residue where it distorts least (largest remainder). Pure, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0")


def cents(value: Decimal) -> Decimal:
    """Round half-up to the cent."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def allocate_cents(total: Decimal, exact: Sequence[Decimal]) -> list[Decimal]:
    """Round each exact share to cents so that the shares add up to ``total`` exactly.

    ``total`` is in cents and ``sum(exact)`` rounds to it. Each share is first rounded half-up;
    the few cents of residue go to the shares whose rounding moved them furthest from their exact
    value (largest remainder), so no share ends up more than a cent from its exact value. Works
    for negative shares too (a discount line).
    """
    if cents(total) != total:
        raise ValueError(f"total {total} is not in cents")
    rounded = [cents(value) for value in exact]
    residue = int((total - sum(rounded, ZERO)) / CENT)
    if not rounded:
        if residue:
            raise ValueError("nothing to allocate a non-zero total to")
        return []
    if abs(residue) > len(rounded):
        raise ValueError(f"shares do not add up to {total}: residue of {residue} cents")
    sign = 1 if residue > 0 else -1
    # Shares that rounding moved furthest against the residue's direction take its cents first.
    order = sorted(range(len(rounded)), key=lambda i: (exact[i] - rounded[i]) * sign, reverse=True)
    for i in order[: abs(residue)]:
        rounded[i] += CENT * sign
    return rounded


def split_pro_rata(amount: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """Split ``amount`` (in cents) over ``weights`` proportionally, to the cent, adding up exactly.

    Equal shares when every weight is zero (nothing says which part should carry it). Weights
    must not be negative: a negative goods value has no meaningful share of a shipping charge.
    """
    if not weights:
        raise ValueError("no weights to split over")
    if any(weight < 0 for weight in weights):
        raise ValueError("weights must not be negative")
    weight_sum = sum(weights, ZERO)
    if weight_sum == 0:
        exact = [amount / len(weights)] * len(weights)
    else:
        exact = [amount * weight / weight_sum for weight in weights]
    return allocate_cents(amount, exact)
