"""Opening credit notes — from a marketplace event, by the seller's hand, or as the seller's answer
to a held one — and what an invoice has left to credit, for all of them and the order page.

Nothing here talks to the accounting package: a credit note is a row waiting for the credit-note
dispatcher (invoicing/creditqueue.py), created exactly once by invoicing/creditnotes.py.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from brickinvoice.errors import describe
from brickinvoice.templatetags.money import format_money

from .creditmodels import CreditNote, CreditNoteLine
from .creditplan import PARTS, Credited, OriginalLine, PartAmounts, left_on_lines, left_per_part
from .models import Invoice, InvoiceLine

K = CreditNote.State
B = CreditNote.Basis
# Open work that will credit something once it runs.
QUEUED = [K.PENDING, K.CLAIMED, K.SUBMITTING, K.FAILED, K.NEEDS_ATTENTION]


def part_label(part: str) -> str:
    return {"goods": _("goods"), "shipping": _("shipping"), "handling": _("handling")}.get(part, part)


# --- what was invoiced and what is left --------------------------------------------------------


def original_lines(invoice: Invoice) -> list[OriginalLine]:
    """The invoice's lines as issued: what a credit note reverses."""
    return [
        OriginalLine(
            position=line.position,
            slot=line.slot,
            product_id=line.product_id,
            product_name=line.product_name,
            description=line.description,
            vat_id=line.vat_id,
            vat_rate=line.vat_rate,
            natura=line.natura,
            treatment=line.treatment,
            gross=line.gross,
            original_gross=line.original_gross,
        )
        for line in InvoiceLine.objects.filter(invoice=invoice).order_by("position")
    ]


def credited_lines(invoice: Invoice, *, exclude: int | None = None) -> dict[int, Credited]:
    """Per original line, what committed credit notes (other than ``exclude``) took: issued ones,
    and any an uncertain attempt may have created."""
    lines = CreditNoteLine.objects.filter(credit_note__invoice=invoice).filter(
        Q(credit_note__state=K.ISSUED) | Q(credit_note__uncertain=True)
    )
    if exclude is not None:
        lines = lines.exclude(credit_note_id=exclude)
    rows = lines.values("position").annotate(gross=Sum("gross"), original=Sum("original_gross"))
    return {row["position"]: Credited(row["gross"], row["original"]) for row in rows}


def left_parts(invoice: Invoice, *, exclude: int | None = None) -> PartAmounts:
    """What is left to credit per part, in the order's currency, net of committed credit notes."""
    return left_per_part(left_on_lines(original_lines(invoice), credited_lines(invoice, exclude=exclude)))


def _others(invoice: Invoice, exclude: int | None) -> QuerySet[CreditNote]:
    notes = CreditNote.objects.filter(invoice=invoice)
    return notes if exclude is None else notes.exclude(id=exclude)


def _reserved(invoice: Invoice, exclude: int | None) -> PartAmounts:
    """Amounts asked by credit notes on their way (not yet committed): a second request must not
    claim them again."""
    waiting = (
        _others(invoice, exclude)
        .filter(basis=B.AMOUNTS, state__in=QUEUED, uncertain=False)
        .aggregate(goods=Sum("goods"), shipping=Sum("shipping"), handling=Sum("handling"))
    )
    return PartAmounts(**{part: waiting[part] or Decimal(0) for part in PARTS})


def _full_on_its_way(invoice: Invoice, exclude: int | None) -> bool:
    return _others(invoice, exclude).filter(basis=B.FULL, state__in=QUEUED).exists()


def available_parts(invoice: Invoice, *, exclude: int | None = None) -> PartAmounts:
    """What a new request may still ask for, per part."""
    left, reserved = left_parts(invoice, exclude=exclude), _reserved(invoice, exclude)
    return PartAmounts(**{part: max(left.of(part) - reserved.of(part), Decimal(0)) for part in PARTS})


class CreditRefused(Exception):
    """A request the seller must change: ``message`` says why, ``hint`` what to do."""

    def __init__(self, code: str, **params: object):
        text = describe(code, **params)
        super().__init__(text.message)
        self.code, self.message, self.hint = code, text.message, text.hint


