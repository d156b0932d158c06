"""The corrispettivi register of the fake Fatture in Cloud (``/c/{cid}/receipts``,
docs/providers/fatture-in-cloud.md §15; openapi.yaml ``Receipt``):

- only on Premium, Premium Plus and Complete plans (FH-20); other plans answer 403 without
  ``Retry-After`` (FiC's exact answer is [unverified]);
- ``POST`` needs ``receipts:a``, ``date``, ``type`` (``till_receipt`` | ``sales_receipt``) and a
  ``payment_account`` of the company; each item needs a ``vat.id`` of the company and an amount.
  Missing net/gross amounts are computed from the VAT rate and rounded to the cent; the number is
  the next of the year when ``autocomplete_number`` is set. Fault hook ``fatture.receipts.create``;
- ``GET`` lists (``receipts:r``) with pagination, ``fields``, ``sort`` and ``q`` on the fields below
  (which fields FiC lets you filter receipts on is [unverified]); ``GET …/{id}`` reads one.
"""

from __future__ import annotations

from django.http import JsonResponse

from .fatture_http import api_error, fatture_api, has_scope, json_answer, scope_error
from .fatture_lists import _filtered, _list_or_error, listing
from .fatture_settings import receipts_allowed
from .fatture_values import DocumentInvalid, _date, _Errors, _float, _int_or_none, _number, parse_body, round2, stamp
from .faults import faultable
from .models import SandboxFatturePaymentAccount, SandboxFattureReceipt, SandboxFattureVatType

NOT_IN_PLAN = "Il piano attuale non comprende la gestione dei corrispettivi."


def _plan_refusal() -> JsonResponse:
    return api_error(NOT_IN_PLAN, 403, code="NO_PERMISSION")


def _items(company_id: int, raw, use_gross: bool, errors: _Errors) -> list[dict]:
    if not isinstance(raw, list) or not raw:
        errors.required("data.items_list")
        return []
    vat_types = {v.vat_id: v.data for v in SandboxFattureVatType.objects.filter(company_id=company_id)}
    items = []
    for index, item in enumerate(raw):
        path = f"data.items_list.{index}"
        vat_id = _int_or_none((item.get("vat") or {}).get("id")) if isinstance(item, dict) else None
        if vat_id not in vat_types:
            errors.invalid(f"{path}.vat.id")
            continue
        rate = _number(vat_types[vat_id]["value"])
        gross, net = _number(item.get("amount_gross")), _number(item.get("amount_net"))
        if gross is None and net is None:
            errors.required(f"{path}.{'amount_gross' if use_gross else 'amount_net'}")
            continue
        gross = round2(gross) if gross is not None else round2(net * (1 + rate / 100))
        net = round2(net) if net is not None else round2(gross / (1 + rate / 100))
        items.append(
            {
                "id": None,
                "amount_net": _float(net),
                "amount_vat": _float(gross - net),
                "amount_gross": _float(gross),
                "category": item.get("category") or "",
                "vat": {"id": vat_id, **vat_types[vat_id]},
            }
        )
    return items


def _receipt(company_id: int, body) -> dict:
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        raise DocumentInvalid("Invalid request.", validation_result={"data": ["The data field is required."]})
    data, errors = body["data"], _Errors()
    day = _date(data.get("date"))
    if day is None:
        errors.required("data.date")
    if data.get("type") not in ("till_receipt", "sales_receipt"):
        errors.required("data.type")
    account_id = _int_or_none((data.get("payment_account") or {}).get("id"))
    account = SandboxFatturePaymentAccount.objects.filter(company_id=company_id, pk=account_id).first()
    if account is None:
        errors.required("data.payment_account")
    use_gross = bool(data.get("use_gross_prices"))
    items = _items(company_id, data.get("items_list"), use_gross, errors)
    errors.raise_if_any()
    return {
        "date": day.isoformat(),
        "number": _int_or_none(data.get("number")),
        "numeration": str(data.get("numeration") or ""),
        "amount_net": _float(sum((_number(i["amount_net"]) for i in items), _number(0))),
        "amount_vat": _float(sum((_number(i["amount_vat"]) for i in items), _number(0))),
        "amount_gross": _float(sum((_number(i["amount_gross"]) for i in items), _number(0))),
        "use_gross_prices": use_gross,
        "type": data["type"],
        "description": str(data.get("description") or ""),
        "rc_center": str(data.get("rc_center") or ""),
        "payment_account": {"id": account.pk, **account.data},
        "items_list": items,
    }


@faultable("fatture.receipts.create")
def _create(request, company_id):
    try:
        body = parse_body(request.body)
        receipt = _receipt(company_id, body)
    except DocumentInvalid as exc:
        return JsonResponse(exc.body, status=exc.status)
    same_year = SandboxFattureReceipt.objects.filter(company_id=company_id, date__year=int(receipt["date"][:4]))
    if receipt["number"] is None and isinstance(body, dict) and body.get("autocomplete_number"):
        numbers = [_int_or_none(n) or 0 for n in same_year.values_list("data__number", flat=True)]
        receipt["number"] = max(numbers, default=0) + 1
    receipt["created_at"] = receipt["updated_at"] = stamp()
    row = SandboxFattureReceipt.objects.create(company_id=company_id, date=receipt["date"], data=receipt)
    return json_answer({"data": {"id": row.pk, **row.data}})


@fatture_api(methods=("GET", "POST"))
def receipts(request, company_id):
    if not receipts_allowed(company_id):
        return _plan_refusal()
    needed = "receipts:r" if request.method == "GET" else "receipts:a"
    if not has_scope(request.sandbox_token.scope, needed):
        return scope_error(needed)
    if request.method == "POST":
        return _create(request, company_id)
    queryset = SandboxFattureReceipt.objects.filter(company_id=company_id)
    return _list_or_error(lambda: listing(request, _filtered(request, "receipts", queryset)))


@fatture_api()
def receipt_detail(request, company_id, receipt_id):
    if not receipts_allowed(company_id):
        return _plan_refusal()
    if not has_scope(request.sandbox_token.scope, "receipts:r"):
        return scope_error("receipts:r")
    row = SandboxFattureReceipt.objects.filter(company_id=company_id, pk=receipt_id).first()
    if row is None:
        return api_error("Receipt not found.", 404)
    return json_answer({"data": {"id": row.pk, **row.data}})
