"""Company info, payment accounts, VAT-type creation and webhook subscriptions of the fake Fatture
in Cloud (docs/providers/fatture-in-cloud.md §2.7, §5.2, §9.1, §11; openapi.yaml examples):

- ``GET /c/{cid}/company/info`` (no scope): plan, ``plan_info.functions`` (``e_invoice``, and
  ``receipts`` only from Premium up, FH-20) and the user's permissions;
- ``GET /c/{cid}/info/payment_accounts`` (no scope) and ``POST /c/{cid}/settings/payment_accounts``
  (``settings:a``, ``name`` required);
- ``POST /c/{cid}/settings/vat_types`` (``settings:a``, ``value`` required; the next per-company id);
- ``GET|POST /c/{cid}/subscriptions``, ``GET|PUT|DELETE …/{id}``, ``POST …/{id}/verify``: stored
  and answered in the spec's shapes; the sandbox never calls a sink.
"""

from __future__ import annotations

from django.db.models import Max

from .fatture_http import api_error, fatture_api, json_answer
from .fatture_values import _number, parse_body
from .models import (
    SandboxFatturePaymentAccount,
    SandboxFattureSubscription,
    SandboxFattureUser,
    SandboxFattureVatType,
)

RECEIPT_PLANS = ("premium", "premium_plus", "complete")
PLAN_LIMITS = {"trial": 50, "standard": 1000, "premium": 5000, "premium_plus": 5000, "complete": 5000}
WRITE_AREAS = ("fic_clients", "fic_products", "fic_receipts", "fic_settings", "fic_cashbook", "fic_stock")
DOCUMENT_TYPES = ("invoices", "credit_notes", "receipts", "quotes", "proformas", "orders", "delivery_notes")
EVENT_PREFIX = "it.fattureincloud.webhooks."


def company_of(company_id: int) -> tuple[dict, bool]:
    """The company as ``/user/companies`` lists it, and whether it is reached through an accountant."""
    for user in SandboxFattureUser.objects.all():
        for company in user.companies:
            if int(company["id"]) == company_id:
                return company, False
            for inner in company.get("controlled_companies") or []:
                if int(inner["id"]) == company_id:
                    return inner, True
    return {"id": company_id, "name": f"Company {company_id}", "fic_plan": "standard"}, False


def plan_of(company_id: int) -> str:
    return str(company_of(company_id)[0].get("fic_plan") or "standard")


def receipts_allowed(company_id: int) -> bool:
    return plan_of(company_id) in RECEIPT_PLANS


@fatture_api()
def company_info(request, company_id):
    company, through_accountant = company_of(company_id)
    plan = plan_of(company_id)
    limit = PLAN_LIMITS.get(plan, 1000)
    permissions = {area: "write" for area in WRITE_AREAS}
    permissions.update(
        fic_situation="read",
        fic_issued_documents="detailed",
        fic_issued_documents_detailed={kind: "write" for kind in DOCUMENT_TYPES},
        fic_emails="read",
    )
    functions = {"e_invoice": True, "receipts": plan in RECEIPT_PLANS, "archive": plan != "trial", "stock": True}
    data = {
        "id": company_id,
        "name": company.get("name"),
        "email": None,
        "type": company.get("type", "company"),
        "fic": True,
        "fic_plan_name": plan,
        "fic_license_expire": company.get("fic_license_expire"),
        "access_info": {"role": "master", "through_accountant": through_accountant, "permissions": permissions},
        "plan_info": {
            "limits": {"clients": limit, "suppliers": limit, "products": limit, "documents": limit},
            "functions": functions,
        },
        "is_accountant": company.get("type") == "accountant",
    }
    return json_answer({"data": data})


# --- payment accounts -----------------------------------------------------------------------------


def _account_json(row: SandboxFatturePaymentAccount) -> dict:
    return {"id": row.pk, **row.data}


@fatture_api()
def payment_accounts(request, company_id):
    rows = SandboxFatturePaymentAccount.objects.filter(company_id=company_id)
    return json_answer({"data": [_account_json(row) for row in rows]})