def check_amounts(invoice: Invoice, amounts: PartAmounts, *, exclude: int | None = None) -> None:
    """Refuse a request for nothing, or for more than is left to credit on any part."""
    if amounts.total <= 0 or any(amounts.of(part) < 0 for part in PARTS):
        raise CreditRefused("credit_note_amount_invalid")
    if _full_on_its_way(invoice, exclude):
        raise CreditRefused("credit_note_full_on_its_way")
    available = available_parts(invoice, exclude=exclude)
    for part in PARTS:
        if amounts.of(part) > available.of(part):
            currency = invoice.original_currency or invoice.currency or "EUR"
            raise CreditRefused(
                "credit_note_exceeds_invoice",
                part=part_label(part),
                amount=format_money(amounts.of(part), currency),
                left=format_money(available.of(part), currency),
            )


# --- opening credit notes ----------------------------------------------------------------------


@dataclass(frozen=True)
class RefundEvent:
    """What an order became, as invoicing/creditdetect.py reads it. ``question``: a catalogue code
    when the seller must decide (the credit note is held, ``amounts`` being the proposal)."""

    key: str
    basis: str
    reason: str
    amounts: PartAmounts = PartAmounts()
    goods_weights: dict[str, str] = field(default_factory=dict)
    question: str = ""

    @property
    def family(self) -> str:
        return self.key.split(":", 1)[0]


def credit_note_open(*, invoice: Invoice, event: RefundEvent) -> CreditNote | None:
    """The credit note of ``event``, created once (``(invoice, event_key)`` is unique); None when
    it already existed. A newer reading of a cumulative refund replaces an older one still waiting
    for the seller's answer (it includes it)."""
    if CreditNote.objects.filter(invoice=invoice, event_key=event.key).exists():
        return None
    held = K.HELD if event.question else K.PENDING
    try:
        with transaction.atomic():
            note = CreditNote.objects.create(
                tenant_id=invoice.tenant_id,
                invoice=invoice,
                event_key=event.key,
                source=CreditNote.Source.MARKETPLACE,
                reason=event.reason[:2000],
                basis=event.basis,
                goods=event.amounts.goods,
                shipping=event.amounts.shipping,
                handling=event.amounts.handling,
                goods_weights=event.goods_weights,
                state=held,
                company_id=invoice.company_id,
                **_question(event.question),
            )
    except IntegrityError:  # another import opened it at the same moment
        return None
    _supersede_older(note, event.family)
    credit_notes_shown_refresh(invoice_id=invoice.id)
    return note


def _question(code: str) -> dict[str, str]:
    """Only the code: a question has no parameters, so the page words it in the reader's language
    (``ErrorBox.from_row`` describes a code whose message was not stored)."""
    return {"error_code": code} if code else {}


def _supersede_older(note: CreditNote, family: str) -> None:
    """Questions the new event makes moot: a newer reading of a cumulative refund includes the older
    one; a cancellation credits everything left, whatever the older questions were about."""
    if note.basis == B.FULL and note.state != K.HELD:
        older = Q()
        message = _("Replaced by the cancellation, which credits everything left.")
    elif note.basis == B.CUMULATIVE or note.state == K.HELD:
        older = Q(event_key__startswith=f"{family}:")
        message = _("Replaced by newer refund data from the marketplace.")
    else:
        return
    CreditNote.objects.filter(older, invoice_id=note.invoice_id, state=K.HELD, created_at__lte=note.created_at).exclude(
        id=note.id
    ).update(state=K.SKIPPED, error_code="", error_message=message, error_hint="")


def credit_note_request(*, invoice: Invoice, amounts: PartAmounts, reason: str, user: User | None) -> CreditNote:
    """The seller's "Refund / credit note" (a refund the marketplace never shows, e.g. BrickLink's,
    docs/providers/bricklink.md §8.4): amounts per part in the order's currency. Raises
    CreditRefused for nothing, or more than is left to credit."""
    with transaction.atomic():
        Invoice.objects.select_for_update().filter(id=invoice.id).first()  # one request at a time
        check_amounts(invoice, amounts)
        note = CreditNote.objects.create(
            tenant_id=invoice.tenant_id,
            invoice=invoice,
            event_key=f"manual:{uuid.uuid4()}",
            source=CreditNote.Source.MANUAL,
            reason=reason.strip()[:2000],
            basis=B.AMOUNTS,
            goods=amounts.goods,
            shipping=amounts.shipping,
            handling=amounts.handling,
            company_id=invoice.company_id,
            decided_by=user,
            decided_at=timezone.now(),
            decision_note=reason.strip()[:2000],
        )
    credit_notes_shown_refresh(invoice_id=invoice.id)
    return note


