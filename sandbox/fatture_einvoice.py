"""E-invoice endpoints of the fake Fatture in Cloud (docs/providers/fatture-in-cloud.md §8.2–§8.4):

- ``GET …/issued_documents/{id}/e_invoice/xml_verify``: 200 ``{"data": {"success": true}}`` or 422
  in the spec's shape (``validation_result.xml_errors`` + ``extra.errors``);
- ``POST …/e_invoice/send``: the body must be ``{"data": {...}}`` (an empty object answers 422
  "Invalid JSON data in request body."); the same formal problems answer 422, here in the docs
  guide's plain-array shape, so clients meet both shapes; ``options.dry_run`` checks without sending
  (answer name ``VERIFICATO``, a sandbox choice); otherwise 200 ``{"name": "CARICATO", "date"}`` and
  the document follows sandbox.fatture_sdi. Fault hook ``fatture.e_invoice.send``;
- ``GET …/e_invoice/error_reason``: the rejection of the last submission (nulls when none).

The spec declares no scope on these; like FiC's, any valid token of the company may call them.
"""

from __future__ import annotations

from django.http import JsonResponse

from . import fatture_sdi
from .fatture_http import api_error, fatture_api, json_answer
from .fatture_values import parse_body, stamp
from .faults import faultable
from .models import SandboxFattureDocument


def _document(company_id: int, document_id: int) -> SandboxFattureDocument | None:
    return SandboxFattureDocument.objects.filter(company_id=company_id, pk=document_id).first()


def _missing() -> JsonResponse:
    return api_error("Document not found.", 404)


@fatture_api()
def xml_verify(request, company_id, document_id):
    row = _document(company_id, document_id)
    if row is None:
        return _missing()
    problems = fatture_sdi.xml_problems(company_id, row.data)
    if not problems:
        return json_answer({"data": {"success": True}})
    xml, other = [p for p in problems if "Validation XML" not in p], [p for p in problems if "Validation XML" in p]
    body = {
        "error": {"message": "Validation XML", "validation_result": {"xml_errors": xml}},
        "extra": {"errors": other},
    }
    return json_answer(body, status=422)


@fatture_api(methods=("POST",))
def send(request, company_id, document_id):
    row = _document(company_id, document_id)
    if row is None:
        return _missing()
    return _send(request, company_id, row)


@faultable("fatture.e_invoice.send")
def _send(request, company_id, row):
    try:
        body = parse_body(request.body)
    except Exception:  # noqa: BLE001 - any unreadable body answers as FiC does
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        return api_error("Invalid JSON data in request body.", 422)
    problems = fatture_sdi.xml_problems(company_id, row.data)
    if problems:
        return api_error("Validation XML", 422, validation=problems)
    options = body.get("options") if isinstance(body.get("options"), dict) else {}
    if options.get("dry_run"):
        return json_answer({"data": {"name": "VERIFICATO", "date": stamp()}})
    fatture_sdi.submit(row)
    return json_answer({"data": {"name": "CARICATO", "date": stamp()}})


@fatture_api()
def error_reason(request, company_id, document_id):
    row = _document(company_id, document_id)
    if row is None:
        return _missing()
    einvoice = fatture_sdi.advance(fatture_sdi.einvoice_of(row))
    empty = {"reason": None, "ei_status": einvoice.status, "solution": None, "code": None, "date": None}
    return json_answer({"data": einvoice.error_reason or empty})