@fatture_api(scope="settings:a", methods=("POST",))
def payment_account_create(request, company_id):
    body = parse_body(request.body) if request.body else None
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict) or not str(data.get("name") or "").strip():
        return api_error("Invalid request.", 422, validation={"data.name": ["The data.name field is required."]})
    kind = data.get("type") or "standard"
    if kind not in ("standard", "bank"):
        return api_error("Invalid request.", 422, validation={"data.type": ["The selected data.type is invalid."]})
    stored = {
        "name": str(data["name"]).strip(),
        "type": kind,
        "iban": data.get("iban"),
        "sia": data.get("sia"),
        "cuc": data.get("cuc"),
        "virtual": bool(data.get("virtual", False)),
    }
    row = SandboxFatturePaymentAccount.objects.create(company_id=company_id, data=stored)
    return json_answer({"data": _account_json(row)})


# --- VAT types ------------------------------------------------------------------------------------


@fatture_api(scope="settings:a", methods=("POST",))
def vat_type_create(request, company_id):
    body = parse_body(request.body) if request.body else None
    data = body.get("data") if isinstance(body, dict) else None
    value = _number(data.get("value")) if isinstance(data, dict) else None
    if value is None or not 0 <= value <= 100:
        return api_error("Invalid request.", 422, validation={"data.value": ["The data.value field is required."]})
    stored = {
        "value": int(value) if value == value.to_integral_value() else float(value),
        "description": str(data.get("description") or ""),
        "notes": str(data.get("notes") or ""),
        "e_invoice": bool(data.get("e_invoice", True)),
        "ei_type": data.get("ei_type") or None,
        "ei_description": data.get("ei_description") or None,
        "editable": True,
        "is_disabled": bool(data.get("is_disabled", False)),
        "default": bool(data.get("default", False)),
    }
    last = SandboxFattureVatType.objects.filter(company_id=company_id).aggregate(last=Max("vat_id"))["last"]
    row = SandboxFattureVatType.objects.create(company_id=company_id, vat_id=(last or 0) + 1, data=stored)
    return json_answer({"data": {"id": row.vat_id, **row.data}})


# --- webhook subscriptions ------------------------------------------------------------------------


def _subscription_body(request):
    body = parse_body(request.body) if request.body else None
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        return None, api_error("Invalid request.", 422, validation={"data": ["The data field is required."]})
    types = data.get("types")
    if not isinstance(types, list) or not types or any(not str(t).startswith(EVENT_PREFIX) for t in types):
        return None, api_error("Invalid request.", 422, validation={"data.types": ["The selected types are invalid."]})
    if not str(data.get("sink") or "").startswith(("https://", "http://")):
        return None, api_error("Invalid request.", 422, validation={"data.sink": ["The data.sink must be a URL."]})
    return data, None


@fatture_api(methods=("GET", "POST"))
def subscriptions(request, company_id):
    rows = SandboxFattureSubscription.objects.filter(company_id=company_id)
    if request.method == "GET":
        return json_answer({"data": [row.data for row in rows]})
    data, refused = _subscription_body(request)
    if refused:
        return refused
    taken = {t for row in rows for t in row.data.get("types", [])}
    warnings = [f"The '{t}' event is already registered for this application" for t in data["types"] if t in taken]
    sub_id = f"SUB{SandboxFattureSubscription.objects.count() + 1:03d}"
    stored = {
        "id": sub_id,
        "sink": data["sink"],
        "verified": False,
        "types": [t for t in data["types"] if t not in taken],
    }
    stored["config"] = {"mapping": ((data.get("config") or {}).get("mapping") or "binary")}
    stored["verification_method"] = data.get("verification_method") or "header"
    SandboxFattureSubscription.objects.create(company_id=company_id, subscription_id=sub_id, data=stored)
    return json_answer({"data": stored, "warnings": warnings})


@fatture_api(methods=("GET", "PUT", "DELETE"))
def subscription_detail(request, company_id, subscription_id):
    row = SandboxFattureSubscription.objects.filter(company_id=company_id, subscription_id=subscription_id).first()
    if row is None:
        return api_error("Subscription not found.", 404)
    if request.method == "DELETE":
        row.delete()
        return json_answer({})
    if request.method == "PUT":
        data, refused = _subscription_body(request)
        if refused:
            return refused
        row.data = {**row.data, "sink": data["sink"], "types": data["types"]}
        row.save(update_fields=["data"])
    return json_answer({"data": row.data})


@fatture_api(methods=("POST",))
def subscription_verify(request, company_id, subscription_id):
    row = SandboxFattureSubscription.objects.filter(company_id=company_id, subscription_id=subscription_id).first()
    if row is None:
        return api_error("Subscription not found.", 404)
    row.data = {**row.data, "verified": True}
    row.save(update_fields=["data"])
    return json_answer({})
