"""The fake Fatture in Cloud's HTTP plumbing: the spec's error body, bearer tokens, scopes, and
the per-company quotas (docs/providers/fatture-in-cloud.md §10), wrapped around every API view by
``fatture_api``. See sandbox.fatture_api for the endpoints."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from functools import wraps

from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from .conf import knob
from .fatture_oauth import _latency, digest
from .faults import counter_get, counter_hit
from .models import SandboxFattureToken
from .rolling import rolling_hit


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


def json_answer(body: dict, status: int = 200) -> JsonResponse:
    return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})


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


def _month(utc: datetime) -> tuple[str, float]:
    """The quota month (a calendar month, or SANDBOX_FATTURE_MONTH_SECONDS on a benchmark's clock):
    its id and the seconds until it turns."""
    scaled = int(knob("SANDBOX_FATTURE_MONTH_SECONDS"))
    if scaled > 0:
        now = utc.timestamp()
        return f"s{int(now // scaled)}", scaled - now % scaled
    next_month = datetime(utc.year + utc.month // 12, utc.month % 12 + 1, 1, tzinfo=UTC)
    return f"{utc:%Y%m}", (next_month - utc).total_seconds()


def _quota(company_id: int):
    """(error response or None, hourly remaining, monthly remaining) after counting this call."""
    now = time.time()
    window = max(1.0, knob("SANDBOX_FATTURE_SHORT_WINDOW"))
    month, month_left = _month(datetime.fromtimestamp(now, UTC))
    month_key = f"sandbox:fic:month:{company_id}:{month}"
    # The quota hour lasts SANDBOX_FATTURE_HOUR_SECONDS (3600 unless a benchmark speeds the clock).
    hour = max(1, int(knob("SANDBOX_FATTURE_HOUR_SECONDS")))
    hour_key = f"sandbox:fic:hour:{company_id}:{int(now // hour)}"
    hourly, monthly = int(knob("SANDBOX_FATTURE_HOURLY_LIMIT")), int(knob("SANDBOX_FATTURE_MONTHLY_LIMIT"))
    if counter_get(hour_key) >= hourly:
        wait = math.ceil(hour - now % hour)
        return api_error("Hourly request quota exceeded for this company.", 403, retry_after=wait), 0, 0
    if counter_get(month_key) >= monthly:
        return api_error("Monthly request quota exceeded for this company.", 403, retry_after=month_left), 0, 0
    # The short-term limit is a rolling window: checked (and the call recorded) last, so a call
    # refused by the hour or the month does not take a place in it.
    short_limit = int(knob("SANDBOX_FATTURE_SHORT_LIMIT"))
    refused_for = rolling_hit(short_key(company_id), limit=short_limit, window=window, now=now)
    if refused_for is not None:
        wait = math.ceil(refused_for)
        return api_error("Too many requests: short-term rate limit reached.", 429, retry_after=wait), 0, 0
    used_hour = counter_hit(hour_key, ttl=hour + 120)
    used_month = counter_hit(month_key, ttl=math.ceil(month_left) + 86400)
    return None, max(0, hourly - used_hour), max(0, monthly - used_month)


def short_key(company_id: int) -> str:
    return f"sandbox:fic:short:{company_id}"


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
