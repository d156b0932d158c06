"""The credit-note plan: which lines of the original invoice a refund reverses, and by how much.
Pure functions, ``Decimal`` in cents rounded half-up (docs/architecture.md §5.4), no I/O.

- A credit note reverses what was invoiced, it never re-decides it (docs/tax.md §7.3): every
  credit line copies one original ``InvoiceLine``'s slot, product, VAT type, treatment and natura.
- A refund comes in parts — goods, shipping, handling — in the order's currency. Each part is
  shared over the original lines of that part pro rata to what is still left on them (a shipping
  charge split over two treatments is credited in the same proportion, docs/tax.md §10), to the
  cent (largest remainder), so no line is ever credited more than is left on it.
- What is left on a line is what was invoiced minus what earlier credit notes took. Asking for
  more than is left on a part is refused (``credit_note_exceeds_invoice``).
- A full cancellation credits everything left, line by line.
- EUR (docs/architecture.md §5.4): a non-EUR invoice was converted at its own stored rate (``Invoice.fx_rate``,
  docs/tax.md §9); a refund is converted at that same rate, and a refund of everything left on a
  part takes the EUR left exactly, so a full refund credits exactly the invoiced EUR.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum

from taxes.money import cents, split_pro_rata

ZERO = Decimal("0")
PARTS = ("goods", "shipping", "handling")
ACCESSORY_SLOTS = ("shipping", "handling")


class Basis(StrEnum):
    FULL = "full"  # everything left on the invoice
    AMOUNTS = "amounts"  # the amounts given, per part
    CUMULATIVE = "cumulative"  # everything refunded since the invoice: credit what is not yet


def part_of(slot: str) -> str:
    """The refund part an invoice slot belongs to: shipping, handling, or goods (the six goods slots)."""
    return slot if slot in ACCESSORY_SLOTS else "goods"


def goods_kind(slot: str) -> str:
    """``margin`` for the margin-scheme goods slots, ``std`` for the others (invoicing/plan.py)."""
    return "margin" if slot.startswith("margin_") else "std"


@dataclass(frozen=True)
class PartAmounts:
    """An amount per refund part, in one currency."""

    goods: Decimal = ZERO
    shipping: Decimal = ZERO
    handling: Decimal = ZERO

    def of(self, part: str) -> Decimal:
        value: Decimal = getattr(self, part)
        return value

    @property
    def total(self) -> Decimal:
        return self.goods + self.shipping + self.handling

    @classmethod
    def from_map(cls, values: Mapping[str, Decimal]) -> PartAmounts:
        return cls(**{part: cents(values.get(part, ZERO)) for part in PARTS})


@dataclass(frozen=True)
class OriginalLine:
    """One line of the invoice as issued (``InvoiceLine``): EUR and the order's currency."""

    position: int
    slot: str
    product_id: int
    product_name: str
    description: str
    vat_id: int
    vat_rate: Decimal
    natura: str
    treatment: str
    gross: Decimal
    original_gross: Decimal


@dataclass(frozen=True)
class Credited:
    """What earlier credit notes took from one original line."""

    gross: Decimal = ZERO
    original_gross: Decimal = ZERO


@dataclass(frozen=True)
class Left:
    """What is still left to credit on one original line."""

    line: OriginalLine
    gross: Decimal
    original: Decimal


@dataclass(frozen=True)
class CreditRequest:
    """What to credit: ``basis`` and, unless full, the amounts per part in the order's currency;
    ``goods_weights`` (by goods kind, ``std``/``margin``) shares goods when the refunded items are
    known."""

    basis: Basis
    amounts: PartAmounts = PartAmounts()
    goods_weights: Mapping[str, Decimal] = field(default_factory=dict)


# A credit line has the shape of the line it reverses; its amounts are what it credits (positive).
CreditLine = OriginalLine


@dataclass(frozen=True)
class CreditPlan:
    lines: tuple[CreditLine, ...]
    total: Decimal  # EUR
    original_total: Decimal  # the order's currency
    full: bool  # reverses the whole invoice (nothing was credited before, nothing is left after)


