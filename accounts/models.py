"""Users, tenants (the seller's business), memberships and seller settings."""

import functools
import operator
import random
import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from invoicing.linetexts import KINDS as LINE_KINDS
from invoicing.linetexts import validate_line_template

from .choices import (
    DEFAULT_INVOICEABLE_STATUSES,
    SYNC_INTERVAL_SECONDS,
    EInvoiceMode,
    InvoiceDatePolicy,
    ItalianConsumerPolicy,
    MarginRule,
    NotificationKind,
    OssNatura,
    Role,
    SyncSchedule,
)


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create(self, email, password, **extra):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in with an e-mail address. No username."""

    email = models.EmailField(_("e-mail address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    # The language of the pages and e-mails, chosen with the language switch; empty until then
    # (the browser's, else settings.LANGUAGE_CODE). accounts.middleware activates it on every request.
    language = models.CharField(_("language"), max_length=10, blank=True, choices=settings.LANGUAGES)
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []  # type: ignore[misc]  # django-stubs declares a ClassVar on the base

    def __str__(self):
        return self.email


class Tenant(models.Model):
    """A seller's business: everything the seller owns hangs off one of these."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.name


class Membership(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "user"], name="uniq_membership")]

    def __str__(self):
        return f"{self.user} in {self.tenant} ({self.role})"


def _default_statuses():
    return [str(s) for s in DEFAULT_INVOICEABLE_STATUSES]


def validate_invoiceable_statuses(value):
    """Only paid-like statuses (accounts.choices) may be invoiced, whoever edits the settings."""
    allowed = {str(s) for s in DEFAULT_INVOICEABLE_STATUSES}
    if not isinstance(value, list) or any(status not in allowed for status in value):
        raise ValidationError(
            _("Only paid, shipped and completed orders can be invoiced."), code="invalid_invoiceable_status"
        )


def _default_sync_phase() -> int:
    """A place valid in every interval (the shortest is 900 s); invoicing spreads it over the
    chosen interval once the settings exist (invoicing/schedules.py)."""
    return random.randrange(min(SYNC_INTERVAL_SECONDS.values()))


class SellerSettings(models.Model):
    """How the seller wants orders turned into invoices."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="settings")
    business_name = models.CharField(max_length=200)
    country = CountryField(default="IT")
    vat_registered = models.BooleanField(_("VAT-registered"), default=True)
    margin_rule = models.CharField(max_length=10, choices=MarginRule.choices, default=MarginRule.OFF)
    invoiceable_statuses = models.JSONField(default=_default_statuses, validators=[validate_invoiceable_statuses])
    cutoff_date = models.DateField(null=True, blank=True, help_text=_("Orders placed before this date are ignored."))
    invoice_date_policy = models.CharField(
        max_length=20, choices=InvoiceDatePolicy.choices, default=InvoiceDatePolicy.PAYMENT_DATE
    )
    sync_schedule = models.CharField(max_length=10, choices=SyncSchedule.choices, default=SyncSchedule.HOURLY)
    # Where the tenant's scheduled sync falls within each interval of its schedule: seconds after
    # the interval's start (invoicing/schedules.py). Drawn at random when the schedule is chosen, so
    # tenants spread over the interval; the schedule dispatcher only reads it.
    sync_phase = models.PositiveIntegerField(default=_default_sync_phase)
    # When the seller confirmed the first sync's dry run (invoicing/dryrun.py): nothing is invoiced
    # before, so a new tenant's backlog is never issued unseen.
    invoicing_confirmed_at = models.DateTimeField(null=True, blank=True)

    # Tax profile (docs/tax.md): the seller's own VAT number (the VIES requester), OSS.
    vat_number = models.CharField(_("Your VAT number"), max_length=20, blank=True)
    oss_opted_in = models.BooleanField(_("Registered for OSS / opted in to destination VAT"), default=False)
    oss_natura = models.CharField(max_length=5, choices=OssNatura.choices, default=OssNatura.N3_2)
    # EU-wide B2C distance sales made outside BrickInvoice this and last calendar year (EUR), added
    # to the totals kept from invoices for the EUR 10,000 threshold (docs/tax.md §3.2).
    oss_prior_current_year = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    oss_prior_previous_year = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    stamp_duty_recharged = models.BooleanField(_("Recharge the EUR 2 stamp duty to the buyer"), default=False)

    # E-invoicing (docs/providers/fatture-in-cloud.md §8) and Italian consumers (docs/tax.md §1.2).
    einvoice_mode = models.CharField(max_length=10, choices=EInvoiceMode.choices, default=EInvoiceMode.OFF)
    italian_consumers = models.CharField(
        max_length=10, choices=ItalianConsumerPolicy.choices, default=ItalianConsumerPolicy.DOCUMENT
    )
    # Marketplace payment method words → FatturaPA ModalitaPagamento codes, over the defaults.
    payment_method_codes = models.JSONField(default=dict, blank=True)
    # The accounting package connected (a key of settings.ACCOUNTING_BACKENDS, invoicing/accounting.py).
    accounting_package = models.CharField(max_length=40, default="fatture_in_cloud")
    # Invoice line descriptions (invoicing/linetexts.py): templates with {count}, {order_id},
    # {marketplace}; empty means the product's Italian wording.
    line_text_std = models.CharField(
        _("New parts line"), max_length=200, blank=True, validators=[validate_line_template]
    )
    line_text_margin = models.CharField(
        _("Used parts line (margin scheme)"), max_length=200, blank=True, validators=[validate_line_template]
    )
    line_text_shipping = models.CharField(
        _("Shipping line"), max_length=200, blank=True, validators=[validate_line_template]
    )
    line_text_handling = models.CharField(
        _("Handling line"), max_length=200, blank=True, validators=[validate_line_template]
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = _("seller settings")
        constraints = [
            # A phase outside its interval would never be due: the tenant would silently never sync.
            models.CheckConstraint(
                condition=models.Q(sync_phase__lt=max(SYNC_INTERVAL_SECONDS.values()))
                & functools.reduce(
                    operator.and_,
                    (
                        ~models.Q(sync_schedule=choice) | models.Q(sync_phase__lt=seconds)
                        for choice, seconds in SYNC_INTERVAL_SECONDS.items()
                    ),
                ),
                name="sellersettings_sync_phase_in_interval",
            )
        ]
        # The schedule dispatcher's one read a minute: the due phases of each schedule.
        indexes = [
            models.Index(
                fields=["sync_schedule", "sync_phase"],
                include=["tenant"],
                condition=~models.Q(sync_schedule=SyncSchedule.OFF),
                name="sellersettings_sync_due",
            )
        ]

    def __str__(self):
        return f"Settings of {self.tenant}"

    def line_templates(self) -> dict[str, str]:
        """The seller's non-empty line templates by kind (invoicing.linetexts.KINDS)."""
        return {kind: value for kind in LINE_KINDS if (value := getattr(self, f"line_text_{kind}"))}


