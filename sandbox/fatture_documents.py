"""Issued documents of the fake Fatture in Cloud: validation, totals, numbering, creation.

Follows docs/providers/fatture-in-cloud.md §7 (the ``IssuedDocument`` schema of the public OpenAPI spec):

- the body is ``{"data": IssuedDocument, "options": {"fix_payments": bool}}``;
- ``entity.name`` is required; an ``entity.id`` must be an existing client (422 since API 2.3.0);
- every item needs a ``vat.id`` that exists (and is not disabled) in the company, a ``product_id``
  if given must exist, and a unit ``gross_price`` when ``use_gross_prices`` is true, else a unit
  ``net_price``;
- unit prices and payment amounts are rounded to 2 decimals before totals are computed (§1);
  the VAT of each rate is computed once on the rate's summed lines;
- the payments must add up to ``amount_due``, else 422 "Il totale dei pagamenti non corrisponde al
  totale da pagare." with ``extra.totals``, unless ``options.fix_payments`` adjusts the last one.
  With no ``payments_list`` at all, one unpaid payment of the whole amount is created (sandbox
  choice; the real default is [unverified]);
- the next number of the company's (type, year, numeration) series is assigned under a row lock;
  an explicit ``number`` already used answers 409.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from .fatture_values import (  # noqa: F401 - DocumentInvalid, parse_body, stamp, compute_totals: the module's API
    PAYMENTS_MISMATCH,
    DocumentInvalid,
    _date,
    _Errors,
    _float,
    _int_or_none,
    _number,
    _totals_json,
    compute_totals,
    parse_body,
    round2,
    stamp,
)
from .models import (
    SandboxFattureClient,
    SandboxFattureDocument,
    SandboxFattureNumeration,
    SandboxFattureProduct,
    SandboxFattureVatType,
)

DOCUMENT_TYPES = (
    "invoice",
    "quote",
    "proforma",
    "receipt",
    "delivery_note",
    "credit_note",
    "order",
    "work_report",
    "supplier_order",
    "self_own_invoice",
    "self_supplier_invoice",
)


# --- validation -----------------------------------------------------------------------------------


def _validate_entity(company_id: int, data: dict, errors: _Errors) -> dict | None:
    entity = data.get("entity")
    if not isinstance(entity, dict):
        errors.required("data.entity")
        return None
    entity = dict(entity)
    if entity.get("id") is not None:
        client = SandboxFattureClient.objects.filter(company_id=company_id, pk=_int_or_none(entity["id"])).first()
        if client is None:
            errors.invalid("data.entity.id")
            return None
        # Fill what the caller left out from the stored client [unverified: whether FIC does this].
        for key, value in client.data.items():
            entity.setdefault(key, value)
        entity["id"] = client.pk
    if not str(entity.get("name") or "").strip():
        errors.required("data.entity.name")
    return entity


def _validate_items(company_id: int, data: dict, use_gross: bool, errors: _Errors):
    items = data.get("items_list")
    if not isinstance(items, list) or not items:
        errors.required("data.items_list")
        return [], {}
    vat_types = {v.vat_id: v.data for v in SandboxFattureVatType.objects.filter(company_id=company_id)}
    product_ids = {p["product_id"] for p in items if isinstance(p, dict) and p.get("product_id") is not None}
    products = {
        p.pk: p.data
        for p in SandboxFattureProduct.objects.filter(
            company_id=company_id, pk__in=[i for i in map(_int_or_none, product_ids) if i is not None]
        )
    }
    price_key = "gross_price" if use_gross else "net_price"
    cleaned = []
    for index, raw in enumerate(items):
        path = f"data.items_list.{index}"
        if not isinstance(raw, dict):
            errors.add(path, f"The {path} must be an object.")
            continue
        item = dict(raw)
        if item.get("product_id") is not None and _int_or_none(item["product_id"]) not in products:
            errors.invalid(f"{path}.product_id")
        qty = _number(item.get("qty", 1))
        if qty is None or qty == 0:
            errors.add(f"{path}.qty", f"The {path}.qty must be a non-zero number.")
        item["qty"] = _float(qty) if qty is not None else 1
        if _number(item.get(price_key)) is None:
            errors.required(f"{path}.{price_key}")
        discount = _number(item.get("discount") or 0)
        if discount is None or not 0 <= discount <= 100:
            errors.add(f"{path}.discount", f"The {path}.discount must be between 0 and 100.")
        vat = item.get("vat") if isinstance(item.get("vat"), dict) else {}
        vat_id = _int_or_none(vat.get("id"))
        if vat_id is None:
            errors.required(f"{path}.vat.id")
        elif vat_id not in vat_types or vat_types[vat_id].get("is_disabled"):
            errors.invalid(f"{path}.vat.id")
        cleaned.append(item)
    return cleaned, vat_types


def _validate_payments(data: dict, errors: _Errors) -> list[dict]:
    payments = data.get("payments_list") or []
    if not isinstance(payments, list):
        errors.add("data.payments_list", "The data.payments_list must be an array.")
        return []
    cleaned = []
    for index, raw in enumerate(payments):
        path = f"data.payments_list.{index}"
        if not isinstance(raw, dict):
            errors.add(path, f"The {path} must be an object.")
            continue
        payment = dict(raw)
        if _number(payment.get("amount")) is None:
            errors.required(f"{path}.amount")
        if payment.get("due_date") is not None and _date(payment["due_date"]) is None:
            errors.add(f"{path}.due_date", f"The {path}.due_date is not a valid date.")
        status = payment.get("status", "not_paid")
        if status not in ("not_paid", "paid", "reversed"):
            errors.invalid(f"{path}.status")
        if payment.get("paid_date") is not None and _date(payment["paid_date"]) is None:
            errors.add(f"{path}.paid_date", f"The {path}.paid_date is not a valid date.")
        cleaned.append(payment)
    return cleaned


def validate(company_id: int, body) -> dict:
    """The checked request: ``{data, items, payments, totals, vat_types, doc_date, fix_payments}``."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        raise DocumentInvalid("Invalid request.", validation_result={"data": ["The data field is required."]})
    data = body["data"]
    options = body.get("options") if isinstance(body.get("options"), dict) else {}
    errors = _Errors()
    doc_type = data.get("type") or "invoice"
    if doc_type not in DOCUMENT_TYPES:
        errors.invalid("data.type")
    doc_date = timezone.localdate() if data.get("date") in (None, "") else _date(data.get("date"))
    if doc_date is None:
        errors.add("data.date", "The data.date does not match the format Y-m-d.")
    if data.get("number") is not None and _int_or_none(data["number"]) is None:
        errors.add("data.number", "The data.number must be an integer.")
    ei_data = data.get("ei_data") if isinstance(data.get("ei_data"), dict) else {}
    if data.get("e_invoice") and not ei_data.get("payment_method"):
        errors.required("data.ei_data.payment_method")
    if data.get("e_invoice") and doc_type == "credit_note":
        # The credited invoice's number and date are required on credit-note e-invoices (API 2.1.0, §16).
        if not str(ei_data.get("invoice_number") or "").strip():
            errors.required("data.ei_data.invoice_number")
        if _date(ei_data.get("invoice_date")) is None:
            errors.required("data.ei_data.invoice_date")
    entity = _validate_entity(company_id, data, errors)
    use_gross = bool(data.get("use_gross_prices"))
    items, vat_types = _validate_items(company_id, data, use_gross, errors)
    payments = _validate_payments(data, errors)
    errors.raise_if_any()
    vat_values = {vat_id: Decimal(str(v["value"])) for vat_id, v in vat_types.items()}
    totals = compute_totals(items, use_gross_prices=use_gross, vat_values=vat_values)
    payments_sum = sum((round2(_number(p["amount"])) for p in payments), Decimal(0))
    if payments and payments_sum != totals["amount_due"]:
        if not options.get("fix_payments"):
            raise DocumentInvalid(PAYMENTS_MISMATCH, extra={"totals": _totals_json(totals, payments_sum)})
        others = payments_sum - round2(_number(payments[-1]["amount"]))
        payments[-1]["amount"] = _float(totals["amount_due"] - others)
    return {
        "data": data,
        "type": doc_type,
        "entity": entity,
        "items": items,
        "payments": payments,
        "totals": totals,
        "vat_types": vat_types,
        "date": doc_date,
        "use_gross": use_gross,
    }


