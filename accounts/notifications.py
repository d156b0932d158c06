"""E-mails to sellers: what went wrong or what is ready, and a link to the page that deals with it.

The triggers live with the apps that notice the problem (invoicing, fatture, marketplaces); they
call ``notify_tenant_owners`` with the kind and a context, and ``notification_resolved`` when the
problem goes away. accounts imports none of them: each kind's contract is below.

Every e-mail goes to each active owner of the tenant who has not turned that kind off on the
settings page (``NotificationPreference``), one message per owner, in the owner's language, from
``DEFAULT_FROM_EMAIL``, with the subject prefix and name of ``SITE_NAME``. Templates:
``templates/accounts/email/<kind>_subject.txt``, ``_message.txt`` and ``_message.html``.

Context contract per kind (``url`` values are site paths such as ``/home/orders/<id>``; the
service makes every link absolute with ``PUBLIC_BASE_URL``):

- ``daily_digest``: ``{"orders": [{"number": str, "marketplace": str, "problem": str, "url": str}],
  "total": int}``. ``orders`` is what the e-mail lists (keep it to a few dozen); ``total`` is how
  many need action in all (defaults to ``len(orders)``). Send nothing when there is nothing to do.
- ``fatture_reconnect``: ``{"reason": str}`` (optional, plain words; never an exception's text).
- ``store_credentials_refused``: ``{"store_name": str, "marketplace": str, "reason": str}``.
- ``einvoice_discarded``: ``{"order_number": str, "invoice_number": str, "reason": str, "url": str}``.
- ``preregistration_approved``: ``{"email": str}`` (sent by accounts itself, to the requester).

Each kind links to the page that fixes it (``action_path`` below; a context ``url`` wins for
``einvoice_discarded``). A kind is sent at most once per tenant per calendar day: later calls
the same day send nothing, until ``notification_resolved`` says the problem went away, so a problem
that comes back is e-mailed again. ``preregistration_approved`` is not throttled (once per approval).
"""

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from .choices import NotificationKind, Role
from .models import NotificationPreference, NotificationThrottle, Tenant, User

# Where each e-mail sends the seller: URL names, resolved when the e-mail is rendered.
ACTION_URL_NAMES = {
    NotificationKind.DAILY_DIGEST: "invoicing:dashboard",
    NotificationKind.FATTURE_RECONNECT: "fatture:connect",
    NotificationKind.STORE_CREDENTIALS_REFUSED: "marketplaces:stores",
    NotificationKind.PREREGISTRATION_APPROVED: "fatture:connect",
    NotificationKind.EINVOICE_DISCARDED: "marketplaces:orders",
}
UNTHROTTLED = {NotificationKind.PREREGISTRATION_APPROVED}


@dataclass(frozen=True)
class BrandedSite:
    """What allauth's and our templates read as ``current_site``: the product's name, not a host."""

    name: str
    domain: str


def public_base_url() -> str:
    """The origin for links in e-mails, which have no request: PUBLIC_BASE_URL, else the first
    allowed host over the configured protocol (http://127.0.0.1:8000 in development)."""
    if settings.PUBLIC_BASE_URL:
        return settings.PUBLIC_BASE_URL
    if settings.DEBUG:
        return "http://127.0.0.1:8000"
    hosts = [h for h in settings.ALLOWED_HOSTS if h != "*" and not h.startswith(".")]
    return f"{settings.ACCOUNT_DEFAULT_HTTP_PROTOCOL}://{hosts[0] if hosts else 'localhost'}"


def public_url(path: str) -> str:
    """``path`` (or an already absolute URL) as an absolute link for an e-mail."""
    return path if urlsplit(path).scheme else public_base_url() + path


def branded_site(request=None) -> BrandedSite:
    domain = request.get_host() if request is not None else urlsplit(public_base_url()).netloc
    return BrandedSite(name=settings.SITE_NAME, domain=domain)


# --- recipients and preferences -----------------------------------------------------------


def _opted_out(kind: str):
    return NotificationPreference.objects.filter(kind=kind, enabled=False).values("user_id")


def owners_to_notify(*, tenant: Tenant, kind: str) -> list[User]:
    """Active owners of ``tenant`` who have not turned ``kind`` off."""
    owners = User.objects.filter(memberships__tenant=tenant, memberships__role=Role.OWNER, is_active=True)
    return list(owners.exclude(id__in=_opted_out(kind)).order_by("id"))


def wants(user: User, kind: str) -> bool:
    return user.is_active and not NotificationPreference.objects.filter(user=user, kind=kind, enabled=False).exists()


def preferences_for(user: User) -> dict[str, bool]:
    """Every kind with whether ``user`` receives it (on unless turned off)."""
    stored = dict(NotificationPreference.objects.filter(user=user).values_list("kind", "enabled"))
    return {kind: stored.get(kind, True) for kind in NotificationKind.values}


