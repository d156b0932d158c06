"""The API subset of the fake Fatture in Cloud that the product uses (docs/providers/fatture-in-cloud.md
§2.6–§7, §10), under ``/sandbox/fatture/`` mirroring the API root.

Every call needs ``Authorization: Bearer <access token>``: missing, unknown or expired tokens
answer 401 ``{"error": {"message": ...}}`` (the spec's ``ApiErrorResponse``). Company paths
(``/c/{company_id}/...``) also need the company among the user's (nested controlled companies
included) and the scope the spec declares (``:a`` covers ``:r``), else 403 without Retry-After.

Quotas per company (§10.3), all configurable (sandbox.conf): a short window
(``SANDBOX_FATTURE_SHORT_LIMIT`` in any rolling ``SANDBOX_FATTURE_SHORT_WINDOW`` s, sandbox.rolling)
answers **429**, the hourly (``SANDBOX_FATTURE_HOURLY_LIMIT``, fixed clock hour) and monthly
(``SANDBOX_FATTURE_MONTHLY_LIMIT``, calendar month or ``SANDBOX_FATTURE_MONTH_SECONDS``) quotas
answer **403**, each with ``Retry-After`` seconds until a place frees up or the window resets.
Successful company calls carry the ``RateLimit-*`` headers.
``SANDBOX_FATTURE_LATENCY_MS`` delays every call. Fault hooks: see sandbox.faults.

Lists take ``page``/``per_page`` (default 5, 1–100) and answer the spec's pagination envelope;
``fields`` projects, ``fieldset=basic`` leaves ``items_list``/``payments_list`` null on documents,
``sort`` orders (``-field`` descending) and ``q`` filters (sandbox.qfilter) on the documented
filter fields plus, for documents, the marker-carrying text fields ``subject``,
``visible_subject`` and ``notes``.
"""

from __future__ import annotations

from datetime import date

from django.http import JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from . import fatture_sdi, qfilter
from .fatture_documents import DocumentInvalid, document_create, document_update, parse_body, stamp
from .fatture_http import api_error, fatture_api, has_scope, json_answer, scope_error
from .fatture_lists import _filtered, _list_or_error, _parsed_q, listing
from .fatture_oauth import digest
from .faults import faultable
from .models import (
    SandboxFattureClient,
    SandboxFattureDocument,
    SandboxFattureProduct,
    SandboxFattureVatType,
)

DOC_SCOPE_FAMILY = {
    "invoice": "invoices",
    "credit_note": "credit_notes",
    "receipt": "receipts",
    "order": "orders",
    "quote": "quotes",
    "proforma": "proformas",
    "delivery_note": "delivery_notes",
    "work_report": "work_reports",
    "supplier_order": "supplier_orders",
    "self_own_invoice": "self_invoices",
    "self_supplier_invoice": "self_invoices",
}


# --- user -----------------------------------------------------------------------------------------


@fatture_api()
def user_info(request):
    user = request.sandbox_token.user
    return json_answer(
        {
            "data": {
                "id": user.pk,
                "name": user.name,
                "first_name": user.first_name,
                "last_name": user.last_name,
                "email": user.email,
                "hash": digest(user.email)[:32],
                "picture": None,
            },
            "info": {
                "need_marketing_consents_confirmation": False,
                "need_password_change": False,
                "need_terms_of_service_confirmation": False,
            },
            "email_confirmation_state": {"need_confirmation": user.need_confirmation},
        }
    )


@fatture_api()
def user_companies(request):
    return json_answer({"data": {"companies": request.sandbox_token.user.companies}})


# --- company lists --------------------------------------------------------------------------------


@fatture_api(scope="settings:r")
def vat_types(request, company_id):
    rows = SandboxFattureVatType.objects.filter(company_id=company_id)
    return json_answer({"data": [{"id": row.vat_id, **row.data} for row in rows]})


@fatture_api(methods=("GET", "POST"))
def products(request, company_id):
    if request.method == "POST":
        if not has_scope(request.sandbox_token.scope, "products:a"):
            return scope_error("products:a")
        return _product_create(request, company_id)
    if not has_scope(request.sandbox_token.scope, "products:r"):
        return scope_error("products:r")
    queryset = SandboxFattureProduct.objects.filter(company_id=company_id)
    return _list_or_error(lambda: listing(request, _filtered(request, "products", queryset)))


