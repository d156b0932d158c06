"""E-invoices reach SdI: decide whether an invoice is electronic, verify it, send it exactly once,
follow its status with the fewest calls, explain a refusal, and send it again after a fix.

Sending exactly once (the same argument as issuing.py, for the send call):
1. A send is claimed with a conditional update of ``ei_next_at`` (a short lease), so a duplicate
   task or a redelivered message does nothing.
2. ``ei_state = sending`` is committed *before* the send call. While it stays so (a lost answer,
   a crash), the next attempt first reads the document's SdI status and sends again only when it
   is still not sent (docs/providers/fatture-in-cloud.md §8.4: resend only from a resendable state).
3. SdI answers a second copy of a delivered invoice with 00404 "duplicate": after our own retried
   send that refusal means the first copy arrived, so the invoice counts as delivered.

The formal check (``xml_verify``) runs once before each first send (and after a fix); statuses
are read by listing a company's in-flight documents at once, less often as they age (§8.4): a
send, at most one verify and a fraction of a read each. ``not_delivered`` without a channel
(XXXXXXX / 0000000) is delivered.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.choices import EInvoiceMode, ItalianConsumerPolicy
from accounts.services import settings_for
from accounts.tasks import notify_owners_after_commit
from brickinvoice.errors import ServiceError

from .accounting import (
    AccountingBackend,
    BuyerCheck,
    EInvoiceOutcome,
    EInvoiceStatus,
    backend_for_tenant,
)
from .models import CreditNote, Invoice
from .plan import PlanError

logger = logging.getLogger("invoicing.einvoicing")

EI = Invoice.EInvoice
SEND_LEASE = timedelta(minutes=10)
SEND_BACKOFF = [60, 300, 900, 3600, 6 * 3600]


def check_after(checks: int) -> timedelta:
    """How long after its ``checks``-th read an in-flight document is read again. SdI answers in
    minutes to days (five at most) and a refusal leaves five days to fix it, so the first look
    after two hours loses nothing; one read lists all of a seller's in-flight documents and counts
    for every one due within the first interval, ``coalesce()`` (bench/einvoice_cost.py)."""
    steps = settings.EINVOICE_CHECK_AFTER_SECONDS
    return timedelta(seconds=steps[min(checks, len(steps) - 1)])


def coalesce() -> timedelta:
    return check_after(0)


# A discarded e-invoice must be corrected and sent again within five days (docs/providers/fatture-in-cloud.md §8.4).
RESEND_WINDOW = timedelta(days=5)
ITALIAN_CONSUMER = "italian_consumer"
# The documents that can be e-invoices: both carry invoicing/einvoicefields.py.
Doc = Invoice | CreditNote
DOC_MODELS: tuple[type[Invoice] | type[CreditNote], ...] = (Invoice, CreditNote)


def doc_type(doc: Doc) -> str:
    """The package's document type, for its listings."""
    return "credit_note" if isinstance(doc, CreditNote) else "invoice"


@dataclass(frozen=True)
class EInvoiceChoice:
    """How this invoice goes out: electronic or not, its recipient code, and what to tell the seller."""

    electronic: bool
    recipient: str = ""
    warning: str = ""
    to_register: bool = False  # an Italian consumer's sale for the corrispettivi register


def einvoice_choice(*, invoice: Invoice, backend: AccountingBackend, entity: dict) -> EInvoiceChoice:
    """Whether the invoice is an e-invoice, from the seller's mode, the plan and the buyer (docs/tax.md
    §1.2, §7): an Italian consumer without a codice fiscale follows the seller's policy (the
    corrispettivi register, wait for the code, or a non-electronic document with a warning); any
    other buyer whose data cannot make a valid e-invoice waits for the seller."""
    seller = settings_for(invoice.tenant)
    if seller.einvoice_mode == EInvoiceMode.OFF:
        return EInvoiceChoice(False)
    if not backend.capabilities().e_invoice:
        return EInvoiceChoice(
            False, warning=_("Your Fatture in Cloud plan has no e-invoicing: a plain document was issued.")
        )
    check = backend.check_einvoice_buyer(entity)
    if check.kind == ITALIAN_CONSUMER and not check.ok:
        return _italian_consumer(seller.italian_consumers, check)
    if not check.ok:
        raise PlanError("einvoice_buyer_incomplete", " ".join(check.problems))
    return EInvoiceChoice(True, recipient=check.recipient_code, warning=" ".join(check.warnings))


def _italian_consumer(policy: str, check: BuyerCheck) -> EInvoiceChoice:
    if policy == ItalianConsumerPolicy.RECEIPTS:
        return EInvoiceChoice(False, to_register=True)
    if policy == ItalianConsumerPolicy.HOLD:
        raise PlanError("codice_fiscale_needed", " ".join(check.problems))
    return EInvoiceChoice(
        False,
        warning=_(
            "An Italian private buyer without a codice fiscale: a non-electronic document was issued, which "
            "does not replace an e-invoice through SdI. Ask the buyer for the code, or record such sales in "
            "the corrispettivi register (Settings)."
        ),
    )


