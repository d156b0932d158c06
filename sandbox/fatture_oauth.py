"""OAuth 2.0 of the fake Fatture in Cloud (docs/providers/fatture-in-cloud.md §2), under ``/sandbox/fatture/oauth/``.

- ``authorize``: an HTML consent page showing the app and the requested scopes, with a choice of
  sandbox Fatture user (so the demo can use a pre-registered and a non-registered e-mail) and
  Approve / Deny buttons. Approve redirects to ``redirect_uri?code=c/...&state=...``; Deny to
  ``redirect_uri?error=access_denied&state=...``. An unknown ``client_id`` or a missing
  ``redirect_uri`` is shown on the page and no callback happens, as on the real service.
- ``token``: ``authorization_code`` and ``refresh_token`` grants; client credentials in the body
  (form-encoded or JSON) or HTTP Basic. Codes live 60 s and work once; access tokens live
  ``SANDBOX_FATTURE_ACCESS_TTL`` seconds (``expires_in``, default 86,400); refresh tokens rotate:
  a refresh returns a new refresh token and the old one stops working (``invalid_grant``).
  Errors use the OAuth shape ``{"error", "error_description"}`` with HTTP 400 (401 for a bad
  client).

``tokens_expire()`` ends every access token now (or one user's), so a demo or test can watch the
product refresh on a 401.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
import time
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from .conf import fatture_client, knob
from .faults import faultable
from .models import SandboxFattureAuthCode, SandboxFattureToken, SandboxFattureUser

REFRESH_TTL = timedelta(days=365)  # one year from the last refresh (§2.2)
APP_NAME = "BrickInvoice"
# Every scope of the spec (openapi.yaml, securitySchemes), with the spec's own wording.
SCOPE_LABELS = {
    "entity.clients:r": "Read permission to the Clients registry",
    "entity.clients:a": "Write permission to the Clients registry",
    "entity.suppliers:r": "Read permission to the Suppliers registry",
    "entity.suppliers:a": "Write permission to the Suppliers registry",
    "products:r": "Read permission to the Products",
    "products:a": "Write permission to the Products",
    **{
        f"issued_documents.{family}:{mode}": f"{word} permission to the issued {label}"
        for family, label in (
            ("invoices", "Invoices"),
            ("credit_notes", "Credit Notes"),
            ("receipts", "Receipts"),
            ("orders", "Orders"),
            ("quotes", "Quotes"),
            ("proformas", "Proformas"),
            ("delivery_notes", "Delivery Notes"),
            ("work_reports", "Work Reports"),
            ("supplier_orders", "Supplier Orders"),
            ("self_invoices", "Self Invoices"),
        )
        for mode, word in (("r", "Read"), ("a", "Write"))
    },
    **{
        f"{family}:{mode}": f"{word} permission to the {label}"
        for family, label in (
            ("received_documents", "Received Documents"),
            ("stock", "Stock movements"),
            ("receipts", "Receipts"),
            ("calendar", "Calendar"),
            ("taxes", "Taxes"),
            ("archive", "Archive Documents"),
            ("cashbook", "Cashbook"),
            ("settings", "Settings"),
        )
        for mode, word in (("r", "Read"), ("a", "Write"))
    },
    "emails:r": "Read permission to the Emails",
    "situation:r": "Read permission to the company Situation",
}


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _latency() -> None:
    delay = knob("SANDBOX_FATTURE_LATENCY_MS")
    if delay > 0:
        time.sleep(delay / 1000)


# --- authorize ------------------------------------------------------------------------------------


def _with_query(uri: str, **params) -> str:
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True) + [(k, v) for k, v in params.items() if v is not None]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _page_error(request, message: str):
    return render(request, "sandbox/oauth_error.html", {"message": message}, status=400)


@require_http_methods(["GET", "POST"])
def authorize(request):
    params = request.GET if request.method == "GET" else request.POST
    client_id, redirect_uri = params.get("client_id", ""), params.get("redirect_uri", "")
    state, scope = params.get("state"), params.get("scope", "")
    if client_id != fatture_client()[0]:
        return _page_error(request, f"Unknown application (client_id {client_id!r}).")
    if urlsplit(redirect_uri).scheme not in ("http", "https"):
        return _page_error(request, "The redirect_uri is missing or is not an http(s) URL.")
    if params.get("response_type") != "code":
        return HttpResponseRedirect(_with_query(redirect_uri, error="unsupported_response_type", state=state))
    scopes = scope.split()
    unknown = [s for s in scopes if s not in SCOPE_LABELS]
    if not scopes or unknown:
        return HttpResponseRedirect(
            _with_query(redirect_uri, error="invalid_scope", error_description=" ".join(unknown), state=state)
        )
    if request.method == "POST":
        return _decide(request, client_id=client_id, redirect_uri=redirect_uri, scope=scope, state=state)
    context = {
        "app_name": APP_NAME,
        "scopes": [(s, SCOPE_LABELS[s]) for s in scopes],
        "users": SandboxFattureUser.objects.all(),
        "params": {k: params.get(k, "") for k in ("response_type", "client_id", "redirect_uri", "scope", "state")},
        "redirect_host": urlsplit(redirect_uri).netloc,
    }
    return render(request, "sandbox/authorize.html", context)


def _decide(request, *, client_id: str, redirect_uri: str, scope: str, state: str | None):
    if request.POST.get("decision") != "approve":
        return HttpResponseRedirect(
            _with_query(redirect_uri, error="access_denied", error_description="The user denied access.", state=state)
        )
    user = SandboxFattureUser.objects.filter(pk=request.POST.get("user") or 0).first()
    if user is None:
        return _page_error(request, "Choose the Fatture in Cloud user to sign in as.")
    code = "c/" + secrets.token_urlsafe(24)
    SandboxFattureAuthCode.objects.create(
        code_hash=digest(code),
        user=user,
        client_id=client_id,
        redirect_uri=redirect_uri,
        scope=scope,
        expires_at=timezone.now() + timedelta(seconds=knob("SANDBOX_FATTURE_CODE_TTL")),
    )
    return HttpResponseRedirect(_with_query(redirect_uri, code=code, state=state))


# --- token ----------------------------------------------------------------------------------------


def oauth_error(error: str, description: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": error, "error_description": description}, status=status)


def _form(request) -> dict:
    if request.content_type == "application/json":
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return {}
        return {k: str(v) for k, v in body.items()} if isinstance(body, dict) else {}
    return request.POST.dict()


def _client_credentials(request, form: dict) -> tuple[str, str]:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header.lower().startswith("basic "):
        try:
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            return client_id, secret
        except (binascii.Error, UnicodeDecodeError):
            return "", ""
    return form.get("client_id", ""), form.get("client_secret", "")


def tokens_issue(*, user: SandboxFattureUser, client_id: str, scope: str) -> dict:
    """A new grant; returns the token response body (the only place the raw tokens exist)."""
    access, refresh = "a/" + secrets.token_urlsafe(32), "r/" + secrets.token_urlsafe(32)
    ttl = int(knob("SANDBOX_FATTURE_ACCESS_TTL"))
    now = timezone.now()
    SandboxFattureToken.objects.create(
        user=user,
        client_id=client_id,
        scope=scope,
        access_hash=digest(access),
        refresh_hash=digest(refresh),
        access_expires_at=now + timedelta(seconds=ttl),
        refresh_expires_at=now + REFRESH_TTL,
    )
    return {"token_type": "bearer", "access_token": access, "refresh_token": refresh, "expires_in": ttl}


def _grant_code(form: dict, client_id: str) -> JsonResponse:
    code = form.get("code", "")
    if not code:
        return oauth_error("invalid_request", "The code field is required when grant type is authorization_code.")
    row = SandboxFattureAuthCode.objects.filter(code_hash=digest(code)).select_related("user").first()
    if row is None or row.used or row.expires_at <= timezone.now() or row.client_id != client_id:
        return oauth_error("invalid_grant", "The authorization code is invalid, expired or already used.")
    if form.get("redirect_uri", "") != row.redirect_uri:
        return oauth_error("invalid_grant", "The redirect_uri does not match the one of the authorization request.")
    # Single use even under concurrency: only one request flips `used`.
    if not SandboxFattureAuthCode.objects.filter(pk=row.pk, used=False).update(used=True):
        return oauth_error("invalid_grant", "The authorization code is invalid, expired or already used.")
    return JsonResponse(tokens_issue(user=row.user, client_id=client_id, scope=row.scope))


def _grant_refresh(form: dict, client_id: str) -> JsonResponse:
    refresh = form.get("refresh_token", "")
    if not refresh:
        return oauth_error("invalid_request", "The refresh token field is required when grant type is refresh_token.")
    row = SandboxFattureToken.objects.filter(refresh_hash=digest(refresh)).select_related("user").first()
    now = timezone.now()
    if row is None or row.revoked or row.refresh_expires_at <= now or row.client_id != client_id:
        return oauth_error("invalid_grant", "The refresh token is invalid.")
    # Rotation: the old refresh token works exactly once.
    if not SandboxFattureToken.objects.filter(pk=row.pk, revoked=False).update(revoked=True):
        return oauth_error("invalid_grant", "The refresh token is invalid.")
    return JsonResponse(tokens_issue(user=row.user, client_id=client_id, scope=row.scope))


@csrf_exempt
@require_POST
@faultable("fatture.oauth.token")
def token(request):
    _latency()
    form = _form(request)
    client_id, client_secret = _client_credentials(request, form)
    expected_id, expected_secret = fatture_client()
    if client_id != expected_id or not secrets.compare_digest(client_secret, expected_secret):
        return oauth_error("invalid_client", "Client authentication failed.", status=401)
    grant = form.get("grant_type", "")
    if grant == "authorization_code":
        response = _grant_code(form, client_id)
    elif grant == "refresh_token":
        response = _grant_refresh(form, client_id)
    else:
        response = oauth_error("unsupported_grant_type", f"The grant type {grant!r} is not supported.")
    response["Cache-Control"] = "no-store"
    return response


def tokens_expire(*, email: str | None = None) -> int:
    """End access tokens now (all, or one user's); their refresh tokens keep working."""
    rows = SandboxFattureToken.objects.filter(revoked=False, access_expires_at__gt=timezone.now())
    if email:
        rows = rows.filter(user__email__iexact=email)
    return rows.update(access_expires_at=timezone.now())


def tokens_revoke(*, email: str | None = None) -> int:
    """Revoke grants entirely (access and refresh), as when the user removes the app's access."""
    rows = SandboxFattureToken.objects.filter(revoked=False)
    if email:
        rows = rows.filter(user__email__iexact=email)
    return rows.update(revoked=True, access_expires_at=timezone.now())