def _product_create(request, company_id):
    """``createProduct``: ``data.name`` required (the spec); ``default_vat.id`` must name a VAT type
    of the company (the sandbox's own check), whose fields the stored product then carries."""
    body = parse_body(request.body) if request.body else None
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict) or not str(data.get("name") or "").strip():
        return api_error("Invalid request.", 422, validation={"data.name": ["The data.name field is required."]})
    stored = {k: v for k, v in data.items() if k not in ("id", "created_at", "updated_at", "stock_current")}
    vat_id = (data.get("default_vat") or {}).get("id") if isinstance(data.get("default_vat"), dict) else None
    if vat_id is not None:
        vat = SandboxFattureVatType.objects.filter(company_id=company_id, vat_id=vat_id).first()
        if vat is None:
            return api_error("Invalid request.", 422, validation={"data.default_vat.id": ["Unknown VAT type."]})
        stored["default_vat"] = {"id": vat.vat_id, **{k: vat.data.get(k) for k in VAT_FIELDS_ON_PRODUCTS}}
    row = SandboxFattureProduct.objects.create(company_id=company_id, data=stored)
    return json_answer({"data": {"id": row.pk, **row.data}})


# The fields of its VAT type a product carries (docs/providers/fatture-in-cloud.md §4).
VAT_FIELDS_ON_PRODUCTS = ("value", "description", "notes", "is_disabled")


@fatture_api(scope="products:r")
def product_detail(request, company_id, product_id):
    row = SandboxFattureProduct.objects.filter(company_id=company_id, pk=product_id).first()
    if row is None:
        return api_error("Product not found.", 404)
    return json_answer({"data": {"id": row.pk, **row.data}})


# --- clients --------------------------------------------------------------------------------------


def _client_body(request):
    body = parse_body(request.body)
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        raise DocumentInvalid("Invalid request.", validation_result={"data": ["The data field is required."]})
    data = {k: v for k, v in body["data"].items() if k not in ("id", "created_at", "updated_at")}
    if "name" in data and not str(data.get("name") or "").strip():
        raise DocumentInvalid("Invalid request.", validation_result={"data.name": ["The data.name field is required."]})
    return data


@fatture_api(methods=("GET", "POST"))
def clients(request, company_id):
    if request.method == "GET":
        if not has_scope(request.sandbox_token.scope, "entity.clients:r"):
            return scope_error("entity.clients:r")
        queryset = SandboxFattureClient.objects.filter(company_id=company_id)
        return _list_or_error(lambda: listing(request, _filtered(request, "clients", queryset)))
    if not has_scope(request.sandbox_token.scope, "entity.clients:a"):
        return scope_error("entity.clients:a")
    return _client_create(request, company_id)


@faultable("fatture.clients.create")
def _client_create(request, company_id):
    try:
        data = _client_body(request)
        if not str(data.get("name") or "").strip():
            raise DocumentInvalid(
                "Invalid request.", validation_result={"data.name": ["The data.name field is required."]}
            )
    except DocumentInvalid as exc:
        return JsonResponse(exc.body, status=exc.status)
    data.setdefault("country", "Italia")
    data["created_at"] = data["updated_at"] = stamp()
    row = SandboxFattureClient.objects.create(company_id=company_id, data=data)
    return json_answer({"data": {"id": row.pk, **row.data}})


@fatture_api(methods=("GET", "PUT"))
def client_detail(request, company_id, client_id):
    row = SandboxFattureClient.objects.filter(company_id=company_id, pk=client_id).first()
    needed = "entity.clients:r" if request.method == "GET" else "entity.clients:a"
    if not has_scope(request.sandbox_token.scope, needed):
        return scope_error(needed)
    if row is None:
        return api_error("Client not found.", 404)
    if request.method == "GET":
        return json_answer({"data": {"id": row.pk, **row.data}})
    return _client_update(request, row)


@faultable("fatture.clients.update")
def _client_update(request, row):
    # PUT behaves as a partial update (§6): only the fields sent change.
    try:
        changes = _client_body(request)
    except DocumentInvalid as exc:
        return JsonResponse(exc.body, status=exc.status)
    row.data = {**row.data, **changes, "updated_at": stamp()}
    row.save(update_fields=["data", "updated_at"])
    return json_answer({"data": {"id": row.pk, **row.data}})


