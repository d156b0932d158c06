"""Fatture in Cloud webhooks: the sink that receives e-invoice status updates, and the subscription
that asks FiC to send them. Optional (``FATTURE_WEBHOOKS_ENABLED``, off by default): reading
``ei_status`` by listing stays the baseline, and a notification only makes a change arrive sooner.

Facts (docs/providers/fatture-in-cloud.md §11): FiC verifies a sink with ``GET`` carrying
``x-fic-verification-challenge`` (header or query) and wants ``{"verification": <challenge>}``;
notifications are CloudEvents (binary mode: ``ce-id``, ``ce-type``, ``ce-subject: company:<id>`` in
headers, ``{"data": {"ids": [...]}}`` as body; structured mode: all of it in the JSON body), signed
by ``Authorization: Bearer <JWT>`` (ES256 with FiC's public key, ``aud`` = [sink], ``exp`` 3 h, ``jti``
= ce-id), delivered at least once: we deduplicate on ``ce-id`` and answer fast. The work is a
signal, ``einvoice_status_changed``, whose receiver (invoicing's) re-reads statuses by listing.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from dataclasses import dataclass
from functools import lru_cache

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.core.cache import cache
from django.urls import reverse
from django.utils.translation import gettext

from brickinvoice.errors import ServiceError
from brickinvoice.shapes import member
from invoicing.accounting import einvoice_status_changed

from .errors import FatturePermissionDenied, FattureWebhooksUnavailable
from .models import FattureConnection, WebhookSubscription

logger = logging.getLogger("fatture.webhooks")

STATUS_UPDATE = "it.fattureincloud.webhooks.issued_documents.e_invoices.status_update"
# One type covers invoices and credit notes; it needs read scopes on both (docs/providers/fatture-in-cloud.md §11).
DEFAULT_TYPES = (STATUS_UPDATE,)
CHALLENGE_HEADER = "x-fic-verification-challenge"
# Longer than a token's 3-hour life and FiC's retries: a redelivered event is still recognised.
SEEN_SECONDS = 24 * 3600
CLOCK_SKEW_SECONDS = 60

# Sent once per accepted notification (invoicing owns the signal: invoicing/accounting.py).
__all__ = ["einvoice_status_changed"]


class WebhookRefused(Exception):
    """A notification we do not accept; ``status`` is the HTTP answer (401 unsigned, 400 malformed,
    410 unknown company: FiC then deletes the subscription)."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Notification:
    event_id: str
    event_type: str
    company_id: int
    document_ids: tuple[int, ...]


def webhooks_enabled() -> bool:
    return bool(getattr(settings, "FATTURE_WEBHOOKS_ENABLED", False))


def sink_url() -> str:
    """Where FiC posts: the public base URL plus this app's webhook path (must be HTTPS, §11)."""
    return settings.PUBLIC_BASE_URL + reverse("fatture:webhook")


# --- authenticity -------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _load_key(text: str) -> ec.EllipticCurvePublicKey:
    raw = text.strip().replace("\\n", "\n")
    candidates = [raw.encode()]
    if "-----BEGIN" not in raw:
        try:
            decoded = base64.b64decode("".join(raw.split()), validate=True)
        except (binascii.Error, ValueError):
            decoded = b""
        candidates = [decoded]
    for blob in candidates:
        for loader in (serialization.load_pem_public_key, serialization.load_der_public_key):
            try:
                key = loader(blob)
            except (ValueError, TypeError):
                continue
            if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
                return key
    raise ValueError("FATTURE_WEBHOOK_PUBLIC_KEY is not an EC P-256 public key (PEM, or base64 of PEM or DER)")


def public_key() -> ec.EllipticCurvePublicKey:
    """FiC's webhook key from ``FATTURE_WEBHOOK_PUBLIC_KEY``; ``ValueError`` when missing or unusable."""
    text = getattr(settings, "FATTURE_WEBHOOK_PUBLIC_KEY", "") or ""
    if not text.strip():
        raise ValueError("FATTURE_WEBHOOK_PUBLIC_KEY is not set")
    return _load_key(text)


