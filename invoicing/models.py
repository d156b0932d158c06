"""Invoices (one per order, ever), the customer map, and sync runs."""

import uuid

from django.db import models
from django.db.models import Q

from accounts.models import Tenant


class Invoice(models.Model):
    """The invoice of one order, with its state machine (design §5: one invoice per order, ever).

    pending → claimed → submitting → issued; failed (transient, retried automatically) or
    needs_attention (permanent, waits for the seller); skipped when the order stopped being
    eligible before it was processed (it is re-queued if it becomes eligible again).
    ``uncertain`` is set before the create call and cleared only once its outcome is known:
    while it is set, the next attempt first searches Fatture for this order's marker before
    creating anything.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Waiting"
        CLAIMED = "claimed", "In progress"
        SUBMITTING = "submitting", "Sending to Fatture"
        ISSUED = "issued", "Invoiced"
        FAILED = "failed", "Retrying"
        NEEDS_ATTENTION = "needs_attention", "Needs your attention"
        SKIPPED = "skipped", "Not invoiced"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="invoices")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    order = models.OneToOneField("marketplaces.Order", on_delete=models.RESTRICT, related_name="invoice")
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING, db_index=True)
    sync_run = models.ForeignKey(
        "invoicing.SyncRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="invoices"
    )
    attempts = models.PositiveIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    uncertain = models.BooleanField(default=False)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # What was sent, and what Fatture answered.
    company_id = models.BigIntegerField(null=True, blank=True)
    marker = models.CharField(max_length=80, blank=True)
    fatture_id = models.BigIntegerField(null=True, blank=True)
    number = models.CharField(max_length=40, blank=True)
    numeration = models.CharField(max_length=20, blank=True)
    view_url = models.URLField(max_length=500, blank=True)
    invoice_date = models.DateField(null=True, blank=True)
    total = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    api_calls = models.PositiveIntegerField(default=0)
    issued_at = models.DateTimeField(null=True, blank=True)
    # The last failure, for the seller: code (errors.CATALOGUE), message, hint, provider detail.
    error_code = models.CharField(max_length=60, blank=True)
    error_message = models.TextField(blank=True)
    error_hint = models.TextField(blank=True)
    error_detail = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "state"])]
        constraints = [
            models.UniqueConstraint(
                fields=["company_id", "fatture_id"], condition=Q(fatture_id__isnull=False), name="uniq_fatture_doc"
            )
        ]

    def __str__(self):
        return f"Invoice of order {self.order_id} ({self.state})"

    @property
    def display_number(self) -> str:
        return f"{self.number}{self.numeration}" if self.number else ""

    @property
    def error(self):
        if not self.error_code:
            return None
        return {
            "code": self.error_code,
            "message": self.error_message,
            "hint": self.error_hint,
            "detail": self.error_detail,
        }


class CustomerLink(models.Model):
    """Local map marketplace buyer → Fatture client, so a returning buyer costs no API call."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="customer_links")
    company_id = models.BigIntegerField()
    code = models.CharField(max_length=120, help_text="Fatture client code, e.g. BL-username")
    fatture_client_id = models.BigIntegerField()
    data_hash = models.CharField(max_length=64)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "company_id", "code"], name="uniq_customer_link")]

    def __str__(self):
        return f"{self.code} → {self.fatture_client_id}"


class SyncRun(models.Model):
    """One sync of a tenant: import every store, then queue the invoices. Shown live on the dashboard."""

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Scheduled"
        MANUAL = "manual", "Sync now"

    class State(models.TextChoices):
        RUNNING = "running", "Running"
        FINISHED = "finished", "Finished"
        FAILED = "failed", "Finished with errors"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="sync_runs")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.RUNNING)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    stores_total = models.PositiveIntegerField(default=0)
    stores_done = models.PositiveIntegerField(default=0)
    orders_imported = models.PositiveIntegerField(default=0)
    invoices_queued = models.PositiveIntegerField(default=0)
    invoices_created = models.PositiveIntegerField(default=0)
    invoices_failed = models.PositiveIntegerField(default=0)
    api_calls = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "-started_at"])]

    def __str__(self):
        return f"Sync of {self.tenant} at {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def progress_percent(self) -> int:
        if self.state != self.State.RUNNING:
            return 100
        work = self.stores_total + self.invoices_queued
        done = self.stores_done + self.invoices_created + self.invoices_failed
        return int(100 * done / work) if work else 5
