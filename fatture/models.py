"""The Fatture in Cloud connection of a tenant (encrypted OAuth tokens, company) and its product mappings."""

import uuid
from datetime import datetime, timedelta

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Tenant
from brickinvoice.errors import ErrorBox
from brickinvoice.fields import EncryptedTextField
from invoicing.accounting import Slot

# Refresh this long before the access token expires, so a call never starts with a dying token.
REFRESH_MARGIN = timedelta(minutes=5)


class FattureConnection(models.Model):
    """One tenant's Fatture in Cloud connection. The row outlives a disconnect (tokens are wiped),
    so the chosen company and the mappings come back when the seller reconnects."""

    class Status(models.TextChoices):
        CONNECTED = "connected", _("Connected")
        NEEDS_RECONNECT = "needs_reconnect", _("Needs reconnecting")
        DISCONNECTED = "disconnected", _("Disconnected")

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="fatture_connection")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.CONNECTED)
    access_token = EncryptedTextField(blank=True, default="")
    refresh_token = EncryptedTextField(blank=True, default="")
    token_expires_at = models.DateTimeField(null=True, blank=True)
    fatture_email = models.EmailField(_("Fatture in Cloud login e-mail"), blank=True)
    fatture_user_name = models.CharField(max_length=200, blank=True)
    company_id = models.BigIntegerField(null=True, blank=True)
    company_name = models.CharField(max_length=300, blank=True)
    invoice_subject = models.CharField(
        _("Invoice subject"),
        max_length=300,
        blank=True,
        help_text=_("Fixed text printed as the subject of every invoice (e.g. “Sale of LEGO parts”)."),
    )
    last_error_code = models.CharField(max_length=40, blank=True)
    last_error_message = models.TextField(blank=True)
    last_error_detail = models.TextField(blank=True)
    connected_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"Fatture in Cloud of {self.tenant} ({self.get_status_display()})"

    @property
    def is_connected(self) -> bool:
        return self.status == self.Status.CONNECTED

    def token_expires_soon(self, now: datetime | None = None) -> bool:
        if self.token_expires_at is None:  # unknown lifetime: rely on refresh-on-401
            return False
        return self.token_expires_at - (now or timezone.now()) <= REFRESH_MARGIN

    @property
    def last_error(self) -> ErrorBox | None:
        """The stored failure for templates/partials/error.html, or None."""
        return ErrorBox.from_row(self, "last_error_")


class ProductMapping(models.Model):
    """The Fatture product behind one slot, for one company, with a snapshot of what it was when
    mapped. Kept per company so that switching companies or reconnecting never loses a mapping."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="product_mappings")
    company_id = models.BigIntegerField()
    slot = models.CharField(max_length=20, choices=Slot.choices)
    product_id = models.BigIntegerField()
    product_name = models.CharField(max_length=300, blank=True)
    product_code = models.CharField(max_length=100, blank=True)
    vat_id = models.IntegerField(null=True, blank=True)
    vat_value = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    vat_description = models.CharField(max_length=300, blank=True)
    vat_ei_type = models.CharField(_("VAT nature (natura)"), max_length=20, blank=True)
    # The seller chose to use this product although its VAT does not fit what the slot expects:
    # the lines still carry the right VAT type for their treatment (invoicing/vat.py).
    mismatch_accepted = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "company_id", "slot"], name="uniq_fatture_mapping_slot")
        ]

    def __str__(self):
        return f"{self.get_slot_display()} → {self.product_name or self.product_id}"


class WebhookSubscription(models.Model):
    """Our webhook subscription at Fatture in Cloud for one company (docs/providers/fatture-in-cloud.md
    §11): FiC keeps one per app + event type + company, so one row per company, created by the
    tenant whose connection subscribed. Optional (``FATTURE_WEBHOOKS_ENABLED``): polling by listing
    stays the baseline and the webhook only makes status changes arrive sooner."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="fatture_webhook_subscriptions")
    company_id = models.BigIntegerField(unique=True)
    subscription_id = models.CharField(max_length=100)
    sink = models.URLField(max_length=500)
    types = models.JSONField(default=list)
    verified = models.BooleanField(default=False)
    warnings = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"Fatture webhook {self.subscription_id} for company {self.company_id}"
