"""Credit notes (note di credito, TD04): one row per refund or cancellation of an invoiced order,
each created exactly once in the accounting package and linked to the invoice it corrects
(docs/architecture.md §4.8, §5.1; docs/tax.md §7.3). The state machine is invoicing/creditnotes.py."""

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Tenant
from brickinvoice.errors import ErrorBox

from .einvoicefields import EInvoiceFields

MONEY: dict[str, Any] = {"max_digits": 14, "decimal_places": 2, "default": 0}
OPEN_STATES = ["pending", "claimed", "submitting", "failed"]


class CreditNote(EInvoiceFields):
    """One refund event of an issued invoice and the credit note it becomes.

    ``event_key`` names the event: ``cancelled``, ``brickowl-refund:…`` (the refund fields as
    BrickOwl shows them), ``bricklink-reduced:<amount>`` (an item-removal request), ``payment-…``
    (a reversed BrickLink payment) or ``manual:<uuid>``. ``(invoice, event_key)`` is unique, so the
    same refund seen at two imports is one credit note and a later refund is another.

    What to credit, in the order's currency: ``basis`` ``full`` (everything still left on the
    invoice), ``amounts`` (``goods`` / ``shipping`` / ``handling`` as given) or ``cumulative``
    (those amounts are everything refunded since the invoice, as the marketplace reports it; the
    credit note takes what earlier credit notes did not). ``goods_weights`` shares goods between
    standard and margin-scheme lines when the marketplace says which items were refunded.

    held → (the seller answers) pending → claimed → submitting → issued; failed (retried at
    ``next_attempt_at``), needs_attention (waits for the seller), skipped (nothing left to credit,
    or the seller decided no credit note is needed). ``uncertain``, ``marker``,
    ``sent_client_id`` and ``sent_date`` play the roles they play on ``Invoice``.
    """

    class State(models.TextChoices):
        HELD = "held", _("Needs your decision")
        PENDING = "pending", _("Waiting")
        CLAIMED = "claimed", _("In progress")
        SUBMITTING = "submitting", _("Sending to the accounting package")
        ISSUED = "issued", _("Credit note issued")
        FAILED = "failed", _("Retrying")
        NEEDS_ATTENTION = "needs_attention", _("Needs your attention")
        SKIPPED = "skipped", _("Not credited")

    class Basis(models.TextChoices):
        FULL = "full", _("The whole invoice (everything left)")
        AMOUNTS = "amounts", _("The amounts given")
        CUMULATIVE = "cumulative", _("Refunded so far, as the marketplace reports it")

    class Source(models.TextChoices):
        MARKETPLACE = "marketplace", _("Marketplace data")
        MANUAL = "manual", _("Entered by the seller")

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="credit_notes")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    invoice = models.ForeignKey("invoicing.Invoice", on_delete=models.RESTRICT, related_name="credit_notes")
    event_key = models.CharField(max_length=120)
    source = models.CharField(max_length=12, choices=Source.choices)
    reason = models.TextField(blank=True)  # what happened, in the seller's words or ours
    basis = models.CharField(max_length=12, choices=Basis.choices)
    goods = models.DecimalField(**MONEY)
    shipping = models.DecimalField(**MONEY)
    handling = models.DecimalField(**MONEY)
    goods_weights = models.JSONField(default=dict, blank=True)
    # The seller's answer (held credit notes) or request (manual ones), for the accountant.
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    queued_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    uncertain = models.BooleanField(default=False)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    company_id = models.BigIntegerField(null=True, blank=True)
    marker = models.CharField(max_length=80, blank=True)
    sent_client_id = models.BigIntegerField(null=True, blank=True)
    sent_date = models.DateField(null=True, blank=True)
    fatture_id = models.BigIntegerField(null=True, blank=True)
    number = models.CharField(max_length=40, blank=True)
    numeration = models.CharField(max_length=20, blank=True)
    view_url = models.URLField(max_length=500, blank=True)
    credit_date = models.DateField(null=True, blank=True)
    total = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)  # EUR
    original_total = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    full = models.BooleanField(default=False)  # reverses the whole invoice (storno totale)
    # Created as an e-invoice, as its invoice was (invoicing/creditdocument.py: the SdI hook).
    electronic = models.BooleanField(default=False)
    api_calls = models.PositiveIntegerField(default=0)
    issued_at = models.DateTimeField(null=True, blank=True)
    error_code = models.CharField(max_length=60, blank=True)
    error_message = models.TextField(blank=True)
    error_hint = models.TextField(blank=True)
    error_detail = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "state"], name="credit_note_tenant_state_idx"),
            models.Index(fields=["ei_state", "ei_next_at"], name="credit_note_ei_due_idx"),
            # The dispatcher's look-up of each company's next credit note (open work only).
            models.Index(
                fields=["company_id", "created_at", "id"],
                condition=Q(state__in=OPEN_STATES),
                name="credit_note_open_work_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "event_key"], name="uniq_credit_note_event"),
            models.UniqueConstraint(
                fields=["company_id", "fatture_id"],
                condition=Q(fatture_id__isnull=False),
                name="uniq_credit_note_doc",
            ),
        ]

    def __str__(self):
        return f"Credit note {self.event_key} of invoice {self.invoice_id} ({self.state})"

    @property
    def display_number(self) -> str:
        return f"{self.number}{self.numeration}" if self.number else ""

    @property
    def error(self) -> ErrorBox | None:
        return ErrorBox.from_row(self, "error_")

    @property
    def retrying(self) -> bool:
        waiting_for_quota = self.state == self.State.PENDING and self.error_code == "fatture_quota"
        return self.state == self.State.FAILED or waiting_for_quota


class CreditNoteLine(models.Model):
    """One line of a credit note as sent: a share of one original invoice line (``position``),
    with that line's product, VAT type, treatment and natura. Stored before the create call, so
    what an uncertain attempt may have credited is never credited a second time."""

    credit_note = models.ForeignKey(CreditNote, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()  # the InvoiceLine.position it reverses
    slot = models.CharField(max_length=20)
    product_id = models.BigIntegerField()
    product_name = models.CharField(max_length=300, blank=True)
    description = models.CharField(max_length=500, blank=True)
    treatment = models.CharField(max_length=30)
    vat_id = models.IntegerField()
    vat_rate = models.DecimalField(max_digits=5, decimal_places=2)
    natura = models.CharField(max_length=8, blank=True)
    gross = models.DecimalField(max_digits=14, decimal_places=2)  # EUR, VAT included
    original_gross = models.DecimalField(max_digits=14, decimal_places=2)  # in the order's currency

    class Meta:
        ordering = ["credit_note", "position"]
        constraints = [models.UniqueConstraint(fields=["credit_note", "position"], name="uniq_credit_note_line")]

    def __str__(self):
        return f"{self.slot} −{self.gross} ({self.treatment})"