def token_claims(authorization: str, *, audiences) -> dict:
    """The claims of a valid ``Bearer`` token: ES256 signature by FiC's key, one of ``audiences``
    in ``aud``, ``exp`` not passed. ``WebhookRefused(401)`` otherwise."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise WebhookRefused("missing bearer token", 401)
    try:
        key = public_key()
    except ValueError as exc:
        logger.error("fatture webhook cannot be checked: %s", exc)
        raise WebhookRefused("webhook key not configured", 503) from exc
    try:
        return jwt.decode(
            token.strip(),
            key,
            algorithms=["ES256"],
            audience=list(audiences),
            leeway=CLOCK_SKEW_SECONDS,
            options={"require": ["exp", "aud"]},
        )
    except jwt.PyJWTError as exc:
        raise WebhookRefused(f"invalid token ({type(exc).__name__})", 401) from exc


# --- the notification -----------------------------------------------------------------------------


def _ids(data) -> tuple[int, ...]:
    raw = data.get("ids") if isinstance(data, dict) else None
    out = []
    for value in raw if isinstance(raw, list) else []:
        try:
            out.append(int(value))
        except (TypeError, ValueError):
            continue
    return tuple(dict.fromkeys(out))


def _company(subject: str) -> int:
    prefix, _, number = (subject or "").partition(":")
    if prefix != "company" or not number.strip().isdigit():
        raise WebhookRefused("ce-subject is not company:<id>", 400)
    return int(number)


def notification_from_request(request) -> Notification:
    """Check and read one POSTed notification (binary or structured CloudEvent)."""
    try:
        body = json.loads(request.body or b"{}")
    except ValueError as exc:
        raise WebhookRefused("body is not JSON", 400) from exc
    body = body if isinstance(body, dict) else {}
    structured = "specversion" in body and "data" in body
    event_id = (body.get("id") if structured else request.headers.get("ce-id")) or ""
    event_type = (body.get("type") if structured else request.headers.get("ce-type")) or ""
    company_id = _company(str((body.get("subject") if structured else request.headers.get("ce-subject")) or ""))
    audiences = {sink_url()}
    stored = WebhookSubscription.objects.filter(company_id=company_id).values_list("sink", flat=True).first()
    if stored:
        audiences.add(stored)
    claims = token_claims(request.headers.get("Authorization", ""), audiences=audiences)
    if not event_id:
        raise WebhookRefused("no ce-id", 400)
    if claims.get("jti") and str(claims["jti"]) != str(event_id):
        raise WebhookRefused("token issued for another event", 401)
    if not FattureConnection.objects.filter(company_id=company_id).exists():
        raise WebhookRefused("no connection for this company", 410)
    return Notification(str(event_id), str(event_type), company_id, _ids(body.get("data")))


def notification_handle(notification: Notification) -> bool:
    """Hand a new notification to the receivers; False for a redelivery of one already handled
    (the shared cache's atomic ``add`` makes two workers agree)."""
    if not cache.add(f"fatture:webhook-seen:{notification.event_id}", 1, timeout=SEEN_SECONDS):
        return False
    logger.info(
        "fatture webhook %s company=%s documents=%d",
        notification.event_type,
        notification.company_id,
        len(notification.document_ids),
    )
    if notification.event_type == STATUS_UPDATE and notification.document_ids:
        einvoice_status_changed.send(
            sender=Notification,
            company_id=notification.company_id,
            document_ids=list(notification.document_ids),
            event_type=notification.event_type,
            event_id=notification.event_id,
        )
    return True


# --- subscriptions --------------------------------------------------------------------------------


def _warnings(answer) -> list[str]:
    raw = answer.get("warnings") if isinstance(answer, dict) else None
    if isinstance(raw, str):  # the spec example has a string where the schema says array
        return [raw]
    return [str(w) for w in raw] if isinstance(raw, list) else []


def webhook_subscribe(client, *, sink: str | None = None, types=DEFAULT_TYPES) -> WebhookSubscription:
    """Subscribe the selected company to e-invoice status updates (``POST /c/{cid}/subscriptions``)
    and store the subscription; an existing one for the same sink is returned as it is.
    ``fatture_webhooks_unavailable`` when FiC has not enabled webhooks for our app."""
    sink = sink or sink_url()
    if not sink.startswith("https://") and not (settings.SANDBOX or settings.DEBUG):
        raise ValueError("a Fatture in Cloud webhook sink must be HTTPS")
    path = client.company_path("subscriptions")  # no_company_selected while none is chosen
    company_id = int(client.company_id)
    existing = WebhookSubscription.objects.filter(company_id=company_id, sink=sink).first()
    if existing:
        return existing
    body = {
        "data": {"sink": sink, "types": list(types), "verification_method": "header", "config": {"mapping": "binary"}}
    }
    try:
        answer = client.post(path, json=body)
    except FatturePermissionDenied as exc:
        raise FattureWebhooksUnavailable(exc.detail, status=exc.status) from exc
    data = member(answer, "data")
    if not data.get("id"):
        raise ServiceError(gettext("Fatture in Cloud did not return the subscription."), code="fatture_unavailable")
    row, _ = WebhookSubscription.objects.update_or_create(
        company_id=company_id,
        defaults={
            "tenant": client.connection.tenant,
            "subscription_id": str(data["id"]),
            "sink": str(data.get("sink") or sink),
            "types": list(data.get("types") or types),
            "verified": bool(data.get("verified")),
            "warnings": _warnings(answer),
        },
    )
    return row


def webhook_unsubscribe(client) -> bool:
    """Delete the company's subscription at FiC (already gone counts as done) and forget it.
    False when we had none. Disconnecting should call this (docs/providers/fatture-in-cloud.md §2.3)."""
    client.company_path("")  # no_company_selected while none is chosen
    company_id = int(client.company_id)
    row = WebhookSubscription.objects.filter(company_id=company_id).first()
    if row is None:
        return False
    try:
        client.delete(client.company_path(f"subscriptions/{row.subscription_id}"))
    except ServiceError as exc:
        if exc.status != 404:
            raise
    row.delete()
    return True