class CreditPlanError(Exception):
    """The credit note cannot be planned; ``code`` is in brickinvoice.errors.CATALOGUE."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code, self.detail, self.params = code, "", params


# --- what is left ------------------------------------------------------------------------------


def left_on_lines(lines: Sequence[OriginalLine], credited: Mapping[int, Credited]) -> list[Left]:
    """Each original line with what earlier credit notes left on it (never below zero)."""
    left = []
    for line in lines:
        taken = credited.get(line.position, Credited())
        left.append(
            Left(
                line=line,
                gross=max(line.gross - taken.gross, ZERO),
                original=max(line.original_gross - taken.original_gross, ZERO),
            )
        )
    return left


def _by_part(values: Sequence[tuple[str, Decimal]]) -> PartAmounts:
    sums = {part: ZERO for part in PARTS}
    for slot, amount in values:
        sums[part_of(slot)] += amount
    return PartAmounts(**sums)


def left_per_part(left: Sequence[Left]) -> PartAmounts:
    """What is left to credit per part, in the order's currency (the seller's form shows it)."""
    return _by_part([(row.line.slot, row.original) for row in left])


def credited_per_part(lines: Sequence[OriginalLine], credited: Mapping[int, Credited]) -> PartAmounts:
    """What earlier credit notes took per part, in the order's currency."""
    slots = {line.position: line.slot for line in lines}
    return _by_part([(slots[pos], taken.original_gross) for pos, taken in credited.items() if pos in slots])


def invoiced_per_part(lines: Sequence[OriginalLine]) -> PartAmounts:
    return _by_part([(line.slot, line.original_gross) for line in lines])


def pro_rata_proposal(amount: Decimal, left: PartAmounts) -> PartAmounts:
    """``amount`` shared over the parts pro rata to what is left on them: the proposal a question
    to the seller is prefilled with when the marketplace does not say how a refund splits."""
    amount = min(cents(amount), left.total)
    if amount <= 0 or left.total <= 0:
        return PartAmounts()
    shares = split_pro_rata(amount, [left.of(part) for part in PARTS])
    return PartAmounts(*shares)


def refund_still_due(refunded: PartAmounts, credited: PartAmounts) -> PartAmounts:
    """For a cumulative refund (everything refunded since the invoice): what earlier credit notes
    did not cover yet, per part. A part credited beyond the refund while another is short means
    the earlier credit notes split it otherwise: not ours to guess (``credit_note_split_unknown``)."""
    due = {part: refunded.of(part) - credited.of(part) for part in PARTS}
    if any(value > 0 for value in due.values()) and any(value < 0 for value in due.values()):
        raise CreditPlanError("credit_note_split_unknown")
    return PartAmounts.from_map({part: max(value, ZERO) for part, value in due.items()})


# --- the plan ----------------------------------------------------------------------------------


def _to_eur(amount: Decimal, fx_rate: Decimal | None) -> Decimal:
    """At the invoice's own rate (units of the order's currency per 1 EUR), half-up to the cent."""
    return cents(amount / fx_rate) if fx_rate else cents(amount)


def _weights(rows: Sequence[Left], goods_weights: Mapping[str, Decimal]) -> list[Decimal]:
    """Pro rata to what is left; for goods with refunded items known, each kind's share first
    follows what was refunded of that kind (``goods_weights``), then what is left within it."""
    left = [row.gross for row in rows]
    kinds = {goods_kind(row.line.slot) for row in rows}
    known = {kind: Decimal(goods_weights.get(kind, ZERO)) for kind in kinds}
    if not goods_weights or sum(known.values(), ZERO) <= 0:
        return left
    kind_left = {kind: sum((r.gross for r in rows if goods_kind(r.line.slot) == kind), ZERO) for kind in kinds}
    return [
        known[goods_kind(r.line.slot)] * r.gross / kind_left[goods_kind(r.line.slot)]
        if kind_left[goods_kind(r.line.slot)]
        else ZERO
        for r in rows
    ]


def _share(amount: Decimal, rows: Sequence[Left], weights: list[Decimal], attr: str) -> list[Decimal]:
    """``amount`` over ``rows`` by ``weights``; never more than is left on a row (the refunded-items
    weights can point at a kind with too little left: then plainly pro rata to what is left)."""
    shares = split_pro_rata(amount, weights)
    if any(share > getattr(row, attr) for share, row in zip(shares, rows, strict=True)):
        shares = split_pro_rata(amount, [getattr(row, attr) for row in rows])
    return shares