@transaction.atomic
def preferences_save(*, user: User, enabled: dict[str, bool]) -> None:
    for kind in NotificationKind.values:
        if kind in enabled:
            NotificationPreference.objects.update_or_create(user=user, kind=kind, defaults={"enabled": enabled[kind]})


# --- throttle --------------------------------------------------------------------------------


def _start_of_today() -> datetime:
    return timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)


def _claim(*, tenant: Tenant, kind: str) -> tuple[bool, datetime | None]:
    """Take today's send for (tenant, kind) with a conditional update, so two workers noticing the
    same problem send one e-mail. Returns whether it was taken and the previous send time."""
    row, _ = NotificationThrottle.objects.get_or_create(tenant=tenant, kind=kind)
    due = Q(last_sent_at__isnull=True) | Q(last_sent_at__lt=_start_of_today())
    claimed = NotificationThrottle.objects.filter(Q(pk=row.pk) & due).update(last_sent_at=timezone.now())
    return claimed == 1, row.last_sent_at


def _release(*, tenant: Tenant, kind: str, previous: datetime | None) -> None:
    """Sending failed: give the claim back so that the caller's retry can send."""
    NotificationThrottle.objects.filter(tenant=tenant, kind=kind).update(last_sent_at=previous)


def notification_resolved(*, tenant: Tenant, kind: str) -> None:
    """The problem behind ``kind`` went away: if it comes back, e-mail again at once."""
    NotificationThrottle.objects.filter(tenant=tenant, kind=kind).update(last_sent_at=None)


# --- rendering and sending -------------------------------------------------------------------


def _language_for(user: User) -> str:
    """The language the user chose with the switch (or signed up in), else the site's."""
    return user.language or settings.LANGUAGE_CODE


def _action_url(kind: str, context: dict) -> str:
    path = context.get("url") if kind == NotificationKind.EINVOICE_DISCARDED and context.get("url") else None
    return public_url(path or reverse(ACTION_URL_NAMES[NotificationKind(kind)]))


def _with_absolute_links(kind: str, context: dict) -> dict:
    context = dict(context)
    if kind == NotificationKind.DAILY_DIGEST:
        orders = [{**o, "url": public_url(o["url"])} for o in context.get("orders", [])]
        context.update(orders=orders, total=context.get("total", len(orders)))
    return context


def render_notification(
    *, kind: str, user: User, context: dict, tenant: Tenant | None = None
) -> EmailMultiAlternatives:
    """The e-mail of ``kind`` for ``user``, rendered in the user's language."""
    full = {
        **_with_absolute_links(kind, context),
        "user": user,
        "tenant": tenant,
        "site_name": settings.SITE_NAME,
        "current_site": branded_site(),
        "action_url": _action_url(kind, context),
        "preferences_url": public_url(reverse("accounts:settings")) + "#notifications",
    }
    with translation.override(_language_for(user)):
        subject = " ".join(render_to_string(f"accounts/email/{kind}_subject.txt", full).splitlines()).strip()
        text = render_to_string(f"accounts/email/{kind}_message.txt", full).strip()
        html = render_to_string(f"accounts/email/{kind}_message.html", full)
    message = EmailMultiAlternatives(
        settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject, text, settings.DEFAULT_FROM_EMAIL, [user.email]
    )
    message.attach_alternative(html, "text/html")
    return message


def _send(messages: list[EmailMultiAlternatives]) -> int:
    with get_connection() as connection:
        return connection.send_messages(messages) or 0


def notify_tenant_owners(*, tenant: Tenant, kind: str, context: dict | None = None) -> int:
    """E-mail ``kind`` to the owners of ``tenant`` who want it; returns how many e-mails were sent.

    Throttled to once per tenant and kind per day (see the module docstring). Call it from a task
    or after commit: it talks to the mail server. A sending error propagates (retry the task) and
    gives today's turn back.
    """
    kind = NotificationKind(kind)
    recipients = owners_to_notify(tenant=tenant, kind=kind)
    if not recipients:
        return 0
    throttled = kind not in UNTHROTTLED
    if throttled:
        claimed, previous = _claim(tenant=tenant, kind=kind)
        if not claimed:
            return 0
    try:
        return _send([render_notification(kind=kind, user=u, context=context or {}, tenant=tenant) for u in recipients])
    except Exception:
        if throttled:
            _release(tenant=tenant, kind=kind, previous=previous)
        raise


def notify_user(*, user: User, kind: str, context: dict | None = None, tenant: Tenant | None = None) -> bool:
    """E-mail ``kind`` to one user (unthrottled), unless they turned it off; True if sent."""
    kind = NotificationKind(kind)
    if not wants(user, kind):
        return False
    return _send([render_notification(kind=kind, user=user, context=context or {}, tenant=tenant)]) == 1