# --- creation -------------------------------------------------------------------------------------


def _item_json(item: dict, index: int, doc_id: int, use_gross: bool, vat_types: dict) -> dict:
    vat = vat_types[int(item["vat"]["id"])]
    value = Decimal(str(vat["value"]))
    if use_gross:
        gross = round2(_number(item["gross_price"]))
        net = (gross / (1 + value / 100)).quantize(Decimal("0.00001"), rounding=ROUND_HALF_UP)
    else:
        net = round2(_number(item["net_price"]))
        gross = round2(net * (1 + value / 100))
    return {
        "id": doc_id * 100 + index + 1,
        "product_id": _int_or_none(item.get("product_id")),
        "code": item.get("code", ""),
        "name": item.get("name", ""),
        "category": item.get("category", ""),
        "description": item.get("description", ""),
        "qty": item["qty"],
        "measure": item.get("measure", ""),
        "net_price": _float(net),
        "gross_price": _float(gross),
        "vat": {"id": int(item["vat"]["id"]), "value": vat["value"], "description": vat.get("description", "")},
        "not_taxable": bool(item.get("not_taxable", False)),
        "apply_withholding_taxes": bool(item.get("apply_withholding_taxes", False)),
        "discount": item.get("discount", 0),
        "discount_highlight": bool(item.get("discount_highlight", False)),
        "in_dn": bool(item.get("in_dn", False)),
        "stock": bool(item.get("stock", False)),
    }


