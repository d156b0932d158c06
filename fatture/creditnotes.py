"""Fatture in Cloud credit notes: the HTTP side of invoicing's credit notes
(docs/providers/fatture-in-cloud.md §16).

A credit note is an issued document of ``type=credit_note`` on the same endpoints as invoices,
built like our invoices (gross unit prices, the marker in the internal ``subject``, one payment),
linked to the invoice it corrects: its number and date in ``ei_data.invoice_number`` /
``invoice_date`` — required when the credit note is an e-invoice (API 2.1.0), harmless otherwise
— and stated in the printed notes. Creating it is not idempotent either: ``credit_note_find`` is
the look-up before any retry (§10.4).
"""

from __future__ import annotations

from datetime import date

from invoicing.accounting import CreditNoteDraft, Document

from .client import JSON, FattureClient
from .documents import _document, document_find, invoice_payload
from .einvoice_data import ei_data_credit_note
from .errors import FatturePermissionDenied, FattureScopeMissing

DOC_TYPE = "credit_note"


def credit_note_payload(draft: CreditNoteDraft) -> JSON:
    """The create body: an invoice body (fatture/documents.py ``invoice_payload``: for an e-invoice
    also ``e_invoice``, the buyer as SDI needs it and ``ei_data.payment_method``) of type
    ``credit_note``, with the original's number and date added to ``ei_data``."""
    body = invoice_payload(draft.document)
    data = body["data"]
    data["type"] = DOC_TYPE
    link = {"invoice_number": draft.original_number, "invoice_date": draft.original_date.isoformat()}
    if draft.document.electronic:
        # The checked builder: both are required on a credit-note e-invoice (API 2.1.0).
        link = ei_data_credit_note(
            payment_method=draft.document.payment_method,
            invoice_number=draft.original_number,
            invoice_date=draft.original_date,
        )
    data["ei_data"] = {**(data.get("ei_data") or {}), **link}
    return body


def credit_note_create(api: FattureClient, draft: CreditNoteDraft) -> Document:
    """One POST. A grant made before credit notes were asked for answers 403: the seller must
    reconnect to approve ``issued_documents.credit_notes:a`` (fatture/oauth.py SCOPES)."""
    try:
        answer = api.post(api.company_path("issued_documents"), json=credit_note_payload(draft))
    except FatturePermissionDenied as exc:
        raise FattureScopeMissing(exc.detail, status=exc.status) from exc
    return _document(answer["data"])


def credit_note_find(api: FattureClient, *, marker: str, client_id: int, on: date) -> Document | None:
    """The credit note already created with ``marker`` for this client on this date, if any."""
    return document_find(api, doc_type=DOC_TYPE, marker=marker, client_id=client_id, on=on)