def initial_state(*, electronic: bool, tenant_mode: str) -> str:
    if not electronic:
        return EI.NONE
    return EI.TO_SEND if tenant_mode == EInvoiceMode.SEND else EI.CREATED


# --- sending --------------------------------------------------------------------------------


def _claim_send(model: type[Doc], doc_id: int, now: datetime) -> bool:
    return bool(
        model.objects.filter(id=doc_id, ei_state__in=[EI.TO_SEND, EI.SENDING])
        .filter(Q(ei_next_at__isnull=True) | Q(ei_next_at__lte=now))
        .update(ei_next_at=now + SEND_LEASE)
    )


def einvoice_send(*, invoice_id: int = 0, credit_note_id: int = 0, now: datetime | None = None) -> str:
    """Verify (before a first send) and send one e-invoice (an invoice's, or a credit note's with
    ``credit_note_id``), exactly once; returns its new state. Never raises for a provider failure:
    it is stored with when to try again."""
    now = now or timezone.now()
    model: type[Doc] = CreditNote if credit_note_id else Invoice
    doc_id = credit_note_id or invoice_id
    if not _claim_send(model, doc_id, now):
        return ""
    doc = model.objects.select_related("tenant").get(id=doc_id)
    try:
        return _send(doc, backend_for_tenant(doc.tenant), now)
    except ServiceError as exc:
        return _send_failed(doc, exc, now)


def _rows(doc: Doc):
    return type(doc).objects.filter(id=doc.id)


def _send(doc: Doc, backend: AccountingBackend, now: datetime) -> str:
    assert doc.fatture_id is not None
    if doc.ei_state == EI.SENDING:  # an earlier send's outcome is unknown: look first
        statuses = backend.einvoice_statuses({doc.fatture_id: doc.ei_recipient}, doc_type=doc_type(doc))
        status = statuses.get(doc.fatture_id)
        if status is not None and status.outcome != EInvoiceOutcome.NOT_SENT:
            return record_status(doc, status, backend, now)
    else:
        problems = backend.verify_einvoice(doc.fatture_id)
        if problems:
            return _invalid(doc, problems)
    _rows(doc).update(ei_state=EI.SENDING, ei_sends=doc.ei_sends + 1)
    backend.send_einvoice(doc.fatture_id)
    _rows(doc).update(ei_state=EI.IN_FLIGHT, ei_sent_at=now, ei_checks=0, ei_next_at=now + check_after(0))
    return EI.IN_FLIGHT


def _invalid(doc: Doc, problems: list[str]) -> str:
    _rows(doc).update(
        ei_state=EI.INVALID,
        ei_next_at=None,
        ei_code="einvoice_xml_invalid",
        ei_message=_("Fatture in Cloud's formal check of the e-invoice failed."),
        ei_hint=" ".join(problems)[:2000],
    )
    return EI.INVALID


def _send_failed(doc: Doc, exc: ServiceError, now: datetime) -> str:
    """A refused send (4xx) proves nothing went: it waits for a fix. Anything else (timeout, 5xx,
    quota) retries later, looking first when the send may have gone."""
    if exc.status is not None and 400 <= exc.status < 500 and exc.code != "fatture_quota":
        return _invalid(doc, [exc.detail or exc.text.message])
    backoff = SEND_BACKOFF[min(doc.ei_sends, len(SEND_BACKOFF) - 1)]
    wait = max(float(exc.retry_after or 0), backoff)
    _rows(doc).update(ei_next_at=now + timedelta(seconds=wait), ei_code=exc.code)
    logger.warning("e-invoice of %s %s: send failed (%s), retry in %ss", doc_type(doc), doc.id, exc.code, int(wait))
    return doc.ei_state


def einvoices_due_to_send(*, now: datetime | None = None, limit: int = 500, model: type[Doc] = Invoice) -> list[int]:
    """E-invoices waiting for a send (a retry after a failure, or a resend after a fix): ids of
    ``model`` rows (invoices, or credit notes)."""
    now = now or timezone.now()
    due = model.objects.filter(ei_state__in=[EI.TO_SEND, EI.SENDING]).filter(
        Q(ei_next_at__isnull=True) | Q(ei_next_at__lte=now)
    )
    return list(due.order_by("ei_next_at").values_list("id", flat=True)[:limit])


# --- following the status ---------------------------------------------------------------------


def record_status(doc: Doc, status: EInvoiceStatus, backend: AccountingBackend, now: datetime) -> str:
    """Store what SdI says: delivered, refused (explained), or still moving (looked at later)."""
    if status.outcome == EInvoiceOutcome.DELIVERED:
        _set(doc, EI.DELIVERED, status, ei_next_at=None)
        return EI.DELIVERED
    if status.outcome == EInvoiceOutcome.NEEDS_FIX:
        return _rejected(doc, status, backend, now)
    checks = doc.ei_checks + 1
    later = now + check_after(checks)
    state = EI.IN_FLIGHT if doc.ei_state in (EI.IN_FLIGHT, EI.SENDING) else doc.ei_state
    _set(doc, state, status, ei_checks=checks, ei_next_at=later)
    return state


