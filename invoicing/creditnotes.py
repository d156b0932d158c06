"""Creating one credit note exactly once: claim → plan → submit → record (docs/architecture.md §4.8,
§5.1).

The exactly-once argument, the same as for invoices (invoicing/issuing.py), in one place:
1. One row per refund event: ``(invoice, event_key)`` is unique, so a refund seen at two imports
   is one credit note, and a later refund (another key) is another.
2. Work is claimed with a conditional UPDATE (pending/failed → claimed; a claim older than the
   lease belongs to a dead worker): a duplicate or redelivered message finds nothing to claim.
3. Before the create call one transaction commits ``uncertain`` with what this attempt sends —
   the marker (in the document's internal subject), the client id, the date, the company — and the
   credit lines. While ``uncertain`` is set, the next attempt first searches the package for the
   marker with the client and date *that attempt sent*, and adopts what it finds instead of
   creating one. Only the create call's own 4xx answer (or our budget refusing to send it) proves
   nothing was created and clears it.
4. The lines of an uncertain credit note count as credited for every other credit note of the
   same invoice, so what may already exist is never credited twice.
5. A worker that dies leaves the row claimed/submitting; after the lease the dispatcher
   (invoicing/creditqueue.py) hands it out again and point 3 applies. The dispatcher keeps one
   credit note in flight per company, oldest first, each dated the day it is issued and never
   before its invoice (SDI 00418, docs/tax.md §7.3): numbers follow dates (docs/tax.md §7.4).

Failures are stored, never raised: a retry later is a ``next_attempt_at`` the dispatcher honours;
waiting for the package's quota is not a failed attempt. What the seller must decide (a refund
whose split is unknown) goes back to ``held`` with the question; nothing left to credit ends as
``skipped`` without a document.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db import InterfaceError, OperationalError, transaction
from django.db.models import F, Q
from django.utils import timezone
from redis.exceptions import RedisError

from accounts.services import settings_pin
from brickinvoice.errors import ServiceError
from brickinvoice.locks import company_write_lock

from .accounting import AccountingBackend, Document, backend_for_tenant
from .creditdocument import credit_note_after_issue, credit_note_client_id, credit_note_draft
from .creditmodels import CreditNote, CreditNoteLine
from .creditplan import (
    Basis,
    CreditPlan,
    CreditPlanError,
    CreditRequest,
    PartAmounts,
    check_credit_date,
    credit_date,
    credited_per_part,
    left_on_lines,
    left_per_part,
    plan_credit,
    pro_rata_proposal,
)
from .creditrequests import credit_notes_shown_refresh, credited_lines, original_lines
from .failures import failure_changes
from .issuing import MAX_AUTOMATIC_ATTEMPTS, RETRY_BACKOFF
from .queueing import CLAIM_LEASE

logger = logging.getLogger("invoicing.creditnotes")

K = CreditNote.State
# Plan outcomes that are not failures: the seller decides, or there is nothing to do.
HELD_CODES = ("credit_note_split_unknown",)
DONE_CODES = ("credit_note_nothing_left",)


@dataclass
class CreditOutcome:
    """What happened: ``retry_in`` seconds until the stored next attempt (None: done or waiting)."""

    credit_note: CreditNote | None
    retry_in: float | None = None


def credit_note_claim(*, credit_note_id: int, now: datetime | None = None) -> bool:
    """Conditional update: only one worker ever holds a credit note."""
    now = now or timezone.now()
    claimable = Q(state__in=[K.PENDING, K.FAILED]) | Q(
        state__in=[K.CLAIMED, K.SUBMITTING], claimed_at__lt=now - CLAIM_LEASE
    )
    return bool(
        CreditNote.objects.filter(claimable, id=credit_note_id).update(
            state=K.CLAIMED, claimed_at=now, queued_at=None, attempts=F("attempts") + 1, next_attempt_at=None
        )
    )


def credit_note_process(*, credit_note_id: int) -> CreditOutcome:
    """Claim and create one credit note. Never raises for a business failure: it is stored."""
    if not credit_note_claim(credit_note_id=credit_note_id):
        return CreditOutcome(None)
    note = CreditNote.objects.select_related("invoice__order__store", "tenant").get(id=credit_note_id)
    settings_pin(note.tenant, shared_by=(note.invoice, note.invoice.order))
    try:
        _submit(note)
    except CreditPlanError as exc:
        _plan_outcome(note, exc)
    except ServiceError as exc:
        logger.warning("credit note %s failed: %s", note.id, exc.code)
        return _record_service_error(note, exc)
    except RedisError as exc:
        # As for invoices: transient, and `uncertain` stays as it was (the create may have been sent).
        logger.warning("credit note %s: Redis unavailable (%s)", note.id, type(exc).__name__)
        unavailable = ServiceError("Redis was unreachable.", code="internal_unavailable", transient=True)
        return _record_service_error(note, unavailable)
    except (OperationalError, InterfaceError):
        logger.warning("credit note %s: database unavailable; left to the claim lease", note.id)
        raise
    except Exception:
        logger.exception("credit note %s crashed", note.id)
        _record_failure(note, "internal_error", "", {}, permanent=True)
    return CreditOutcome(note)


def _submit(note: CreditNote) -> None:
    invoice = note.invoice
    backend = backend_for_tenant(note.tenant)  # raises fatture_auth_failed / no_company_selected
    if invoice.company_id and backend.company_id != invoice.company_id:
        # A credit note belongs in the company that issued the invoice.
        raise CreditPlanError("credit_note_other_company", company=invoice.company_id)
    if note.uncertain and note.marker and note.sent_client_id and note.sent_date:
        found = backend.find_credit_note_for_order(
            marker=note.marker, client_id=note.sent_client_id, date=note.sent_date
        )
        if found:
            logger.info("credit note %s: adopted existing document %s", note.id, found.id)
            _mark_issued(note, found, backend)
            return
        _forget_attempt(note)  # looked, and it is not there: what it sent credits nothing
    plan = plan_credit(
        original_lines(invoice), credited_lines(invoice, exclude=note.id), _request(note), fx_rate=invoice.fx_rate
    )
    invoice_date = invoice.invoice_date or timezone.localdate()
    day = credit_date(today=timezone.localdate(), invoice_date=invoice_date)
    check_credit_date(credit_note_date=day, invoice_date=invoice_date)
    slots = list(dict.fromkeys(line.slot for line in plan.lines))
    refusal = backend.known_refusal(slots=slots)
    if refusal is not None:
        raise refusal
    client_id = credit_note_client_id(invoice, backend)
    marker = f"BrickInvoice credit note {note.public_id}"
    draft = credit_note_draft(invoice=invoice, plan=plan, client_id=client_id, marker=marker, day=day, backend=backend)
    _commit_attempt(note, plan, marker=marker, client_id=client_id, day=day, company_id=backend.company_id)
    CreditNote.objects.filter(id=note.id).update(electronic=draft.document.electronic)
    try:
        with company_write_lock(backend.company_id):
            document = backend.create_credit_note(draft)
    except ServiceError as exc:
        refused = not exc.request_sent or (exc.status is not None and 400 <= exc.status < 500)
        explained = backend.explain_rejection(exc, slots=slots)
        explained.create_refused = refused
        if explained.code == "invoice_creation_failed":
            explained.code = "credit_note_creation_failed"
        if explained is exc:
            raise
        raise explained from exc
    _mark_issued(note, document, backend)


def _request(note: CreditNote) -> CreditRequest:
    return CreditRequest(
        basis=Basis(note.basis),
        amounts=PartAmounts(goods=note.goods, shipping=note.shipping, handling=note.handling),
        goods_weights={kind: Decimal(str(value)) for kind, value in (note.goods_weights or {}).items()},
    )


def _forget_attempt(note: CreditNote) -> None:
    with transaction.atomic():
        CreditNoteLine.objects.filter(credit_note=note).delete()
        CreditNote.objects.filter(id=note.id).update(uncertain=False)
    note.uncertain = False


def _commit_attempt(
    note: CreditNote, plan: CreditPlan, *, marker: str, client_id: int, day: date, company_id: int
) -> None:
    """Committed before the create call: what this attempt sends, for the look-up of a retry, and
    its lines, which count as credited from now on (point 4 of the module docstring)."""
    with transaction.atomic():
        CreditNoteLine.objects.filter(credit_note=note).delete()
        CreditNoteLine.objects.bulk_create(
            CreditNoteLine(
                credit_note=note,
                position=line.position,
                slot=line.slot,
                product_id=line.product_id,
                product_name=line.product_name[:300],
                description=line.description[:500],
                treatment=line.treatment,
                vat_id=line.vat_id,
                vat_rate=line.vat_rate,
                natura=line.natura,
                gross=line.gross,
                original_gross=line.original_gross,
            )
            for line in plan.lines
        )
        CreditNote.objects.filter(id=note.id).update(
            state=K.SUBMITTING,
            uncertain=True,
            marker=marker,
            company_id=company_id,
            sent_client_id=client_id,
            sent_date=day,
            credit_date=day,
            total=plan.total,
            original_total=plan.original_total,
            full=plan.full,
        )


def _mark_issued(note: CreditNote, document: Document, backend: AccountingBackend) -> None:
    CreditNote.objects.filter(id=note.id).update(
        state=K.ISSUED,
        uncertain=False,
        fatture_id=document.id,
        number=str(document.number or ""),
        numeration=document.numeration or "",
        view_url=backend.view_url(document.id),
        company_id=backend.company_id,
        issued_at=timezone.now(),
        api_calls=F("api_calls") + backend.calls,
        error_code="",
        error_message="",
        error_hint="",
        error_detail="",
    )
    credit_notes_shown_refresh(invoice_id=note.invoice_id)
    note.refresh_from_db()
    credit_note_after_issue(credit_note=note, backend=backend)


# --- failures and questions ----------------------------------------------------------------------


def _plan_outcome(note: CreditNote, exc: CreditPlanError) -> None:
    """A plan that cannot go on: a question for the seller (held, with a pro-rata proposal),
    nothing left to credit (skipped), or a problem the seller must fix (needs attention)."""
    if exc.code in DONE_CODES:
        _record_failure(note, exc.code, "", exc.params, permanent=True, state=K.SKIPPED)
    elif exc.code in HELD_CODES:
        proposal = _proposal(note)
        CreditNote.objects.filter(id=note.id).update(
            basis=CreditNote.Basis.AMOUNTS, goods=proposal.goods, shipping=proposal.shipping, handling=proposal.handling
        )
        _record_failure(note, exc.code, "", exc.params, permanent=True, state=K.HELD)
    else:
        # `uncertain` stays as it was: e.g. a credit note attempted in another company may exist there.
        _record_failure(note, exc.code, "", exc.params, permanent=True)


def _proposal(note: CreditNote) -> PartAmounts:
    """What a cumulative refund still owes, in total, shared pro rata over what is left."""
    invoice = note.invoice
    lines = original_lines(invoice)
    credited = credited_lines(invoice, exclude=note.id)
    due = _request(note).amounts.total - credited_per_part(lines, credited).total
    return pro_rata_proposal(due, left_per_part(left_on_lines(lines, credited)))


def _record_service_error(note: CreditNote, exc: ServiceError) -> CreditOutcome:
    note.refresh_from_db(fields=["attempts", "uncertain"])
    waiting_for_quota = exc.code == "fatture_quota"
    give_up = not waiting_for_quota and (not exc.transient or note.attempts >= MAX_AUTOMATIC_ATTEMPTS)
    retry_in = None
    if waiting_for_quota:
        retry_after = float(exc.retry_after or 60)
        retry_in = retry_after + random.uniform(0, min(retry_after, 30.0))
    elif not give_up:
        backoff = RETRY_BACKOFF[min(note.attempts - 1, len(RETRY_BACKOFF) - 1)]
        retry_in = max(float(exc.retry_after or 0), backoff)
    _record_failure(
        note,
        exc.code,
        exc.detail,
        exc.params,
        permanent=give_up,
        retry_in=retry_in,
        uncertain=False if exc.create_refused else None,
        refund_attempt=waiting_for_quota,
        state=K.PENDING if waiting_for_quota else None,
    )
    return CreditOutcome(note, retry_in)


def _record_failure(
    note: CreditNote,
    code: str,
    detail: str,
    params: dict[str, object] | None,
    *,
    permanent: bool,
    retry_in: float | None = None,
    uncertain: bool | None = None,
    refund_attempt: bool = False,
    state: str | None = None,
) -> None:
    changes = failure_changes(
        code,
        detail,
        params,
        state=state or (K.NEEDS_ATTENTION if permanent else K.FAILED),
        retry_in=retry_in,
        uncertain=uncertain,
        refund_attempt=refund_attempt,
    )
    with transaction.atomic():
        CreditNote.objects.filter(id=note.id).update(**changes)
        if uncertain is False:  # proven not created: its lines credit nothing
            CreditNoteLine.objects.filter(credit_note=note).delete()
    credit_notes_shown_refresh(invoice_id=note.invoice_id)
