"""The set-up checklist of the dashboard: what a new seller does, in the order it must happen,
before the first invoice (issue 16, "a guided set-up").

1. the seller's settings and tax profile (the VAT number that identifies them);
2. a marketplace store connected;
3.–6. the accounting package's own steps (for Fatture in Cloud: the e-mail pre-registration, the
   connection, the company, a complete and valid product mapping), given by the package through
   ``AccountingPackage.setup_steps`` in the neutral ``SetupStep`` below;
7. the first sync, with its dry run confirmed (invoicing/dryrun.py).

Each step is done, to do, waiting (for someone else: nothing for the seller to do) or blocked by an
earlier step, with the reason. Computed from the database only, a handful of cheap queries.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import SellerSettings, Tenant
from accounts.services import settings_for
from marketplaces.models import StoreConnection

from .accounting import backend_class, package_of
from .models import SyncRun
from .queueing import awaiting_confirmation


class SetupState(models.TextChoices):
    DONE = "done", _("Done")
    TODO = "todo", _("To do")
    WAITING = "waiting", _("Waiting")
    BLOCKED = "blocked", _("Blocked")


@dataclass(frozen=True)
class SetupStep:
    """One line of the checklist. ``action`` names the button that leads to the page doing it;
    ``post``: the button sends a form (Sync now) instead of following a link."""

    key: str
    label: str
    state: str
    reason: str = ""
    url: str = ""
    action: str = ""
    post: bool = False

    @property
    def done(self) -> bool:
        return self.state == SetupState.DONE


@dataclass(frozen=True)
class Checklist:
    steps: list[SetupStep]

    @property
    def complete(self) -> bool:
        return all(step.done for step in self.steps)

    @property
    def current(self) -> SetupStep | None:
        """The first step not done: the one the dashboard highlights."""
        return next((step for step in self.steps if not step.done), None)

    @property
    def done_count(self) -> int:
        return sum(step.done for step in self.steps)


def blocked_by(step: SetupStep, reason: str = "") -> SetupStep:
    """``step`` shown as blocked until ``reason`` (default: the earlier step) is resolved."""
    text = reason or gettext("First: %(step)s.") % {"step": step.label}
    return SetupStep(step.key, step.label, SetupState.BLOCKED, text)


def _settings_step(seller: SellerSettings) -> SetupStep:
    label = gettext("Your settings and tax profile")
    url, action = reverse("invoicing:tax_settings"), gettext("Open the tax profile")
    if seller.vat_number:
        return SetupStep("settings", label, SetupState.DONE, url=url, action=action)
    reason = gettext("Enter your VAT number and check the VAT regime and margin scheme of your sales.")
    return SetupStep("settings", label, SetupState.TODO, reason, url, action)


def _stores_step(tenant: Tenant) -> SetupStep:
    label = gettext("Your BrickLink or BrickOwl store connected")
    url, action = reverse("marketplaces:stores"), gettext("Connect a store")
    states = set(tenant.stores.exclude(status=StoreConnection.Status.DISCONNECTED).values_list("status", flat=True))
    if StoreConnection.Status.ACTIVE in states:
        return SetupStep("stores", label, SetupState.DONE, url=url, action=gettext("Stores"))
    if states:
        reason = gettext("Your store needs attention: open it to see what to do.")
        return SetupStep("stores", label, SetupState.TODO, reason, url, gettext("Open the stores"))
    return SetupStep("stores", label, SetupState.TODO, gettext("No store is connected yet."), url, action)


def _first_sync_step(tenant: Tenant, seller: SellerSettings, *, ready: bool) -> SetupStep:
    label = gettext("First sync, with its summary checked")
    if seller.invoicing_confirmed_at:
        return SetupStep("first_sync", label, SetupState.DONE)
    if not ready:
        return blocked_by(SetupStep("first_sync", label, SetupState.TODO), gettext("First finish the steps above."))
    waiting = awaiting_confirmation(tenant=tenant)
    if waiting:
        reason = gettext("Check what would be invoiced, then start invoicing.")
        return SetupStep(
            "first_sync", label, SetupState.TODO, reason, reverse("invoicing:sync_confirm"), gettext("Check and start")
        )
    if not SyncRun.objects.filter(tenant=tenant).exists():
        reason = gettext("Import your orders: nothing is invoiced before you check the summary.")
        return SetupStep(
            "first_sync", label, SetupState.TODO, reason, reverse("invoicing:sync_now"), gettext("Sync now"), post=True
        )
    reason = gettext("No order to invoice yet: the first ones wait here for your check.")
    return SetupStep("first_sync", label, SetupState.WAITING, reason)


def setup_steps(*, tenant: Tenant) -> Checklist:
    """The checklist of ``tenant`` in the order things must happen. The first sync waits for the
    store and the accounting package (what invoicing needs), not for the tax profile's VAT number."""
    seller = settings_for(tenant)
    steps = [_stores_step(tenant), *backend_class(package_of(tenant)).setup_steps(tenant)]
    first_sync = _first_sync_step(tenant, seller, ready=all(step.done for step in steps))
    return Checklist([_settings_step(seller), *steps, first_sync])
