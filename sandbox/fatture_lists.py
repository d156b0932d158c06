"""Lists of the fake Fatture in Cloud: the spec's pagination envelope, ``fields`` projection,
``sort`` and ``q`` filters (sandbox.qfilter) on the filterable fields (docs/providers/fatture-in-cloud.md §3, §3.1,
§3.2)."""

from __future__ import annotations

import math
from urllib.parse import urlencode

from django.db.models import Q
from django.http import JsonResponse

from . import qfilter
from .fatture_http import api_error, json_answer

FILTER_FIELDS = {
    # Sandbox choice for receipts: FiC documents no filterable fields for them ([unverified]).
    "receipts": frozenset({"id", "date", "number", "numeration", "type", "amount_net", "amount_gross", "description"}),
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
            # Sandbox choice: "id" is not in the [3rd] list (§3.2); clients fall back when refused.
            "id",
            # Not in the [3rd] list of filterable fields, but where a caller can put an order marker.
            "subject",
            "visible_subject",
            "notes",
        }
    ),
}

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
    return json_answer(
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