# A credit note waiting for the seller may be answered; one that cannot be made (its invoice has no
# lines, another company…) may only be given up, unless an attempt of it may exist.
ANSWERABLE = {"amounts": [K.HELD], "full": [K.HELD], "skip": [K.HELD, K.NEEDS_ATTENTION]}


def credit_note_answer(
    *, credit_note: CreditNote, kind: str, amounts: PartAmounts, note: str, user: User | None
) -> bool:
    """The seller's answer: credit these amounts, the whole invoice, or nothing (kept with the
    reason). False when the credit note no longer waits for that answer."""
    invoice = credit_note.invoice
    changes: dict[str, object] = dict(decided_by=user, decided_at=timezone.now(), decision_note=note.strip()[:2000])
    if kind == "amounts":
        changes.update(basis=B.AMOUNTS, goods=amounts.goods, shipping=amounts.shipping, handling=amounts.handling)
    elif kind == "full":
        changes.update(basis=B.FULL)
    skipped = _("Not credited: %(reason)s") % {"reason": note.strip() or _("no reason given")}
    changes.update(
        state=K.SKIPPED if kind == "skip" else K.PENDING,
        error_code="",
        error_message=skipped if kind == "skip" else "",
        error_hint="",
        error_detail="",
        next_attempt_at=None,
    )
    with transaction.atomic():
        Invoice.objects.select_for_update().filter(id=invoice.id).first()  # one decision at a time
        if kind == "amounts":
            check_amounts(invoice, amounts, exclude=credit_note.id)
        answered = CreditNote.objects.filter(
            id=credit_note.id, state__in=ANSWERABLE.get(kind, []), uncertain=False
        ).update(**changes)
    credit_notes_shown_refresh(invoice_id=invoice.id)
    return bool(answered)


def credit_note_retry(*, credit_note: CreditNote) -> bool:
    """The seller's Retry on a credit note that failed or needs attention."""
    reopened = CreditNote.objects.filter(id=credit_note.id, state__in=[K.FAILED, K.NEEDS_ATTENTION]).update(
        state=K.PENDING,
        next_attempt_at=None,
        queued_at=None,
        attempts=0,
        error_code="",
        error_message="",
        error_hint="",
        error_detail="",
    )
    credit_notes_shown_refresh(invoice_id=credit_note.invoice_id)
    return bool(reopened)


def credit_notes_resume(*, tenant_id: int, setup_errors: tuple[str, ...]) -> list[int]:
    """Credit notes paused by the connection or the mapping go back to the queue once the seller
    fixed it, like invoices (invoicing/queueing.py ``invoices_resume``); returns their companies."""
    paused = CreditNote.objects.filter(
        tenant_id=tenant_id, uncertain=False, state__in=[K.NEEDS_ATTENTION, K.FAILED], error_code__in=setup_errors
    )
    companies = list(paused.values_list("company_id", flat=True).distinct())
    paused.update(state=K.PENDING, next_attempt_at=None, queued_at=None, attempts=0, error_code="", error_message="")
    return [company for company in companies if company is not None]


def credit_notes_shown_refresh(*, invoice_id: int) -> None:
    """Rewrite ``Invoice.credit_notes_shown`` from the credit-note rows (the orders list's copy)."""
    rows = (
        CreditNote.objects.filter(invoice_id=invoice_id)
        .exclude(state=K.SKIPPED)
        .order_by("created_at", "id")
        .values_list("number", "numeration", "view_url", "state")
    )
    shown = [
        {"number": f"{number}{numeration}" if number else "", "url": url, "state": state}
        for number, numeration, url, state in rows
    ]
    Invoice.objects.filter(id=invoice_id).update(credit_notes_shown=shown)