def _payment_json(payment: dict, index: int, doc_id: int, doc_date: date) -> dict:
    status = payment.get("status", "not_paid")
    return {
        "id": doc_id * 100 + index + 1,
        "amount": _float(round2(_number(payment["amount"]))),
        "due_date": payment.get("due_date") or doc_date.isoformat(),
        "paid_date": payment.get("paid_date") if status == "paid" else None,
        "status": status,
        "payment_terms": payment.get("payment_terms") or {"days": 0, "type": "standard"},
        "payment_account": payment.get("payment_account"),
    }


def _next_number(company_id: int, doc_type: str, year: int, numeration: str, explicit: int | None) -> int:
    series, _ = SandboxFattureNumeration.objects.get_or_create(
        company_id=company_id, doc_type=doc_type, year=year, numeration=numeration
    )
    series = SandboxFattureNumeration.objects.select_for_update().get(pk=series.pk)
    number = explicit if explicit is not None else series.last_number + 1
    if SandboxFattureDocument.objects.filter(
        company_id=company_id, doc_type=doc_type, year=year, numeration=numeration, number=number
    ).exists():
        raise DocumentInvalid(f"Il numero {number}{numeration} è già presente per l'anno {year}.", status=409)
    series.last_number = max(series.last_number, number)
    series.save(update_fields=["last_number"])
    return number


def document_create(*, company_id: int, body, view_url) -> SandboxFattureDocument:
    """Validate ``body`` and create the document; ``view_url(id)`` gives its ``url`` field.
    Raises ``DocumentInvalid`` (422/409) with the spec's error body."""
    checked = validate(company_id, body)
    data, doc_date, totals = checked["data"], checked["date"], checked["totals"]
    numeration = str(data.get("numeration") or "")
    try:
        with transaction.atomic():
            number = _next_number(
                company_id, checked["type"], doc_date.year, numeration, _int_or_none(data.get("number"))
            )
            doc = SandboxFattureDocument.objects.create(
                company_id=company_id,
                doc_type=checked["type"],
                year=doc_date.year,
                numeration=numeration,
                number=number,
                entity_id=_int_or_none((checked["entity"] or {}).get("id")),
                date=doc_date,
                data={},
            )
            doc.data = _document_json(doc, checked, totals, view_url)
            doc.save(update_fields=["data"])
    except IntegrityError as exc:  # two explicit numbers raced
        raise DocumentInvalid("Il numero è già presente.", status=409) from exc
    return doc


# What a PUT may not change (sandbox choice): the numbering and the kind of document.
FIXED_ON_UPDATE = ("id", "type", "number", "numeration", "year", "created_at")


