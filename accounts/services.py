"""Account services: creating a seller's tenant, updating seller settings, e-mail pre-registration."""

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from .choices import NotificationKind, Role
from .models import Membership, PreRegistration, SellerSettings, Tenant, User
from .notifications import notify_user
from .signals import seller_settings_changed, seller_settings_saving


@transaction.atomic
def tenant_create_for_user(*, user: User, business_name: str, country: str = "IT") -> Tenant:
    """A new seller business owned by ``user``, with default settings."""
    name = business_name.strip() or user.email.split("@")[0]
    tenant = Tenant.objects.create(name=name)
    Membership.objects.create(tenant=tenant, user=user, role=Role.OWNER)
    seller_settings = SellerSettings.objects.create(tenant=tenant, business_name=name, country=country)
    seller_settings_changed.send(sender=SellerSettings, settings=seller_settings)
    return tenant


def settings_for(tenant: Tenant) -> SellerSettings:
    """The tenant's settings, created with defaults if an admin-made tenant lacks them. Read afresh
    each time, unless a short unit of work pinned them on this tenant object (``settings_pin``)."""
    pinned: SellerSettings | None = getattr(tenant, PINNED, None)
    if pinned is not None:
        return pinned
    seller_settings, _ = SellerSettings.objects.get_or_create(tenant=tenant, defaults={"business_name": tenant.name})
    return seller_settings


PINNED = "_pinned_seller_settings"


def seller_settings_update(*, seller_settings: SellerSettings, fields: list[str], changed: list[str]) -> None:
    """Save a seller's edit as one UPDATE of the settings row: the edited ``fields`` plus what the
    ``seller_settings_saving`` receivers add. Only those columns are written, so one that another
    process changes meanwhile is never put back."""
    extra: set[str] = set()
    for _receiver, more in seller_settings_saving.send(
        sender=SellerSettings, settings=seller_settings, changed=changed
    ):
        extra.update(more or ())
    seller_settings.save(update_fields=[*fields, *sorted(extra - set(fields))])


def settings_pin(tenant: Tenant, *, shared_by: tuple[Any, ...] = ()) -> SellerSettings:
    """Read the settings once for a short unit of work on this tenant object (one invoice: a
    dozen readers, one query). Only for work that never changes them meanwhile. ``shared_by``:
    rows of the same tenant loaded with it (an invoice's order…) that get this very object, so
    code starting from them reads neither the tenant nor the settings again."""
    seller_settings = settings_for(tenant)
    setattr(tenant, PINNED, seller_settings)
    for row in shared_by:
        if row.tenant_id == tenant.id:
            row.tenant = tenant
    return seller_settings


# --- Fatture in Cloud e-mail pre-registration (docs/architecture.md §4.2) ----------------


def _normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def preregistration_is_approved(email: str) -> bool:
    """True when this e-mail (any letter case) is approved to connect a Fatture in Cloud account."""
    normalised = _normalise_email(email)
    if not normalised:
        return False
    return PreRegistration.objects.filter(email=normalised, status=PreRegistration.Status.APPROVED).exists()


def preregistration_request(
    *, email: str, user: User | None, tenant: Tenant | None, message: str = ""
) -> PreRegistration:
    """Ask for pre-registration of ``email``. An existing entry (any status) is returned unchanged,
    so a seller cannot reopen a rejected request or reset an approval by asking again."""
    normalised = _normalise_email(email)
    existing = PreRegistration.objects.filter(email=normalised).first()
    if existing:
        return existing
    try:
        with transaction.atomic():
            return PreRegistration.objects.create(
                email=normalised, requested_by=user, tenant=tenant, message=message.strip()[:2000]
            )
    except IntegrityError:  # the same e-mail asked twice at the same moment
        return PreRegistration.objects.get(email=normalised)


def preregistrations_for(*, tenant: Tenant, emails: list[str]) -> list[PreRegistration]:
    """The requests a seller should see: those made for the tenant and those for its e-mails."""
    normalised = [_normalise_email(e) for e in emails if e]
    return list(PreRegistration.objects.filter(Q(tenant=tenant) | Q(email__in=normalised)).order_by("-created_at"))


def preregistration_decide(*, queryset, status: str, by: User) -> int:
    """Approve or reject the given requests (admin actions); returns how many were changed.
    Each newly approved requester is e-mailed after commit."""
    if status not in (PreRegistration.Status.APPROVED, PreRegistration.Status.REJECTED):
        raise ValueError(f"Not a decision: {status}")
    ids = list(queryset.exclude(status=status).values_list("id", flat=True))
    changed = (
        PreRegistration.objects.filter(id__in=ids)
        .exclude(status=status)
        .update(status=status, decided_by=by, decided_at=timezone.now())
    )
    if status == PreRegistration.Status.APPROVED:
        for preregistration_id in ids:
            preregistration_queue_approved_email(preregistration_id=preregistration_id)
    return changed


def preregistration_queue_approved_email(*, preregistration_id: int) -> None:
    """E-mail the requester once the approval is committed (accounts.tasks)."""
    from .tasks import send_preregistration_approved  # the task module imports this one

    transaction.on_commit(lambda: send_preregistration_approved.delay(preregistration_id))


def _approved_recipient(preregistration: PreRegistration) -> User | None:
    """Who asked; for an e-mail an admin added, the user who signs in with it (if any)."""
    requester = preregistration.requested_by
    if requester is not None and requester.is_active:
        return requester
    return User.objects.filter(email__iexact=preregistration.email, is_active=True).first()


def preregistration_notify_approved(*, preregistration_id: int) -> bool:
    """Tell the requester that they can connect Fatture in Cloud; False if there is nobody to tell
    or the request is no longer approved when the task runs."""
    preregistration = (
        PreRegistration.objects.select_related("requested_by", "tenant")
        .filter(id=preregistration_id, status=PreRegistration.Status.APPROVED)
        .first()
    )
    recipient = _approved_recipient(preregistration) if preregistration else None
    if preregistration is None or recipient is None:
        return False
    return notify_user(
        user=recipient,
        kind=NotificationKind.PREREGISTRATION_APPROVED,
        context={"email": preregistration.email},
        tenant=preregistration.tenant,
    )
