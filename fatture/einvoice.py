"""E-invoice calls (SDI through Fatture in Cloud): verify, send, read statuses, read the rejection
reason, and modify a document for fix-and-resend. Each is one small function over ``FattureClient``
with a typed result; odd answers become typed values or problems, never a crash.

Facts: docs/providers/fatture-in-cloud.md §8.2 (xml_verify and its two 422 shapes), §8.3 (send body,
never empty), §8.4 (ei_status, error_reason), §3 and §3.1 (listing, ``q`` grammar), §10.1 (errors).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import requests
from django.utils.translation import gettext

from brickinvoice.errors import ServiceError
from brickinvoice.shapes import member
from invoicing.accounting import Document

from .errors import FattureRejected
from .sdi import rejection_code

logger = logging.getLogger("fatture.einvoice")

# Ids per listing call: keeps the ``q`` expression (and the URL) short; 40 ids ≈ 600 characters.
IDS_PER_QUERY = 40
# When the server refuses the id filter we list newest first and stop after this many pages.
FALLBACK_MAX_PAGES = 20
_FILTER_REFUSED = (400, 422)
DOCUMENT_TYPES = ("invoice", "credit_note")


@dataclass(frozen=True)
class VerifyResult:
    """``ok`` when FiC's formal check passed; ``problems`` are FiC's own (Italian) messages."""

    ok: bool
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SendResult:
    """FiC's answer to a send: ``status_name`` such as ``CARICATO`` and the sending time as FiC wrote it."""

    status_name: str
    date: str


@dataclass(frozen=True)
class Rejection:
    """``GET …/e_invoice/error_reason``; ``sdi_code`` is the 5-digit code found in ``code`` or ``reason``."""

    reason: str
    code: str
    solution: str
    date: str
    ei_status: str

    @property
    def sdi_code(self) -> str:
        return rejection_code(code=self.code, reason=self.reason)


def _path(client, document_id: int, suffix: str = "") -> str:
    return client.company_path(f"issued_documents/{int(document_id)}{suffix}")


def _text(value) -> str:
    return "" if value is None else str(value).strip()


# --- verify -------------------------------------------------------------------------------------


def _messages(value) -> Iterator[str]:
    """Every message in ``validation_result`` / ``extra.errors``: an object keyed by field (or
    ``{"xml_errors": [...]}``), a plain array, nested mixes, or a bare string."""
    if value is None or value == "":
        return
    if isinstance(value, dict):
        for key, inner in value.items():
            prefix = "" if key in ("xml_errors", "errors") or str(key).isdigit() else f"{key}: "
            for line in _messages(inner):
                yield prefix + line
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _messages(item)
    else:
        text = _text(value)
        if text:
            yield text


def verify_problems(body) -> list[str]:
    """The readable problems of a 422 answer of xml_verify (or send), in order, without duplicates.
    ``error.message`` (often just "Validation XML") comes last and only when nothing else is said."""
    if not isinstance(body, dict):
        return []
    error = member(body, "error")
    extra = member(body, "extra")
    found = [*_messages(error.get("validation_result")), *_messages(extra.get("errors"))]
    if not found and _text(error.get("message")):
        found.append(_text(error.get("message")))
    return list(dict.fromkeys(found))


@contextmanager
def _last_response(client):
    """Keep the last HTTP answer the client's session received. ``FattureClient`` turns a 422 into
    a typed error whose detail is flattened text; xml_verify's problems need the body itself."""
    seen: list[requests.Response] = []

    def keep(response, *args, **kwargs):
        seen[:] = [response]
        return response

    hooks = client.session.hooks.setdefault("response", [])
    hooks.append(keep)
    try:
        yield seen
    finally:
        hooks.remove(keep)


def _body(response: requests.Response | None):
    try:
        return response.json() if response is not None else None
    except ValueError:
        return None


def einvoice_verify(client, document_id: int) -> VerifyResult:
    """FiC's formal check of the e-invoice XML (``GET …/e_invoice/xml_verify``). A 422 is an answer
    (``ok=False`` with the problems), not an error; other failures raise as usual. It checks formats
    only: registry checks (00305, 00306, 00311, 00324) happen at SDI after sending (§8.2)."""
    with _last_response(client) as seen:
        try:
            answer = client.get(_path(client, document_id, "/e_invoice/xml_verify"))
        except FattureRejected as exc:
            if exc.status != 422:
                raise
            problems = verify_problems(_body(seen[0] if seen else None)) or [exc.detail or "Validation XML"]
            return VerifyResult(False, problems)
    data = answer.get("data") if isinstance(answer, dict) else None
    if isinstance(data, dict) and data.get("success") is True:
        return VerifyResult(True, [])
    # 200 without success: true is not a pass; say what came back rather than guess.
    return VerifyResult(
        False, verify_problems(answer) or [gettext("Fatture in Cloud did not confirm the e-invoice XML.")]
    )


# --- send ---------------------------------------------------------------------------------------


def send_payload(*, dry_run: bool = False, cassa_type: str = "", withholding_tax_causal: str = "") -> dict:
    """The send body: always ``{"data": {...}}`` (an empty object answered 422 "Invalid JSON data
    in request body.", docs/providers/fatture-in-cloud.md §8.3), ``options.dry_run`` only when asked."""
    data = {k: v for k, v in (("cassa_type", cassa_type), ("withholding_tax_causal", withholding_tax_causal)) if v}
    body: dict = {"data": data}
    if dry_run:
        body["options"] = {"dry_run": True}
    return body


