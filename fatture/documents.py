"""Fatture in Cloud clients (customers) and issued documents: the HTTP side of invoicing.

Shapes follow docs/providers/fatture-in-cloud.md (§3 lists, §6 clients, §7 issued documents):
request bodies are wrapped in ``{"data": ...}``; list answers are paginated with ``data``.
Creating an invoice is not idempotent on Fatture's side: the caller (invoicing.services) owns
exactly-once, and this module gives it the look-up it needs (``invoice_find``).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

from django.utils import translation
from django.utils.translation import gettext
from django_countries import countries

from brickinvoice.errors import ServiceError
from invoicing.accounting import Document, InvoiceDraft

from .client import JSON, FattureClient
from .einvoice_data import ei_data_invoice, einvoice_entity, sdi_entity_text

logger = logging.getLogger("fatture.documents")

# A guard for the invoice look-up: one day of one client never has more than a few pages.
LOOKUP_MAX_PAGES = 50


def q_string(value: str) -> str:
    """A quoted string for a ``q`` filter; a literal ' is written '' (§3.1: the SDK does not escape it)."""
    return "'" + str(value).replace("'", "''") + "'"


def italian_country_name(iso: str) -> str:
    """Fatture's ``country`` is the Italian country name (§6); ``country_iso`` goes beside it."""
    if not iso:
        return ""
    with translation.override("it"):
        return str(countries.name(iso)) or iso


def entity_fields(data: JSON) -> JSON:
    """Our customer data as Fatture client fields (§6)."""
    fields = {k: v for k, v in data.items() if v not in (None, "")}
    iso = str(fields.get("country_iso", "")).strip().upper()
    if iso:
        fields["country_iso"] = iso
        fields["country"] = italian_country_name(iso)
    # address_province is a 2-letter Italian sigla; a foreign region goes to address_extra instead.
    province = fields.pop("address_province", "")
    if province:
        if iso == "IT" and len(province) == 2:
            fields["address_province"] = province.upper()
        else:
            fields["address_extra"] = province
    return fields


# --- clients ------------------------------------------------------------------------------


def _clients(api: FattureClient, q: str) -> list[JSON]:
    return list(api.iter_pages(api.company_path("entities/clients"), {"q": q, "fields": "id,code,name"}))


def client_find(api: FattureClient, *, code: str, name: str) -> int | None:
    """By our code first, then by name; one request (§3.1 allows ``or``).

    A same-name client is adopted only when it carries no code (made by hand in Fatture), so two
    buyers who share a name but not a username never share a client.
    """
    clients = _clients(api, f"code = {q_string(code)} or name = {q_string(name)}")
    for client in clients:
        if client.get("code") == code:
            return int(client["id"])
    for client in clients:
        if client.get("name") == name and not client.get("code"):
            return int(client["id"])
    return None


def client_create(api: FattureClient, data: JSON) -> int:
    answer = api.post(api.company_path("entities/clients"), json={"data": entity_fields(data)})
    return int(answer["data"]["id"])


def client_update(api: FattureClient, client_id: int, data: JSON) -> bool:
    """False when the client no longer exists (deleted in Fatture)."""
    try:
        api.put(api.company_path(f"entities/clients/{client_id}"), json={"data": entity_fields(data)})
    except ServiceError as exc:
        if exc.status == 404:
            return False
        raise
    return True


def client_list(api: FattureClient) -> Iterator[tuple[int, str, str]]:
    """Every client of the company as (id, code, name): 100 per page, only the three fields, in id
    order so a client added while paging cannot shift one off a page (§3, §6)."""
    params = {"fields": "id,code,name", "sort": "id"}
    for client in api.iter_pages(api.company_path("entities/clients"), params):
        yield int(client["id"]), str(client.get("code") or ""), str(client.get("name") or "")


def client_sync(api: FattureClient, data: JSON, *, known_client_id: int | None, known_absent: bool = False) -> int:
    """The client id for ``data``: update the known client, else find it, else create it.
    ``known_absent`` (the caller's client index says no client has the code): create at once."""
    if known_client_id and client_update(api, known_client_id, data):
        return known_client_id
    if known_absent and not known_client_id:
        return client_create(api, data)
    found = client_find(api, code=data["code"], name=data["name"])
    if found:
        if known_client_id is None:
            client_update(api, found, data)
        return found
    return client_create(api, data)


# --- issued documents ---------------------------------------------------------------------


def _amount(value: Decimal) -> float:
    # Two-decimal Decimals survive float → JSON exactly (shortest repr); the API takes numbers.
    return float(Decimal(value).quantize(Decimal("0.01")))


def _entity(draft: InvoiceDraft) -> JSON:
    """The buyer on the document; for an e-invoice, what SdI needs (recipient code, identifiers,
    CAP, Latin text: fatture/einvoice_data.py, docs/providers/fatture-in-cloud.md §8.5)."""
    fields = {"id": draft.client_id, **entity_fields(draft.entity)}
    if not draft.electronic:
        return fields
    return sdi_entity_text({**fields, **einvoice_entity(draft.entity).fields})