def _set(doc: Doc, state: str, status: EInvoiceStatus, **changes: object) -> None:
    _rows(doc).update(ei_state=state, ei_status=status.raw[:20], **changes)


def _order_of(doc: Doc):
    return doc.invoice.order if isinstance(doc, CreditNote) else doc.order


def _rejected(doc: Doc, status: EInvoiceStatus, backend: AccountingBackend, now: datetime) -> str:
    assert doc.fatture_id is not None
    rejection = backend.einvoice_rejection(doc.fatture_id)
    if rejection.delivered_if_retried and doc.ei_sends > 1:
        _set(doc, EI.DELIVERED, status, ei_next_at=None)  # 00404 after our retry: the first copy arrived
        return EI.DELIVERED
    _set(
        doc,
        EI.REJECTED,
        status,
        ei_next_at=None,
        ei_rejected_at=now,
        ei_code=rejection.code,
        ei_message=" ".join(filter(None, [rejection.meaning, rejection.reason]))[:2000],
        ei_hint=" ".join(filter(None, [rejection.action, rejection.solution]))[:2000],
    )
    order = _order_of(doc)
    notify_owners_after_commit(
        tenant_id=doc.tenant_id,
        kind="einvoice_discarded",
        context={
            "order_number": order.marketplace_order_id,
            "invoice_number": doc.display_number,
            "reason": rejection.meaning,
            "url": reverse("invoicing:order_preview", args=[order.public_id]),
        },
    )
    return EI.REJECTED


def einvoices_track(*, now: datetime | None = None) -> int:
    """Read the status of the in-flight e-invoices that are due, one listing per seller and kind of
    document (with every other in-flight one in the same calls); returns how many changed."""
    now = now or timezone.now()
    due_tenants: set[int] = set()
    for model in DOC_MODELS:
        due = model.objects.filter(ei_state=EI.IN_FLIGHT, ei_next_at__lte=now)
        due_tenants.update(due.values_list("tenant_id", flat=True).distinct()[:500])
    changed = 0
    for tenant_id in sorted(due_tenants)[:500]:
        for model in DOC_MODELS:
            changed += _track_tenant(model, tenant_id, now)
    return changed


def _track_tenant(model: type[Doc], tenant_id: int, now: datetime) -> int:
    docs: list[Doc] = list(
        model.objects.select_related("tenant").filter(
            tenant_id=tenant_id, ei_state=EI.IN_FLIGHT, fatture_id__isnull=False
        )
    )
    if not docs or not any(d.ei_next_at is None or d.ei_next_at <= now + coalesce() for d in docs):
        return 0
    try:
        backend = backend_for_tenant(docs[0].tenant)
        statuses = backend.einvoice_statuses(
            {d.fatture_id: d.ei_recipient for d in docs if d.fatture_id}, doc_type=doc_type(docs[0])
        )
    except ServiceError as exc:
        later = now + timedelta(seconds=max(float(exc.retry_after or 0), 900))
        model.objects.filter(id__in=[d.id for d in docs]).update(ei_next_at=later)
        return 0
    changed = 0
    for doc in docs:
        status = statuses.get(doc.fatture_id or 0)
        if status is None or (
            doc.ei_next_at and doc.ei_next_at > now + coalesce() and status.outcome == EInvoiceOutcome.IN_FLIGHT
        ):
            continue  # not shown, or not due soon and unchanged: its schedule stays
        changed += record_status(doc, status, backend, now) != EI.IN_FLIGHT
    return changed


def einvoices_look_now(*, company_id: int, document_ids: list[int]) -> int:
    """A webhook said these documents changed: look at them on the next tracking pass."""
    return sum(
        model.objects.filter(company_id=company_id, fatture_id__in=document_ids, ei_state=EI.IN_FLIGHT).update(
            ei_next_at=timezone.now()
        )
        for model in DOC_MODELS
    )


def resend_window_ends(doc: Doc) -> datetime | None:
    return doc.ei_rejected_at + RESEND_WINDOW if doc.ei_rejected_at else None


def buyer_entity(entity: dict, buyer: object | None) -> dict:
    """The customer data with what the seller recorded about the buyer: VAT number, codice fiscale,
    SdI code, PEC (what an e-invoice needs and the marketplaces never give, docs/tax.md §1.2)."""
    if buyer is None:
        return entity
    extra = {
        "vat_number": getattr(buyer, "vat_number", ""),
        "tax_code": getattr(buyer, "codice_fiscale", ""),
        "ei_code": getattr(buyer, "sdi_code", ""),
        "certified_email": getattr(buyer, "pec", ""),
    }
    return {**entity, **{key: value for key, value in extra.items() if value}}


# --- fixing and sending again -------------------------------------------------------------------