# --- issued documents -----------------------------------------------------------------------------


def view_url(request, document_id: int) -> str:
    return request.build_absolute_uri(reverse("sandbox:fatture_view", args=[document_id]))


def _basic(doc: dict) -> dict:
    return {**doc, "items_list": None, "payments_list": None}


def _ids_of(node) -> set[int] | None:
    """The ids of ``id = 1 or id = 2 …`` (how clients read many statuses at once), else None."""
    parts = node.parts if isinstance(node, qfilter.BoolOp) and node.op == "or" else (node,)
    ids = set()
    for part in parts:
        if not (isinstance(part, qfilter.Condition) and part.field == "id" and part.op == "="):
            return None
        try:
            ids.add(int(part.value))
        except (TypeError, ValueError):
            return None
    return ids


def _documents_list(request, company_id):
    doc_type = request.GET.get("type", "")
    if doc_type not in DOC_SCOPE_FAMILY:
        return api_error("Invalid request.", 422, validation={"type": ["The selected type is invalid."]})
    needed = f"issued_documents.{DOC_SCOPE_FAMILY[doc_type]}:r"
    if not has_scope(request.sandbox_token.scope, needed):
        return scope_error(needed)
    fieldset = request.GET.get("fieldset", "basic")
    if fieldset not in ("basic", "detailed", "fic_view"):
        return api_error("Invalid request.", 422, validation={"fieldset": ["The selected fieldset is invalid."]})

    def build():
        fatture_sdi.advance_due(company_id)  # statuses are current whenever a list answers
        queryset = SandboxFattureDocument.objects.filter(company_id=company_id, doc_type=doc_type)
        node = _parsed_q(request, "issued_documents")
        if node is not None:
            ids = _ids_of(node)
            if ids is not None:
                queryset = queryset.filter(pk__in=ids)
            wanted = qfilter.required_equalities(node)
            if "entity.id" in wanted:
                queryset = queryset.filter(entity_id=int(wanted["entity.id"]))
            if isinstance(wanted.get("date"), str):
                try:
                    queryset = queryset.filter(date=date.fromisoformat(wanted["date"]))
                except ValueError:
                    queryset = queryset.none()
        docs = [row.data for row in queryset]
        if node is not None:
            docs = [d for d in docs if qfilter.matches(node, d)]
        return listing(request, docs, project=_basic if fieldset == "basic" else None)

    return _list_or_error(build)


@faultable("fatture.issued_documents.create")
def _document_create(request, company_id):
    try:
        body = parse_body(request.body)
        data = body.get("data") if isinstance(body, dict) else None
        doc_type = (data.get("type") if isinstance(data, dict) else None) or "invoice"
        needed = f"issued_documents.{DOC_SCOPE_FAMILY.get(doc_type, 'invoices')}:a"
        if not has_scope(request.sandbox_token.scope, needed):
            return scope_error(needed)
        doc = document_create(company_id=company_id, body=body, view_url=lambda pk: view_url(request, pk))
    except DocumentInvalid as exc:
        return JsonResponse(exc.body, status=exc.status)
    return json_answer({"data": doc.data})


@fatture_api(methods=("GET", "POST"))
def documents(request, company_id):
    if request.method == "GET":
        return _documents_list(request, company_id)
    return _document_create(request, company_id)


@fatture_api(methods=("GET", "PUT"))
def document_detail(request, company_id, document_id):
    row = SandboxFattureDocument.objects.filter(company_id=company_id, pk=document_id).first()
    if row is None:
        return api_error("Document not found.", 404)
    access = "r" if request.method == "GET" else "a"
    needed = f"issued_documents.{DOC_SCOPE_FAMILY.get(row.doc_type, 'invoices')}:{access}"
    if not has_scope(request.sandbox_token.scope, needed):
        return scope_error(needed)
    if hasattr(row, "einvoice"):
        fatture_sdi.advance(row.einvoice)
        row.refresh_from_db()
    if request.method == "GET":
        return json_answer({"data": row.data})
    try:
        row = document_update(row=row, body=parse_body(request.body), view_url=lambda pk: view_url(request, pk))
    except DocumentInvalid as exc:
        return JsonResponse(exc.body, status=exc.status)
    return json_answer({"data": row.data})


@csrf_exempt
def not_found(request, rest=""):
    return api_error("Not found.", 404)
