"""Typed Fatture in Cloud errors, one per kind of answer (docs/providers/fatture-in-cloud.md §10), and the mapping
from an HTTP response to them. Each carries a code of brickinvoice.errors.CATALOGUE."""

from __future__ import annotations

import requests

from brickinvoice.errors import ServiceError
from brickinvoice.http import parse_retry_after

DETAIL_LIMIT = 2000


class FattureError(ServiceError):
    code = "fatture_unavailable"


class FattureAuthFailed(FattureError):
    """401 that a refresh did not cure, a refused refresh, or a connection that needs reconnecting."""

    code = "fatture_auth_failed"
    transient = False


class FattureNotConnected(FattureError):
    code = "fatture_not_connected"
    transient = False


class FattureQuotaExceeded(FattureError):
    """403 with Retry-After (hourly/monthly quota), 429 (short-term limit), or our own budget."""

    code = "fatture_quota"
    transient = True


class FattureBudgetSpent(FattureQuotaExceeded):
    """Our own per-company budget (or a remembered Retry-After) refused the call: nothing was sent,
    so a create refused this way proves that no document was created."""

    request_sent = False


class FatturePermissionDenied(FattureError):
    """403 without Retry-After: missing scope, user permission or an expired plan. Do not retry."""

    code = "fatture_permission"
    transient = False


class FattureNotFound(FattureError):
    """404: wrong company or resource id. Callers map it to product_not_found / company_not_found."""

    code = "fatture_not_found"
    transient = False


class FattureRejected(FattureError):
    """409 conflict or 422 validation: Fatture's own words are in ``detail``."""

    code = "invoice_creation_failed"
    transient = False


class FattureBadRequest(FattureError):
    """400, 405 and other 4xx: a request we built wrong."""

    code = "internal_error"
    transient = False


class FattureUnavailable(FattureError):
    """5xx, timeouts, connection failures, unreadable answers."""

    code = "fatture_unavailable"
    transient = True


class NoCompanySelected(FattureError):
    code = "no_company_selected"
    transient = False


def _flatten(value: object) -> list[str]:
    """validation_result is an object keyed by field, an array, or {"xml_errors": [...]} (§10.1)."""
    if value is None or value == "":
        return []
    if isinstance(value, dict):
        out: list[str] = []
        for key, inner in value.items():
            out.extend(f"{key}: {line}" for line in _flatten(inner))
        return out
    if isinstance(value, list | tuple):
        return [line for item in value for line in _flatten(item)]
    return [str(value)]


def error_detail(response: requests.Response) -> str:
    """Fatture's own words from an error answer: error.message plus validation messages."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    error = body.get("error")
    parts: list[str] = []
    if isinstance(error, dict):
        if error.get("message"):
            parts.append(str(error["message"]))
        parts.extend(_flatten(error.get("validation_result")))
        if error.get("code"):
            parts.append(f"[{error['code']}]")
    elif isinstance(error, str):  # OAuth-shaped errors
        parts.append(f"{error}: {body.get('error_description') or ''}".strip(": "))
    extra = body.get("extra")
    if isinstance(extra, dict):
        parts.extend(_flatten(extra.get("errors")))
    return " ".join(parts)[:DETAIL_LIMIT]


def raise_for_response(response: requests.Response) -> None:
    """Nothing for a 2xx/3xx answer; the typed error for anything else."""
    status = response.status_code
    if status < 400:
        return
    detail = error_detail(response)
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if status == 401:
        raise FattureAuthFailed(detail, status=status)
    if status == 403:
        if retry_after is not None:
            raise FattureQuotaExceeded(detail, status=status, retry_after=retry_after)
        raise FatturePermissionDenied(detail, status=status)
    if status == 404:
        raise FattureNotFound(detail, status=status)
    if status in (409, 422):
        raise FattureRejected(detail, status=status)
    if status == 429:
        raise FattureQuotaExceeded(detail, status=status, retry_after=retry_after if retry_after is not None else 60)
    if status >= 500:
        # An answer came: Fatture's own error, not a timeout (the seller's message says which).
        raise FattureUnavailable(detail, status=status, code="fatture_server_error")
    raise FattureBadRequest(detail, status=status)


# --- e-invoicing, receipts, webhooks ------------------------------------------------------------


class FattureNotInPlan(FattureError):
    """The company's Fatture in Cloud plan lacks the function (``plan_info.functions``, §2.7):
    ``receipts_not_in_plan`` (corrispettivi need Premium or higher, §15) or ``einvoice_not_in_plan``."""

    code = "receipts_not_in_plan"
    transient = False


class FattureScopeMissing(FattureError):
    """403 on a call whose scope was added to ``oauth.SCOPES`` after the seller consented: only a
    new consent widens a grant (docs/providers/fatture-in-cloud.md §2.2, §2.4)."""

    code = "fatture_scope_missing"
    transient = False


class FattureWebhooksUnavailable(FattureError):
    """FiC refused to register webhooks for our app ("This app is not enabled to register
    webhooks", ``NO_PERMISSION``, docs/providers/fatture-in-cloud.md §11). Polling stays the baseline."""

    code = "fatture_webhooks_unavailable"
    transient = False
