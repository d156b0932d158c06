"""OAuth 2.0 with Fatture in Cloud (docs/providers/fatture-in-cloud.md §2): authorize URL, code exchange, refresh.

Client credentials go in the request body (``include_client_id=True``), as the official SDKs do.
Token-endpoint calls are logged like every other provider call (method, path, status, duration),
never with their bodies.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import requests
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from oauthlib.oauth2 import OAuth2Error
from requests_oauthlib import OAuth2Session

from .errors import FattureAuthFailed, FattureUnavailable

logger = logging.getLogger("fatture.oauth")

# requests-oauthlib prints token request and response bodies at DEBUG; secrets never reach a log.
logging.getLogger("requests_oauthlib").setLevel(logging.INFO)
logging.getLogger("oauthlib").setLevel(logging.INFO)

# The minimum set (docs/providers/fatture-in-cloud.md §2.4), plus the matching ":r" scopes: whether ":a"
# implies ":r" is only stated by third parties [3rd], and invoicing reads clients and invoices (search
# before create). products:r lists products; settings:r is what GET /c/{cid}/info/vat_types declares.
# E-invoicing adds: credit notes (documents of type credit_note, and the e-invoice status webhook needs
# read scope on invoices and credit notes, §11), the corrispettivi register (receipts, §15), and
# settings:a to create VAT types and payment accounts (§5.2, §9.1); products:a creates the product a
# mapping slot lacks (§4, spec createProduct). The e-invoice endpoints declare no
# scope of their own. A grant made before these were added lacks them until the seller reconnects (§2.2).
SCOPES = [
    "entity.clients:r",
    "entity.clients:a",
    "issued_documents.invoices:r",
    "issued_documents.invoices:a",
    "issued_documents.credit_notes:r",
    "issued_documents.credit_notes:a",
    "receipts:r",
    "receipts:a",
    "products:r",
    "products:a",
    "settings:r",
    "settings:a",
]


@dataclass(frozen=True)
class TokenSet:
    """Tokens as the token endpoint returned them; repr never shows them."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: datetime | None


class OAuthRejected(FattureAuthFailed):
    """The token endpoint refused (invalid_grant, invalid_client, ...): only a new consent helps."""

    def __init__(self, error: str, description: str = "", *, status: int | None = None):
        super().__init__(f"{error}: {description}".strip(": ")[:500], status=status)
        self.error = error


def token_url() -> str:
    """``FATTURE_TOKEN_URL`` (default ``{FATTURE_API_URL}/oauth/token``): code exchange and refresh."""
    return settings.FATTURE_TOKEN_URL


def redirect_uri(request) -> str:
    """The callback URL exactly as registered on the Fatture app (compared by string equality)."""
    path = reverse("fatture:callback")
    if settings.PUBLIC_BASE_URL:
        return settings.PUBLIC_BASE_URL + path
    return request.build_absolute_uri(path)


def _allow_http_for_local_fakes(url: str) -> None:
    # oauthlib refuses plain http; the in-repo sandbox (and a DEBUG run against it) speaks http.
    if url.startswith("http://") and (settings.SANDBOX or settings.DEBUG):
        os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")


def authorization_url(*, state: str, redirect_uri: str) -> str:
    """Where to send the seller's browser: response_type=code, client_id, redirect_uri, scope, state."""
    _allow_http_for_local_fakes(settings.FATTURE_AUTHORIZE_URL)
    oauth = OAuth2Session(settings.FATTURE_CLIENT_ID, redirect_uri=redirect_uri, scope=SCOPES, state=state)
    url, _ = oauth.authorization_url(settings.FATTURE_AUTHORIZE_URL)
    return url


def _token_set(token: dict) -> TokenSet:
    expires_in = token.get("expires_in")
    expires_at = None
    if expires_in is not None and expires_in != "":
        expires_at = timezone.now() + timedelta(seconds=float(expires_in))
    return TokenSet(
        access_token=str(token.get("access_token") or ""),
        refresh_token=str(token.get("refresh_token") or ""),
        expires_at=expires_at,
    )


def _call_token_endpoint(hook: str, call) -> TokenSet:
    """Run one token-endpoint call, mapping failures to typed errors by the HTTP status seen."""
    _allow_http_for_local_fakes(token_url())
    oauth = OAuth2Session(settings.FATTURE_CLIENT_ID, scope=SCOPES)
    seen: dict = {}

    def keep_status(response):
        seen["status"] = response.status_code
        return response

    # The hook name is one of two literals chosen by the caller; the stubs overload per literal.
    oauth.register_compliance_hook(hook, keep_status)  # type: ignore[call-overload]
    started = time.monotonic()
    try:
        return _token_set(call(oauth))
    except OAuth2Error as exc:
        status = seen.get("status")
        if status is not None and (status >= 500 or status == 429):
            raise FattureUnavailable(gettext("The token endpoint failed."), status=status) from exc
        raise OAuthRejected(exc.error or "oauth_error", exc.description or "", status=status) from exc
    except requests.RequestException as exc:
        raise FattureUnavailable(
            gettext("The token endpoint could not be reached (%(error)s).") % {"error": type(exc).__name__}
        ) from exc
    finally:
        logger.info(
            "fatture POST /oauth/token status=%s duration_ms=%d",
            seen.get("status", "error"),
            (time.monotonic() - started) * 1000,
        )


def token_from_code(*, code: str, redirect_uri: str) -> TokenSet:
    """Exchange the authorization code (valid 60 s, single use) for tokens."""

    def call(oauth: OAuth2Session) -> dict:
        oauth.redirect_uri = redirect_uri
        return oauth.fetch_token(
            token_url(),
            code=code,
            client_secret=settings.FATTURE_CLIENT_SECRET,
            include_client_id=True,
            timeout=settings.HTTP_TIMEOUT,
        )

    return _call_token_endpoint("access_token_response", call)


def token_refresh(*, refresh_token: str) -> TokenSet:
    """A new access token and a new (rotated) refresh token; the caller saves both."""

    def call(oauth: OAuth2Session) -> dict:
        return oauth.refresh_token(
            token_url(),
            refresh_token=refresh_token,
            client_id=settings.FATTURE_CLIENT_ID,
            client_secret=settings.FATTURE_CLIENT_SECRET,
            timeout=settings.HTTP_TIMEOUT,
        )

    tokens = _call_token_endpoint("refresh_token_response", call)
    if not tokens.access_token:
        raise OAuthRejected("missing_token", gettext("The refresh answer carried no access token."))
    return tokens
