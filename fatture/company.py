"""What the selected Fatture in Cloud company may do: its plan, whether the plan includes
e-invoicing and the corrispettivi register, and the connected user's permissions.

Read from ``GET /c/{cid}/company/info`` (no scope needed, docs/providers/fatture-in-cloud.md §2.7)
and kept in the shared cache for ``COMPANY_INFO_CACHE_SECONDS``: each read costs quota (§10.3) and a
plan changes rarely.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from django.core.cache import cache

from brickinvoice.shapes import member

COMPANY_INFO_CACHE_SECONDS = 24 * 3600  # a plan changes rarely; "Read my plan again" forgets it
# Corrispettivi need a Premium, Premium Plus or Complete licence (docs/providers/fatture-in-cloud.md §15, FH-20).
RECEIPT_PLANS = frozenset({"premium", "premium_plus", "complete"})
PERMISSION_LEVELS = ("none", "read", "write", "detailed")


@dataclass(frozen=True)
class CompanyInfo:
    """The company's capabilities as FiC states them. ``permissions`` maps an area such as
    ``fic_issued_documents`` or ``fic_receipts`` to ``none|read|write|detailed``;
    ``document_permissions`` the per-type levels when that area is ``detailed``."""

    company_id: int
    name: str = ""
    plan: str = ""
    e_invoice: bool = False
    receipts_allowed: bool = False
    role: str = ""
    through_accountant: bool = False
    license_expire: str = ""
    permissions: dict[str, str] = field(default_factory=dict)
    document_permissions: dict[str, str] = field(default_factory=dict)

    def can_write(self, area: str, document_type: str = "") -> bool:
        """Whether the user may create in ``area`` (e.g. ``fic_issued_documents``, ``invoices``).
        An area FiC did not report counts as allowed: the API itself will refuse if not."""
        level = self.permissions.get(area)
        if level == "detailed" and document_type:
            level = self.document_permissions.get(document_type)
        return level in (None, "write", "detailed")


def info_key(company_id: int) -> str:
    return f"fatture:company-info:{company_id}"


def _bool(value) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _levels(raw) -> dict[str, str]:
    if not isinstance(raw, dict):
        return {}
    return {str(k): str(v) for k, v in raw.items() if isinstance(v, str) and v in PERMISSION_LEVELS}


def parse_company_info(company_id: int, answer) -> CompanyInfo:
    """A typed ``CompanyInfo`` from any answer: missing or odd parts become "not allowed"."""
    data = member(answer, "data")
    plan_info = member(data, "plan_info")
    functions = member(plan_info, "functions")
    access = member(data, "access_info")
    permissions = member(access, "permissions")
    plan = str(data.get("fic_plan_name") or data.get("fic_plan") or "").lower()
    # plan_info.functions.receipts is in the spec; without it, the plan rule of FH-20.
    receipts = _bool(functions["receipts"]) if "receipts" in functions else plan in RECEIPT_PLANS
    return CompanyInfo(
        company_id=int(company_id),
        name=str(data.get("name") or ""),
        plan=plan,
        e_invoice=_bool(functions.get("e_invoice")),
        receipts_allowed=receipts,
        role=str(access.get("role") or ""),
        through_accountant=_bool(access.get("through_accountant")),
        license_expire=str(data.get("fic_license_expire") or ""),
        permissions=_levels(permissions),
        document_permissions=_levels(permissions.get("fic_issued_documents_detailed")),
    )


def company_info(client, *, fresh: bool = False) -> CompanyInfo:
    """The selected company's capabilities, from the shared cache unless ``fresh`` (one API call
    otherwise). Errors raise as the client's typed errors."""
    path = client.company_path("company/info")  # no_company_selected while none is chosen
    company_id = int(client.company_id)
    key = info_key(company_id)
    if not fresh:
        cached = cache.get(key)
        if isinstance(cached, dict):
            try:
                return CompanyInfo(**cached)
            except TypeError:
                pass  # a shape from an older release: read again
    info = parse_company_info(company_id, client.get(path))
    cache.set(key, asdict(info), timeout=COMPANY_INFO_CACHE_SECONDS)
    return info


def company_info_clear(*, company_id: int) -> None:
    """Forget the cached capabilities (e.g. after the seller upgraded the plan)."""
    cache.delete(info_key(company_id))