def document_update(*, row: SandboxFattureDocument, body, view_url) -> SandboxFattureDocument:
    """Modify a document (``PUT``, §7.1): the fields sent replace the stored ones (``entity``
    and ``ei_data`` are merged key by key), then the whole document is validated and its totals
    recomputed as on create. A document in flight at SDI or delivered is locked (422): it is
    corrected by a credit note, never edited (docs/providers/fatture-in-cloud.md §16)."""
    if row.data.get("locked"):
        raise DocumentInvalid("Il documento è bloccato: è già stato inviato allo SDI e non può essere modificato.")
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        raise DocumentInvalid("Invalid request.", validation_result={"data": ["The data field is required."]})
    changes = {k: v for k, v in body["data"].items() if k not in FIXED_ON_UPDATE}
    merged = {**row.data, **changes}
    for key in ("entity", "ei_data"):
        if isinstance(changes.get(key), dict) and isinstance(row.data.get(key), dict):
            merged[key] = {**row.data[key], **changes[key]}
    checked = validate(row.company_id, {"data": merged, "options": body.get("options") or {}})
    if checked["date"].year != row.year:
        raise DocumentInvalid("Invalid request.", validation_result={"data.date": ["The year cannot change."]})
    created_at, ei_status = row.data.get("created_at"), row.data.get("ei_status")
    row.date = checked["date"]
    row.entity_id = _int_or_none((checked["entity"] or {}).get("id"))
    row.data = _document_json(row, checked, checked["totals"], view_url)
    row.data.update(
        created_at=created_at or row.data["created_at"],
        ei_status=(ei_status or "not_sent") if row.data["e_invoice"] else None,
    )
    row.save(update_fields=["date", "entity_id", "data"])
    return row


def _document_json(doc: SandboxFattureDocument, checked: dict, totals: dict, view_url) -> dict:
    data = checked["data"]
    payments = checked["payments"] or [{"amount": _float(totals["amount_due"]), "status": "not_paid"}]
    payments_json = [_payment_json(p, i, doc.pk, doc.date) for i, p in enumerate(payments)]
    currency = data.get("currency") if isinstance(data.get("currency"), dict) else {}
    now = stamp()
    return {
        "id": doc.pk,
        "type": doc.doc_type,
        "number": doc.number,
        "numeration": doc.numeration,
        "date": doc.date.isoformat(),
        "year": doc.year,
        "subject": data.get("subject", ""),
        "visible_subject": data.get("visible_subject", ""),
        "rc_center": data.get("rc_center", ""),
        "notes": data.get("notes", ""),
        "entity": checked["entity"],
        "currency": {
            "id": currency.get("id", "EUR"),
            "exchange_rate": str(currency.get("exchange_rate", "1.00000")),
            "symbol": "€" if currency.get("id", "EUR") == "EUR" else currency.get("id"),
        },
        "language": data.get("language") or {"code": "it", "name": "Italiano"},
        "use_gross_prices": checked["use_gross"],
        "use_split_payment": bool(data.get("use_split_payment", False)),
        "e_invoice": bool(data.get("e_invoice", False)),
        "ei_data": data.get("ei_data"),
        # Sandbox choice: an e-invoice starts "not_sent" (FiC's value before the first send is [unverified]).
        "ei_status": "not_sent" if data.get("e_invoice") else None,
        "items_list": [
            _item_json(item, i, doc.pk, checked["use_gross"], checked["vat_types"])
            for i, item in enumerate(checked["items"])
        ],
        "payments_list": payments_json,
        "payment_method": data.get("payment_method"),
        "amount_net": _float(totals["amount_net"]),
        "amount_vat": _float(totals["amount_vat"]),
        "amount_gross": _float(totals["amount_gross"]),
        "amount_due_discount": 0,
        "amount_rivalsa": 0,
        "amount_cassa": 0,
        "amount_withholding_tax": 0,
        "amount_other_withholding_tax": 0,
        "rivalsa": 0,
        "cassa": 0,
        "withholding_tax": 0,
        "withholding_tax_taxable": 100,
        "other_withholding_tax": 0,
        "stamp_duty": 0,
        "show_payments": True,
        "show_payment_method": False,
        "show_totals": "all",
        "is_marked": False,
        "next_due_date": min(p["due_date"] for p in payments_json),
        "url": view_url(doc.pk),
        "locked": False,
        "created_at": now,
        "updated_at": now,
    }