def einvoice_send(client, document_id: int, *, dry_run: bool = False) -> SendResult:
    """Send the document to SDI (``POST …/e_invoice/send``). ``dry_run`` runs FiC's checks without
    sending (API 2.5.1). A 422 raises ``FattureRejected`` with FiC's words. Not idempotent: SDI
    answers a second copy of a delivered invoice with 00404, so callers read the status first and
    send only from a resendable status (fatture.sdi)."""
    answer = client.post(_path(client, document_id, "/e_invoice/send"), json=send_payload(dry_run=dry_run))
    data = member(answer, "data")
    return SendResult(status_name=_text(data.get("name")), date=_text(data.get("date")))


# --- statuses -----------------------------------------------------------------------------------


def _chunks(ids: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _status_rows(rows: Iterable, wanted: set[int], found: dict[int, str]) -> None:
    for row in rows:
        if not isinstance(row, dict):
            continue
        try:
            doc_id = int(str(row.get("id")))
        except (TypeError, ValueError):
            continue
        if doc_id in wanted and "ei_status" in row:
            found[doc_id] = _text(row.get("ei_status"))


def _list_params(doc_type: str, **extra) -> dict:
    # ``ei_status`` comes back only when named in ``fields`` (or with fieldset=detailed, §8.4).
    return {"type": doc_type, "fields": "id,ei_status", **extra}


def _statuses_by_filter(client, ids: list[int], doc_type: str, found: dict[int, str]) -> None:
    path = client.company_path("issued_documents")
    for chunk in _chunks(ids, IDS_PER_QUERY):
        # No "in" operator in the grammar (docs/providers/fatture-in-cloud.md §3.1): one "or" of equalities per chunk.
        q = " or ".join(f"id = {doc_id}" for doc_id in chunk)
        _status_rows(client.iter_pages(path, _list_params(doc_type, q=q), max_pages=5), set(chunk), found)


def _statuses_newest_first(client, ids: list[int], doc_type: str, found: dict[int, str]) -> None:
    """Without the id filter: newest first, until every id is seen or, while the answer really is
    in descending id order, the rows pass the oldest id wanted (at most FALLBACK_MAX_PAGES pages)."""
    wanted, oldest, previous = set(ids), min(ids), None
    path, params = client.company_path("issued_documents"), _list_params(doc_type, sort="-id")
    for row in client.iter_pages(path, params, max_pages=FALLBACK_MAX_PAGES):
        _status_rows([row], wanted, found)
        if wanted <= found.keys():
            return
        try:
            current = int(row.get("id"))
        except (AttributeError, TypeError, ValueError):
            continue
        descending = previous is None or current < previous
        if not descending:
            oldest = -1  # the sort was not honoured: read every page up to the cap
        if current < oldest:
            return
        previous = current


def einvoice_statuses(client, document_ids: Iterable[int], *, type: str = "invoice") -> dict[int, str]:
    """``ei_status`` of each document, read by listing: one call per 40 ids (``q=id = 1 or id = 2…``,
    ``fields=id,ei_status``), not one GET per document (docs/architecture.md §9, the cost model).

    ``id`` is not in the [3rd] list of filterable document fields (docs/providers/fatture-in-cloud.md §3.2): if
    the server refuses the filter (400/422), the list is read newest first until every id has been seen. Documents the
    answer does not show are left out of the result (unknown); a status is FiC's raw string (see
    fatture.sdi for its meaning). ``type`` is ``invoice`` or ``credit_note`` (listing needs it)."""
    if type not in DOCUMENT_TYPES:
        raise ValueError(f"type must be one of {DOCUMENT_TYPES}, not {type!r}")
    ids = sorted({int(i) for i in document_ids})
    found: dict[int, str] = {}
    if not ids:
        return found
    try:
        _statuses_by_filter(client, ids, type, found)
    except ServiceError as exc:
        if exc.status not in _FILTER_REFUSED:
            raise
        logger.warning("fatture refused the id filter on documents (%s); listing newest first", exc.status)
        _statuses_newest_first(client, ids, type, found)
    return found


# --- rejection reason and fix-and-resend ----------------------------------------------------------


def einvoice_error_reason(client, document_id: int) -> Rejection:
    """Why SDI (or the customer) refused the e-invoice (``GET …/e_invoice/error_reason``). Every
    field may be missing or null; they come back as empty strings."""
    answer = client.get(_path(client, document_id, "/e_invoice/error_reason"))
    data = member(answer, "data")
    return Rejection(
        reason=_text(data.get("reason")),
        code=_text(data.get("code")),
        solution=_text(data.get("solution")),
        date=_text(data.get("date")),
        ei_status=_text(data.get("ei_status")),
    )


def document_update(client, document_id: int, payload: dict) -> Document:
    """Modify an issued document (``PUT …/issued_documents/{id}``, same body shape as create:
    ``{"data": {...}}``), e.g. the corrected buyer before a resend. Only a document that SDI
    discarded (or that was never sent) may be changed: a delivered one is corrected by a credit note."""
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), dict):
        raise ValueError('payload must be {"data": {...}}')
    answer = client.put(_path(client, document_id), json=payload)
    data = member(answer, "data")
    return Document(
        id=int(data.get("id") or document_id),
        number=_text(data.get("number")),
        numeration=_text(data.get("numeration")),
    )