def _credit_line(row: Left, gross: Decimal, original: Decimal) -> CreditLine:
    return replace(row.line, gross=gross, original_gross=original)


def _part_lines(
    part: str, amount: Decimal, left: Sequence[Left], fx_rate: Decimal | None, goods_weights: Mapping[str, Decimal]
) -> list[CreditLine]:
    rows = [row for row in left if part_of(row.line.slot) == part and row.gross > 0]
    left_original = sum((row.original for row in rows), ZERO)
    if amount > left_original:
        raise CreditPlanError(
            "credit_note_exceeds_invoice", part=part, amount=f"{amount:.2f}", left=f"{left_original:.2f}"
        )
    left_eur = sum((row.gross for row in rows), ZERO)
    eur = left_eur if amount == left_original else min(_to_eur(amount, fx_rate), left_eur)
    weights = _weights(rows, goods_weights if part == "goods" else {})
    eur_shares = _share(eur, rows, weights, "gross")
    original_shares = _share(amount, rows, weights, "original")
    return [
        _credit_line(row, gross, original)
        for row, gross, original in zip(rows, eur_shares, original_shares, strict=True)
        if gross or original
    ]


def _amounts(request: CreditRequest, lines: Sequence[OriginalLine], credited: Mapping[int, Credited]) -> PartAmounts:
    if request.basis == Basis.CUMULATIVE:
        return refund_still_due(request.amounts, credited_per_part(lines, credited))
    if any(request.amounts.of(part) < 0 for part in PARTS):
        raise CreditPlanError("credit_note_amount_invalid")
    return request.amounts


def plan_credit(
    lines: Sequence[OriginalLine],
    credited: Mapping[int, Credited],
    request: CreditRequest,
    *,
    fx_rate: Decimal | None = None,
) -> CreditPlan:
    """The credit lines for ``request``; raises CreditPlanError with a catalogue code:
    ``credit_note_nothing_left`` (nothing to credit), ``credit_note_exceeds_invoice``,
    ``credit_note_split_unknown`` (a cumulative refund that earlier credit notes split otherwise),
    ``credit_note_amount_invalid``."""
    if not lines:
        raise CreditPlanError("credit_note_no_lines")
    left = left_on_lines(lines, credited)
    if request.basis == Basis.FULL:
        credit = [_credit_line(row, row.gross, row.original) for row in left if row.gross or row.original]
    else:
        amounts = _amounts(request, lines, credited)
        credit = [
            line
            for part in PARTS
            if amounts.of(part) > 0
            for line in _part_lines(part, amounts.of(part), left, fx_rate, request.goods_weights)
        ]
    if not credit or sum((line.gross for line in credit), ZERO) <= 0:
        raise CreditPlanError("credit_note_nothing_left")
    total = sum((line.gross for line in credit), ZERO)
    return CreditPlan(
        lines=tuple(credit),
        total=total,
        original_total=sum((line.original_gross for line in credit), ZERO),
        full=not any(taken.gross for taken in credited.values()) and total == sum((ln.gross for ln in lines), ZERO),
    )


# --- date and wording --------------------------------------------------------------------------


def credit_date(*, today: date, invoice_date: date) -> date:
    """Today, never before the invoice it corrects (SDI refuses an earlier one with 00418,
    docs/tax.md §7.3). Dated when it is issued, one at a time per company, so within the credit
    notes' series numbers follow dates (docs/tax.md §7.4)."""
    return max(today, invoice_date)


def check_credit_date(*, credit_note_date: date, invoice_date: date) -> None:
    """The last guard before sending: a credit note dated before its invoice is never sent."""
    if credit_note_date < invoice_date:
        raise CreditPlanError(
            "credit_note_date_before_invoice", date=credit_note_date.isoformat(), invoice_date=invoice_date.isoformat()
        )


def credit_note_text(*, invoice_number: str, invoice_day: str, full: bool) -> str:
    """The printed statement that links the credit note to its invoice (docs/tax.md §7.3), in
    Italian like the invoice (invoicing/plan.py INVOICE_LANGUAGE); ``invoice_day`` is the invoice's
    date as an Italian document writes it."""
    kind = "totale" if full else "parziale"
    return f"Nota di credito a storno {kind} della fattura n. {invoice_number} del {invoice_day}."