def invoice_payload(draft: InvoiceDraft) -> JSON:
    return {
        "data": {
            "type": "invoice",
            "entity": _entity(draft),
            "date": draft.date.isoformat(),
            "currency": {"id": draft.currency},
            "language": {"code": "it", "name": "Italiano"},
            "visible_subject": draft.visible_subject,
            **({"notes": draft.notes} if draft.notes else {}),
            # The numbering series (sezionale) and EUR 2 stamp duty when due (docs/tax.md §7.4, §8).
            **({"numeration": draft.numeration} if draft.numeration else {}),
            **({"stamp_duty": _amount(draft.stamp_duty)} if draft.stamp_duty else {}),
            # Creating with e_invoice does not send it (docs/providers/fatture-in-cloud.md §8.1); payment_method
            # is required then.
            **(
                {"e_invoice": True, "ei_data": ei_data_invoice(payment_method=draft.payment_method)}
                if draft.electronic
                else {}
            ),
            # `subject` is internal and not printed (docs/providers/fatture-in-cloud.md §7.2): it carries our order
            # marker.
            "subject": draft.marker,
            "use_gross_prices": True,
            "items_list": [
                {
                    "product_id": line.product_id,
                    "name": line.name,
                    "description": line.description,
                    "qty": line.quantity,
                    "gross_price": _amount(line.gross_price),
                    "vat": {"id": line.vat_id},
                    "stock": False,
                }
                for line in draft.lines
            ],
            "payments_list": [
                {
                    "amount": _amount(draft.total),
                    "due_date": draft.paid_date.isoformat(),
                    "status": "paid",
                    "paid_date": draft.paid_date.isoformat(),
                }
            ],
        },
        # Fatture rounds per line; let it adjust the single payment to its own total by a cent.
        "options": {"fix_payments": True},
    }


def _document(data: JSON) -> Document:
    return Document(id=int(data["id"]), number=str(data.get("number") or ""), numeration=data.get("numeration") or "")


def invoice_create(api: FattureClient, draft: InvoiceDraft) -> Document:
    answer = api.post(api.company_path("issued_documents"), json=invoice_payload(draft))
    return _document(answer["data"])


# A look-up filter the server refuses answers 400 or 422; the next, broader filter is tried then.
_FILTER_REFUSED = (400, 422)


def _cannot_tell(exc: ServiceError) -> ServiceError:
    """The look-up failed, so whether the invoice exists is unknown. The error keeps its code,
    transience and Retry-After but loses its HTTP status: invoicing reads a 4xx status as "the
    create call was refused, nothing was created", which is not true of a failed look-up, and it
    would then create a second invoice."""
    unknown = copy.copy(exc)
    unknown.status = None
    return unknown


def _documents_matching(api: FattureClient, *, q: str, marker: str, doc_type: str) -> Document | None:
    fields = "id,number,numeration,subject,date"
    params = {"type": doc_type, "q": q, "fields": fields}
    for doc in api.iter_pages(api.company_path("issued_documents"), params, max_pages=LOOKUP_MAX_PAGES):
        if "subject" not in doc:
            # A list that does not show the subject cannot prove the invoice absent.
            raise ServiceError(
                gettext("Fatture in Cloud listed invoices without their subject; the order marker cannot be checked."),
                code="fatture_unavailable",
                transient=True,
            )
        if marker and marker in (doc.get("subject") or ""):
            return _document(doc)
    return None


def invoice_find(api: FattureClient, *, marker: str, client_id: int, on: date) -> Document | None:
    """The invoice already created for this order, if any (docs/providers/fatture-in-cloud.md §10.4: look
    before retrying)."""
    return document_find(api, doc_type="invoice", marker=marker, client_id=client_id, on=on)


def document_find(api: FattureClient, *, doc_type: str, marker: str, client_id: int, on: date) -> Document | None:
    """The document of ``doc_type`` (``invoice``, ``credit_note``; the list needs it,
    docs/providers/fatture-in-cloud.md §7.1) already created with ``marker``, if any (§10.4: look
    before retrying).

    ``subject`` (where the marker is) is not a documented filter field, so the server filters on
    the documented ``entity.id`` and ``date`` (§3.2, [3rd]) and the marker is matched here,
    over every page. If the server refuses that filter (400/422), the broader ``date`` alone is
    tried. None means "looked and it is not there"; any failure raises an error without an HTTP
    status ("cannot tell"), so that the caller never takes a failed look-up for "not created".
    """
    day = q_string(on.isoformat())
    filters = [f"entity.id = {int(client_id)} and date = {day}", f"date = {day}"]
    for index, q in enumerate(filters):
        try:
            return _documents_matching(api, q=q, marker=marker, doc_type=doc_type)
        except ServiceError as exc:
            if exc.status in _FILTER_REFUSED and index + 1 < len(filters):
                logger.warning("fatture refused the invoice look-up filter (%s); trying a broader one", exc.status)
                continue
            raise _cannot_tell(exc) from exc
    return None  # pragma: no cover - the loop always returns or raises
