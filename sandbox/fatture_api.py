"""The API subset of the fake Fatture in Cloud that the product uses (reference README §2.6–§7,
§10 and openapi.yaml), under ``/sandbox/fatture/`` mirroring the API root.

Every call needs ``Authorization: Bearer <access token>``: missing, unknown or expired tokens
answer 401 ``{"error": {"message": ...}}`` (the spec's ``ApiErrorResponse``). Company paths
(``/c/{company_id}/...``) also need the company among the user's (nested controlled companies
included) and the scope the spec declares (``:a`` covers ``:r``), else 403 without Retry-After.

Quotas per company (§10.3), all configurable (sandbox.conf): a short window
(``SANDBOX_FATTURE_SHORT_LIMIT`` per ``SANDBOX_FATTURE_SHORT_WINDOW`` s, fixed buckets here) answers
**429**, the hourly (``SANDBOX_FATTURE_HOURLY_LIMIT``, fixed clock hour) and monthly
(``SANDBOX_FATTURE_MONTHLY_LIMIT``) quotas answer **403**, each with ``Retry-After`` seconds until
the window resets. Successful company calls carry the ``RateLimit-*`` headers.
``SANDBOX_FATTURE_LATENCY_MS`` delays every call. Fault hooks: see sandbox.faults.

Lists take ``page``/``per_page`` (default 5, 1–100) and answer the spec's pagination envelope;
``fields`` projects, ``fieldset=basic`` leaves ``items_list``/``payments_list`` null on documents,
``sort`` orders (``-field`` descending) and ``q`` filters (sandbox.qfilter) on the documented
filter fields plus, for documents, the marker-carrying text fields ``subject``,
``visible_subject`` and ``notes``.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, date, datetime
from functools import wraps
from urllib.parse import urlencode

from django.db.models import Q
from django.http import JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from . import qfilter
from .conf import knob
from .fatture_documents import DocumentInvalid, document_create, parse_body, stamp
from .fatture_oauth import _latency, digest
from .faults import counter_get, counter_hit, faultable
from .models import (
    SandboxFattureClient,
    SandboxFattureDocument,
    SandboxFattureProduct,
    SandboxFattureToken,
    SandboxFattureVatType,
)

FILTER_FIELDS = {
    "clients": frozenset(
        {"id", "code", "name", "vat_number", "tax_code", "address_city", "email", "ei_code", "created_at"}
    ),
    "products": frozenset({"id", "name", "code", "net_price", "gross_price", "category", "in_stock", "created_at"}),
    "issued_documents": frozenset(
        {
            "type",
            "entity.id",
            "entity.name",
            "date",
            "number",
            "numeration",
            "amount_net",
            "amount_gross",
            "next_due_date",
            # Not in the [3rd] list of filterable fields, but where a caller can put an order marker.
            "subject",
            "visible_subject",
            "notes",
        }
    ),
}
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


def api_error(message: str, status: int, *, code: str | None = None, validation=None, retry_after=None):
    error = {"message": message}
    if code:
        error["code"] = code
    if validation is not None:
        error["validation_result"] = validation
    response = JsonResponse({"error": error}, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(max(1, int(retry_after)))
    return response


def _json(body: dict) -> JsonResponse:
    return JsonResponse(body, json_dumps_params={"ensure_ascii": False})


# --- authentication, scopes, quota ----------------------------------------------------------------


def _bearer(request) -> SandboxFattureToken | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header.lower().startswith("bearer "):
        return None
    token = header[7:].strip()
    row = SandboxFattureToken.objects.filter(access_hash=digest(token)).select_related("user").first()
    if row is None or row.access_expires_at <= timezone.now():
        return None
    return row


def has_scope(granted: str, needed: str) -> bool:
    scopes = set(granted.split())
    family = needed.rsplit(":", 1)[0]
    return needed in scopes or f"{family}:a" in scopes


def scope_error(needed: str) -> JsonResponse:
    return api_error(f"Missing permission: this token was not granted {needed}.", 403, code="NO_PERMISSION")


def _quota(company_id: int):
    """(error response or None, hourly remaining, monthly remaining) after counting this call."""
    now = time.time()
    window = max(1, int(knob("SANDBOX_FATTURE_SHORT_WINDOW")))
    utc = datetime.now(UTC)
    month_key = f"sandbox:fic:month:{company_id}:{utc:%Y%m}"
    # The quota hour lasts SANDBOX_FATTURE_HOUR_SECONDS (3600 unless a benchmark speeds the clock).
    hour = max(1, int(knob("SANDBOX_FATTURE_HOUR_SECONDS")))
    hour_key = f"sandbox:fic:hour:{company_id}:{int(now // hour)}"
    short_key = f"sandbox:fic:short:{company_id}:{int(now // window)}"
    hourly, monthly = int(knob("SANDBOX_FATTURE_HOURLY_LIMIT")), int(knob("SANDBOX_FATTURE_MONTHLY_LIMIT"))
    if counter_get(short_key) >= knob("SANDBOX_FATTURE_SHORT_LIMIT"):
        wait = math.ceil(window - now % window)
        return api_error("Too many requests: short-term rate limit reached.", 429, retry_after=wait), 0, 0
    if counter_get(hour_key) >= hourly:
        wait = math.ceil(hour - now % hour)
        return api_error("Hourly request quota exceeded for this company.", 403, retry_after=wait), 0, 0
    if counter_get(month_key) >= monthly:
        next_month = datetime(utc.year + utc.month // 12, utc.month % 12 + 1, 1, tzinfo=UTC)
        wait = (next_month - utc).total_seconds()
        return api_error("Monthly request quota exceeded for this company.", 403, retry_after=wait), 0, 0
    counter_hit(short_key, ttl=window + 60)
    used_hour = counter_hit(hour_key, ttl=hour + 120)
    used_month = counter_hit(month_key, ttl=32 * 86400)
    return None, max(0, hourly - used_hour), max(0, monthly - used_month)


def fatture_api(*, scope: str | None = None, methods=("GET",)):
    """Bearer token, company access, quota and scope checks around a Fatture API view. The view
    gets ``request.sandbox_token`` and, on company paths, ``company_id``."""

    def decorate(view):
        @csrf_exempt
        @require_http_methods(list(methods))
        @wraps(view)
        def wrapper(request, company_id: int | None = None, **kwargs):
            _latency()
            token = _bearer(request)
            if token is None:
                return api_error("Unauthorized: the access token is missing, invalid or expired.", 401)
            request.sandbox_token = token
            if company_id is None:
                return view(request, **kwargs)
            if int(company_id) not in token.user.company_ids():
                return api_error("You have no access to this company.", 403, code="NO_PERMISSION")
            refused, hourly_left, monthly_left = _quota(int(company_id))
            if refused:
                return refused
            if scope and not has_scope(token.scope, scope):
                return scope_error(scope)
            response = view(request, company_id=int(company_id), **kwargs)
            response["RateLimit-HourlyRemaining"] = str(hourly_left)
            response["RateLimit-HourlyLimit"] = str(int(knob("SANDBOX_FATTURE_HOURLY_LIMIT")))
            response["RateLimit-MonthlyRemaining"] = str(monthly_left)
            response["RateLimit-MonthlyLimit"] = str(int(knob("SANDBOX_FATTURE_MONTHLY_LIMIT")))
            return response

        return wrapper

    return decorate


# --- list helpers ---------------------------------------------------------------------------------


class _ListError(Exception):
    def __init__(self, response: JsonResponse):
        super().__init__("invalid list request")
        self.response = response


def _int_param(request, name: str, default: int, low: int, high: int | None) -> int:
    raw = request.GET.get(name, "")
    try:
        value = int(raw) if raw != "" else default
    except ValueError:
        value = None
    if value is None or value < low or (high is not None and value > high):
        limit = f"between {low} and {high}" if high else f"at least {low}"
        raise _ListError(
            api_error("Invalid request.", 422, validation={name: [f"The {name} must be an integer {limit}."]})
        )
    return value


def _parsed_q(request, resource: str):
    text = request.GET.get("q", "").strip()
    if not text:
        return None
    try:
        return qfilter.parse(text, fields=FILTER_FIELDS[resource])
    except qfilter.QueryError as exc:
        raise _ListError(api_error(f"Invalid query: {exc}", 422, validation={"q": [str(exc)]})) from exc


def _prefilter(node, prefix: str = "data__") -> Q:
    """A database filter matching at least every document the expression matches: string equalities
    become case-insensitive JSON look-ups, anything else matches everything (Python decides)."""
    if isinstance(node, qfilter.BoolOp):
        parts = [_prefilter(p, prefix) for p in node.parts]
        if node.op == "or" and any(not p for p in parts):
            return Q()
        combined = Q()
        for part in parts:
            combined = (combined & part) if node.op == "and" else (combined | part)
        return combined
    if node.op == "=" and isinstance(node.value, str) and "." not in node.field and node.field != "id":
        return Q(**{f"{prefix}{node.field}__iexact": node.value})
    return Q()


def _sort_key(value):
    if isinstance(value, bool | int | float):
        return (0, float(value), "")
    return (1, 0.0, str(value).lower())


def _sort(items: list[dict], sort: str) -> list[dict]:
    for key in reversed([s.strip() for s in sort.split(",") if s.strip()]):
        descending = key.startswith("-")
        name = key.lstrip("-")
        present = [i for i in items if qfilter.lookup(i, name) is not None]
        missing = [i for i in items if qfilter.lookup(i, name) is None]
        present.sort(key=lambda i, n=name: _sort_key(qfilter.lookup(i, n)), reverse=descending)
        items = present + missing
    return items


def _page_url(request, page: int) -> str:
    params = request.GET.copy()
    params["page"] = str(page)
    return request.build_absolute_uri(request.path) + "?" + urlencode(sorted(params.items()))


def listing(request, items: list[dict], *, project=None) -> JsonResponse:
    """The paginated envelope of the spec for ``items`` (already filtered)."""
    per_page = _int_param(request, "per_page", 5, 1, 100)
    page = _int_param(request, "page", 1, 1, None)
    items = _sort(items, request.GET.get("sort", ""))
    total = len(items)
    last_page = max(1, math.ceil(total / per_page))
    chunk = items[(page - 1) * per_page : page * per_page]
    fields = [f.strip().split(".")[0] for f in request.GET.get("fields", "").split(",") if f.strip()]
    data = [{k: item.get(k) for k in fields} if fields else (project(item) if project else item) for item in chunk]
    first = (page - 1) * per_page + 1
    return _json(
        {
            "current_page": page,
            "data": data,
            "first_page_url": _page_url(request, 1),
            "from": first if chunk else None,
            "last_page": last_page,
            "last_page_url": _page_url(request, last_page),
            "next_page_url": _page_url(request, page + 1) if page < last_page else None,
            "path": request.build_absolute_uri(request.path),
            "per_page": per_page,
            "prev_page_url": _page_url(request, page - 1) if page > 1 else None,
            "to": first + len(chunk) - 1 if chunk else None,
            "total": total,
        }
    )


def _filtered(request, resource: str, queryset) -> list[dict]:
    node = _parsed_q(request, resource)
    if node is not None and resource != "issued_documents":
        queryset = queryset.filter(_prefilter(node))
    docs = [{"id": row.pk, **row.data} for row in queryset]
    return docs if node is None else [d for d in docs if qfilter.matches(node, d)]


def _list_or_error(build):
    try:
        return build()
    except _ListError as exc:
        return exc.response


# --- user -----------------------------------------------------------------------------------------


@fatture_api()
def user_info(request):
    user = request.sandbox_token.user
    return _json(
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
    return _json({"data": {"companies": request.sandbox_token.user.companies}})


# --- company lists --------------------------------------------------------------------------------


@fatture_api(scope="settings:r")
def vat_types(request, company_id):
    rows = SandboxFattureVatType.objects.filter(company_id=company_id)
    return _json({"data": [{"id": row.vat_id, **row.data} for row in rows]})


@fatture_api(scope="products:r")
def products(request, company_id):
    queryset = SandboxFattureProduct.objects.filter(company_id=company_id)
    return _list_or_error(lambda: listing(request, _filtered(request, "products", queryset)))


@fatture_api(scope="products:r")
def product_detail(request, company_id, product_id):
    row = SandboxFattureProduct.objects.filter(company_id=company_id, pk=product_id).first()
    if row is None:
        return api_error("Product not found.", 404)
    return _json({"data": {"id": row.pk, **row.data}})


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
    return _json({"data": {"id": row.pk, **row.data}})


@fatture_api(methods=("GET", "PUT"))
def client_detail(request, company_id, client_id):
    row = SandboxFattureClient.objects.filter(company_id=company_id, pk=client_id).first()
    needed = "entity.clients:r" if request.method == "GET" else "entity.clients:a"
    if not has_scope(request.sandbox_token.scope, needed):
        return scope_error(needed)
    if row is None:
        return api_error("Client not found.", 404)
    if request.method == "GET":
        return _json({"data": {"id": row.pk, **row.data}})
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
    return _json({"data": {"id": row.pk, **row.data}})


# --- issued documents -----------------------------------------------------------------------------


def view_url(request, document_id: int) -> str:
    return request.build_absolute_uri(reverse("sandbox:fatture_view", args=[document_id]))


def _basic(doc: dict) -> dict:
    return {**doc, "items_list": None, "payments_list": None}


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
        queryset = SandboxFattureDocument.objects.filter(company_id=company_id, doc_type=doc_type)
        node = _parsed_q(request, "issued_documents")
        if node is not None:
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
    return _json({"data": doc.data})


@fatture_api(methods=("GET", "POST"))
def documents(request, company_id):
    if request.method == "GET":
        return _documents_list(request, company_id)
    return _document_create(request, company_id)


@fatture_api()
def document_detail(request, company_id, document_id):
    row = SandboxFattureDocument.objects.filter(company_id=company_id, pk=document_id).first()
    if row is None:
        return api_error("Document not found.", 404)
    needed = f"issued_documents.{DOC_SCOPE_FAMILY.get(row.doc_type, 'invoices')}:r"
    if not has_scope(request.sandbox_token.scope, needed):
        return scope_error(needed)
    return _json({"data": row.data})


@csrf_exempt
def not_found(request, rest=""):
    return api_error("Not found.", 404)
