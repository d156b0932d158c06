"""The corrispettivi register of Fatture in Cloud (``/c/{cid}/receipts``) and the payment accounts
every entry needs: list and create accounts, create a day's receipt split by VAT type, and find
it again before a retry (creating one is not idempotent, like invoices: docs/architecture.md §5.1).

Facts: docs/providers/fatture-in-cloud.md §15 (Receipt fields, Premium requirement, FH-20), §9.1
(payment accounts), §3 (lists, ``q``), §10.4 (look before retrying a create).
"""

from __future__ import annotations

import copy
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils.translation import gettext

from brickinvoice.errors import ServiceError

from .company import company_info
from .documents import q_string
from .errors import FattureNotInPlan, FatturePermissionDenied, FattureScopeMissing

logger = logging.getLogger("fatture.receipts")

CENT = Decimal("0.01")
LOOKUP_MAX_PAGES = 20
_FILTER_REFUSED = (400, 422)


@dataclass(frozen=True)
class PaymentAccount:
    id: int
    name: str
    type: str = "standard"


@dataclass(frozen=True)
class ReceiptLine:
    """Gross takings at one VAT type (VAT included)."""

    vat_id: int
    vat_value: Decimal
    amount_gross: Decimal
    category: str = ""


@dataclass(frozen=True)
class ReceiptDraft:
    """One register entry: a day's takings for one payment account (FH-20 allows one per day per
    payment type, or one per sale). ``marker`` identifies it for the look-up before a retry."""

    date: date
    payment_account_id: int
    marker: str
    lines: tuple[ReceiptLine, ...]
    description: str = ""
    payment_account_name: str = ""


@dataclass(frozen=True)
class Receipt:
    id: int
    date: str
    number: str
    numeration: str
    description: str
    amount_gross: Decimal | None = None


def _text(value) -> str:
    return "" if value is None else str(value).strip()


def _decimal(value) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except (InvalidOperation, ValueError):
        return None


def _money(value: Decimal) -> float:
    return float(Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP))


# --- payment accounts ----------------------------------------------------------------------------


def _account(raw) -> PaymentAccount | None:
    if not isinstance(raw, dict) or raw.get("id") in (None, ""):
        return None
    try:
        return PaymentAccount(int(raw["id"]), _text(raw.get("name")), _text(raw.get("type")) or "standard")
    except (TypeError, ValueError):
        return None


def payment_accounts_list(client) -> list[PaymentAccount]:
    """``GET /c/{cid}/info/payment_accounts`` (not paginated, no scope declared, §9.1)."""
    answer = client.get(client.company_path("info/payment_accounts"))
    rows = answer.get("data") if isinstance(answer, dict) else None
    return [a for a in map(_account, rows if isinstance(rows, list) else []) if a is not None]


def _scope_refusal(exc: FatturePermissionDenied) -> FattureScopeMissing:
    return FattureScopeMissing(exc.detail, status=exc.status)


def payment_account_create(client, *, name: str, type: str = "standard") -> PaymentAccount:  # noqa: A002
    """``POST /c/{cid}/settings/payment_accounts`` (scope ``settings:a``). A 403 means the grant
    predates that scope (``fatture_scope_missing``): the seller reconnects."""
    body = {"data": {"name": str(name).strip()[:100], "type": type}}
    try:
        answer = client.post(client.company_path("settings/payment_accounts"), json=body)
    except FatturePermissionDenied as exc:
        raise _scope_refusal(exc) from exc
    created = _account(answer.get("data") if isinstance(answer, dict) else None)
    if created is None:
        raise ServiceError(
            gettext("Fatture in Cloud did not return the new payment account."), code="fatture_unavailable"
        )
    return created


def payment_account_ensure(client, *, name: str) -> PaymentAccount:
    """The account called ``name`` (letter case ignored), created when missing: one call when it
    exists, two otherwise. Callers keep its id and skip this next time."""
    wanted = str(name).strip().casefold()
    for account in payment_accounts_list(client):
        if account.name.strip().casefold() == wanted:
            return account
    return payment_account_create(client, name=name)


# --- receipts ------------------------------------------------------------------------------------


def receipts_check(client) -> None:
    """Raise ``receipts_not_in_plan`` unless the company's plan includes corrispettivi (FH-20),
    read from the cached company info (fatture.company)."""
    if not company_info(client).receipts_allowed:
        raise FattureNotInPlan(gettext("The company's plan does not include corrispettivi."))


def _marker_tag(marker: str) -> str:
    return f"[{marker}]"


