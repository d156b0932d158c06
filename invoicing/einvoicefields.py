"""Where a document's e-invoice stands at SdI (invoicing/einvoicing.py), the same for invoices and
credit notes: an abstract model both inherit, so one piece of code sends and follows them."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class EInvoiceFields(models.Model):
    """Where the e-invoice stands, its recipient code, when we look next, and the last refusal
    explained for the seller."""

    class EInvoice(models.TextChoices):
        NONE = "", _("Not an e-invoice")
        CREATED = "created", _("E-invoice created; you send it from Fatture in Cloud")
        TO_SEND = "to_send", _("Waiting to be sent to SdI")
        INVALID = "invalid", _("Formal check failed: fix the data")
        SENDING = "sending", _("Being sent to SdI")
        IN_FLIGHT = "in_flight", _("At SdI, waiting for the outcome")
        DELIVERED = "delivered", _("Delivered through SdI")
        REJECTED = "rejected", _("Rejected by SdI: fix and send again")

    ei_state = models.CharField(max_length=12, choices=EInvoice.choices, default="", blank=True, db_index=True)
    ei_status = models.CharField(max_length=20, blank=True)  # the package's own word
    ei_recipient = models.CharField(max_length=7, blank=True)
    ei_sends = models.PositiveSmallIntegerField(default=0)
    ei_checks = models.PositiveSmallIntegerField(default=0)
    ei_next_at = models.DateTimeField(null=True, blank=True)
    ei_sent_at = models.DateTimeField(null=True, blank=True)
    ei_rejected_at = models.DateTimeField(null=True, blank=True)
    ei_code = models.CharField(max_length=20, blank=True)
    ei_message = models.TextField(blank=True)
    ei_hint = models.TextField(blank=True)

    class Meta:
        abstract = True
