"""Fatture in Cloud's steps of the set-up checklist (invoicing/setup.py), from the database only:
the login e-mail pre-registered (docs/architecture.md §4.2), the connection, the company, and a mapping of
every required slot to a product whose VAT fits (from the snapshots kept with each mapping)."""

from __future__ import annotations

from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext, ngettext

from accounts.models import PreRegistration, Tenant, User
from invoicing.accounting import slot_label
from invoicing.setup import SetupState, SetupStep, blocked_by

from .mapping import required_slots, slot_products
from .models import FattureConnection

# The best status wins: one approved e-mail is enough.
_RANK: dict[str, int] = {
    PreRegistration.Status.APPROVED: 0,
    PreRegistration.Status.REQUESTED: 1,
    PreRegistration.Status.REJECTED: 2,
}


def _preregistration_status(tenant: Tenant, connection: FattureConnection | None) -> str:
    """approved / requested / rejected for the tenant's requests and its members' e-mails; ""
    when nothing was asked. A live connection implies approval (it is checked on connecting)."""
    if connection is not None and connection.is_connected:
        return PreRegistration.Status.APPROVED
    emails = User.objects.filter(memberships__tenant=tenant).values("email")
    extra = [connection.fatture_email] if connection is not None and connection.fatture_email else []
    statuses = PreRegistration.objects.filter(Q(tenant=tenant) | Q(email__in=emails) | Q(email__in=extra))
    found: set[str] = set(statuses.values_list("status", flat=True))
    return min(found, key=lambda s: _RANK.get(s, 9), default="")


def _preregistration_step(status: str) -> SetupStep:
    label = gettext("Your Fatture in Cloud e-mail pre-registered")
    url, action = reverse("fatture:connect"), gettext("Ask for pre-registration")
    if status == PreRegistration.Status.APPROVED:
        return SetupStep("preregistration", label, SetupState.DONE)
    if status == PreRegistration.Status.REQUESTED:
        reason = gettext("Requested: we approve it and e-mail you. Nothing to do meanwhile.")
        return SetupStep("preregistration", label, SetupState.WAITING, reason, url, gettext("See the request"))
    if status == PreRegistration.Status.REJECTED:
        reason = gettext("The request was not approved: write to support, or ask for another e-mail.")
        return SetupStep("preregistration", label, SetupState.BLOCKED, reason, url, action)
    reason = gettext("Fatture in Cloud lets only pre-registered logins connect: ask for yours first.")
    return SetupStep("preregistration", label, SetupState.TODO, reason, url, action)


def _connection_step(connection: FattureConnection | None, prereg: SetupStep) -> SetupStep:
    label = gettext("Fatture in Cloud connected")
    url = reverse("fatture:connect")
    if connection is not None and connection.is_connected:
        return SetupStep("fatture", label, SetupState.DONE, url=url, action=gettext("Accounting"))
    if connection is not None and connection.status == FattureConnection.Status.NEEDS_RECONNECT:
        reason = gettext("The connection stopped working: connect again.")
        return SetupStep("fatture", label, SetupState.TODO, reason, url, gettext("Reconnect"))
    step = SetupStep("fatture", label, SetupState.TODO, gettext("Not connected yet."), url, gettext("Connect"))
    return step if prereg.done else blocked_by(step, gettext("Waits for the pre-registration."))


def _company_step(connection: FattureConnection | None, previous: SetupStep) -> SetupStep:
    label = gettext("Company chosen")
    if not previous.done or connection is None:
        return blocked_by(SetupStep("company", label, SetupState.TODO), gettext("First connect Fatture in Cloud."))
    url = reverse("fatture:company", kwargs={"public_id": connection.public_id})
    if connection.company_id:
        return SetupStep("company", label, SetupState.DONE, url=url, action=gettext("Change"))
    reason = gettext("Choose the company your invoices are issued from.")
    return SetupStep("company", label, SetupState.TODO, reason, url, gettext("Choose the company"))


def _mapping_step(tenant: Tenant, connection: FattureConnection | None, previous: SetupStep) -> SetupStep:
    label = gettext("Products mapped, with the right VAT")
    if not previous.done or connection is None:
        return blocked_by(SetupStep("mapping", label, SetupState.TODO), gettext("First choose the company."))
    url = reverse("fatture:mapping")
    products = slot_products(connection=connection)
    missing = [slot for slot in required_slots(tenant=tenant) if slot not in products]
    wrong = [slot for slot, product in products.items() if product.mismatch]
    if not missing and not wrong:
        return SetupStep("mapping", label, SetupState.DONE, url=url, action=gettext("Product mapping"))
    if missing:
        reason = ngettext(
            "%(n)s slot without a product: %(slot)s.",
            "%(n)s slots without a product, first: %(slot)s.",
            len(missing),
        ) % {"n": len(missing), "slot": slot_label(missing[0])}
    else:
        reason = gettext("The VAT of the '%(slot)s' product is not the one the slot expects.") % {
            "slot": slot_label(wrong[0])
        }
    return SetupStep("mapping", label, SetupState.TODO, reason, url, gettext("Map the products"))


def fatture_setup_steps(*, tenant: Tenant) -> list[SetupStep]:
    connection = FattureConnection.objects.filter(tenant=tenant).first()
    prereg = _preregistration_step(_preregistration_status(tenant, connection))
    connected = _connection_step(connection, prereg)
    company = _company_step(connection, connected)
    return [prereg, connected, company, _mapping_step(tenant, connection, company)]