def receipt_payload(draft: ReceiptDraft) -> dict:
    """The create body: one item per VAT type (lines of the same type are summed), gross amounts
    split into net and VAT per type and rounded half-up to the cent (docs/providers/fatture-in-cloud.md §1;
    docs/architecture.md §5.4), totals beside them."""
    gross_by_vat: dict[int, Decimal] = defaultdict(Decimal)
    rates: dict[int, Decimal] = {}
    categories: dict[int, str] = {}
    for line in draft.lines:
        gross_by_vat[line.vat_id] += Decimal(line.amount_gross)
        rates[line.vat_id] = Decimal(line.vat_value)
        categories.setdefault(line.vat_id, line.category)
    items, totals = [], {"net": Decimal(0), "vat": Decimal(0), "gross": Decimal(0)}
    for vat_id in sorted(gross_by_vat):
        gross = gross_by_vat[vat_id].quantize(CENT, rounding=ROUND_HALF_UP)
        net = (gross / (1 + rates[vat_id] / 100)).quantize(CENT, rounding=ROUND_HALF_UP)
        item = {"amount_net": _money(net), "amount_gross": _money(gross), "vat": {"id": vat_id}}
        if categories[vat_id]:
            item["category"] = categories[vat_id]
        items.append(item)
        totals["net"] += net
        totals["vat"] += gross - net
        totals["gross"] += gross
    account: dict[str, object] = {"id": draft.payment_account_id}
    if draft.payment_account_name:
        account["name"] = draft.payment_account_name
    return {
        "data": {
            "date": draft.date.isoformat(),
            "type": "sales_receipt",
            "use_gross_prices": True,
            # The description is where the marker lives: receipts have no other free text to search.
            "description": f"{draft.description} {_marker_tag(draft.marker)}".strip(),
            "payment_account": account,
            "amount_net": _money(totals["net"]),
            "amount_vat": _money(totals["vat"]),
            "amount_gross": _money(totals["gross"]),
            "items_list": items,
        },
        "autocomplete_number": True,
    }


def _receipt(raw) -> Receipt | None:
    if not isinstance(raw, dict) or raw.get("id") in (None, ""):
        return None
    return Receipt(
        id=int(raw["id"]),
        date=_text(raw.get("date")),
        number=_text(raw.get("number")),
        numeration=_text(raw.get("numeration")),
        description=_text(raw.get("description")),
        amount_gross=_decimal(raw.get("amount_gross")),
    )


def receipt_create(client, draft: ReceiptDraft) -> Receipt:
    """``POST /c/{cid}/receipts`` (scope ``receipts:a``). A 403 is explained: the plan lacks
    corrispettivi (``receipts_not_in_plan``), the grant lacks the scope (``fatture_scope_missing``),
    or the user lacks the permission (the 403 itself)."""
    if not draft.lines:
        raise ValueError("a receipt needs at least one line")
    try:
        answer = client.post(client.company_path("receipts"), json=receipt_payload(draft))
    except FatturePermissionDenied as exc:
        info = company_info(client, fresh=True)
        if not info.receipts_allowed:
            raise FattureNotInPlan(exc.detail, status=exc.status) from exc
        if info.can_write("fic_receipts"):
            raise _scope_refusal(exc) from exc
        raise
    created = _receipt(answer.get("data") if isinstance(answer, dict) else None)
    if created is None:
        raise ServiceError(
            gettext("Fatture in Cloud did not return the new receipt."), code="fatture_unavailable", transient=True
        )
    return created


def _cannot_tell(exc: ServiceError) -> ServiceError:
    """A failed look-up loses its HTTP status so that no caller reads it as "nothing was created"
    (the same rule as documents.invoice_find)."""
    unknown = copy.copy(exc)
    unknown.status = None
    return unknown


def _matching(rows, day: str, tag: str, *, stop_before_day: bool) -> Receipt | None:
    for raw in rows:
        if not isinstance(raw, dict):
            continue
        if "description" not in raw:
            raise ServiceError(
                gettext("Fatture in Cloud listed receipts without their description; the marker cannot be checked."),
                code="fatture_unavailable",
                transient=True,
            )
        raw_day = _text(raw.get("date"))
        if raw_day == day and tag in _text(raw.get("description")):
            return _receipt(raw)
        if stop_before_day and raw_day and raw_day < day:
            return None
    return None


def receipt_find(client, *, day: date, marker: str) -> Receipt | None:
    """The receipt of ``day`` carrying ``marker``, if one was already created (look before
    retrying a create whose outcome is unknown). Filters on ``date`` (documented for issued
    documents, [3rd] for receipts); if refused, reads newest first until the day has passed.
    None means "looked and it is not there"; a failed look-up raises without an HTTP status."""
    path, tag, iso = client.company_path("receipts"), _marker_tag(marker), day.isoformat()
    fields = "id,date,number,numeration,description,amount_gross"
    try:
        rows = client.iter_pages(path, {"q": f"date = {q_string(iso)}", "fields": fields}, max_pages=LOOKUP_MAX_PAGES)
        return _matching(rows, iso, tag, stop_before_day=False)
    except ServiceError as exc:
        if exc.status not in _FILTER_REFUSED:
            raise _cannot_tell(exc) from exc
        logger.warning("fatture refused the receipt date filter (%s); reading newest first", exc.status)
    try:
        rows = client.iter_pages(path, {"sort": "-date", "fields": fields}, max_pages=LOOKUP_MAX_PAGES)
        return _matching(rows, iso, tag, stop_before_day=True)
    except ServiceError as exc:
        raise _cannot_tell(exc) from exc
