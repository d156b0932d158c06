"""Values of the fake Fatture in Cloud's documents: the spec's error body, numbers and dates as
FiC reads them, rounding and totals (docs/providers/fatture-in-cloud.md §1, §7.2, §7.4)."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils import timezone

PAYMENTS_MISMATCH = "Il totale dei pagamenti non corrisponde al totale da pagare."
CENT = Decimal("0.01")
ZERO = Decimal(0)


class DocumentInvalid(Exception):
    """422 (or ``status``) with the spec's error body."""

    def __init__(self, message: str, validation_result=None, extra: dict | None = None, status: int = 422):
        super().__init__(message)
        self.body = {"error": {"message": message, "validation_result": validation_result}}
        if extra:
            self.body["extra"] = extra
        self.status = status


@dataclass
class _Errors:
    items: dict[str, list[str]] = field(default_factory=dict)

    def add(self, path: str, message: str) -> None:
        self.items.setdefault(path, []).append(message)

    def required(self, path: str) -> None:
        self.add(path, f"The {path} field is required.")

    def invalid(self, path: str) -> None:
        self.add(path, f"The selected {path} is invalid.")

    def raise_if_any(self) -> None:
        if self.items:
            raise DocumentInvalid("Invalid request.", validation_result=self.items)


def round2(value: Decimal) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def _number(value) -> Decimal | None:
    if isinstance(value, bool) or value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _date(value) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        return None


def _float(value: Decimal) -> float | int:
    """Amounts are JSON numbers; whole values come back as integers, as in the spec examples."""
    value = Decimal(value)
    return int(value) if value == value.to_integral_value() else float(value)


def stamp() -> str:
    return timezone.localtime().strftime("%Y-%m-%d %H:%M:%S")


# --- totals ---------------------------------------------------------------------------------------


def compute_totals(items: list[dict], *, use_gross_prices: bool, vat_values: dict[int, Decimal]) -> dict:
    """Totals of validated items (each with ``qty``, unit price, ``discount`` and ``vat.id``)."""
    groups: dict[Decimal, Decimal] = defaultdict(Decimal)
    for item in items:
        value = vat_values[int(item["vat"]["id"])]
        factor = Decimal(str(item.get("qty", 1))) * (1 - (_number(item.get("discount")) or ZERO) / 100)
        unit = round2(_number(item["gross_price" if use_gross_prices else "net_price"]))
        groups[value] += round2(unit * factor)
    vat_list, amount_net, amount_vat = {}, Decimal(0), Decimal(0)
    for value, base in sorted(groups.items()):
        if use_gross_prices:
            net = round2(base / (1 + value / 100))
            vat = base - net
        else:
            net = base
            vat = round2(net * value / 100)
        vat_list[format(value.normalize(), "f")] = {"amount_net": _float(net), "amount_vat": _float(vat)}
        amount_net += net
        amount_vat += vat
    gross = amount_net + amount_vat
    return {
        "amount_net": amount_net,
        "amount_vat": amount_vat,
        "amount_gross": gross,
        "amount_due": gross,
        "taxable_amount": amount_net,
        "vat_list": vat_list,
    }


def _totals_json(totals: dict, payments_sum: Decimal) -> dict:
    return {
        "amount_net": _float(totals["amount_net"]),
        "amount_global_cassa_taxable": _float(totals["amount_net"]),
        "taxable_amount": _float(totals["taxable_amount"]),
        "vat_list": totals["vat_list"],
        "amount_vat": _float(totals["amount_vat"]),
        "amount_gross": _float(totals["amount_gross"]),
        "amount_enasarco_taxable": 0,
        "amount_due": _float(totals["amount_due"]),
        "amount_due_discount": None,
        "payments_sum": _float(payments_sum),
    }


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def parse_body(raw: bytes):
    """The JSON body, or ``DocumentInvalid`` as Fatture answers an unreadable one."""
    try:
        return json.loads(raw or b"{}")
    except ValueError as exc:
        raise DocumentInvalid("Invalid JSON data in request body.") from exc