class PreRegistration(models.Model):
    """An e-mail allowed (or asking) to connect a Fatture in Cloud account (docs/architecture.md §4.2).

    Approval belongs to the e-mail, not to a connection: once approved, disconnecting and
    reconnecting needs no new approval. E-mails are stored lower-case and unique regardless of case.
    """

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    email = models.EmailField(_("Fatture in Cloud login e-mail"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED, db_index=True)
    requested_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="preregistration_requests"
    )
    tenant = models.ForeignKey(
        Tenant, null=True, blank=True, on_delete=models.SET_NULL, related_name="preregistrations"
    )
    message = models.TextField(blank=True, help_text=_("What the seller wrote with the request."))
    note = models.TextField(blank=True, help_text=_("Internal note by the platform admins."))
    decided_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="preregistration_decisions"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(Lower("email"), name="uniq_preregistration_email_ci")]

    def __str__(self):
        return f"{self.email} ({self.get_status_display()})"

    def save(self, *args, **kwargs):
        # Normalised here as well as in the services, so admin-typed e-mails compare the same way.
        self.email = (self.email or "").strip().lower()
        super().save(*args, **kwargs)


class NotificationPreference(models.Model):
    """A user's choice for one kind of e-mail. No row means the e-mail is on (the default)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notification_preferences")
    kind = models.CharField(_("e-mail"), max_length=40, choices=NotificationKind.choices)
    enabled = models.BooleanField(_("send it"), default=True)

    class Meta:
        verbose_name = _("notification preference")
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="uniq_notification_preference")]

    def __str__(self):
        return f"{self.user}: {self.kind} {'on' if self.enabled else 'off'}"


class NotificationThrottle(models.Model):
    """When a tenant's owners were last e-mailed about one kind of problem: at most once a day,
    until the problem is resolved (accounts.notifications.notification_resolved clears it)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="notification_throttles")
    kind = models.CharField(max_length=40, choices=NotificationKind.choices)
    last_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "kind"], name="uniq_notification_throttle")]

    def __str__(self):
        return f"{self.tenant}: {self.kind} last sent {self.last_sent_at}"
