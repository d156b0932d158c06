"""Vocabularies shared by seller settings and the layers above (marketplaces, invoicing)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class OrderStatus(models.TextChoices):
    """Marketplace order statuses, normalised across BrickLink and BrickOwl."""

    PENDING = "pending", _("Pending (not yet acknowledged)")
    AWAITING_PAYMENT = "awaiting_payment", _("Awaiting payment")
    PAID = "paid", _("Paid")
    SHIPPED = "shipped", _("Shipped")
    COMPLETED = "completed", _("Completed / received")
    ON_HOLD = "on_hold", _("On hold / dispute")
    CANCELLED = "cancelled", _("Cancelled")


# Only orders the buyer has paid may become invoices: an invoice is a tax document, and pending,
# awaiting-payment or on-hold orders may never be paid. Cancelled orders are never invoiceable.
DEFAULT_INVOICEABLE_STATUSES = [OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.COMPLETED]
INVOICEABLE_STATUS_CHOICES = [c for c in OrderStatus.choices if c[0] in DEFAULT_INVOICEABLE_STATUSES]


class MarginRule(models.TextChoices):
    OFF = "off", _("Off: every lot is standard VAT goods")
    USED = "used", _("Used lots under the margin scheme")
    ALL = "all", _("All lots under the margin scheme")


class InvoiceDatePolicy(models.TextChoices):
    ORDER_DATE = "order_date", _("Order date")
    PAYMENT_DATE = "payment_date", _("Payment date")


class SyncSchedule(models.TextChoices):
    OFF = "off", _("Off (only when I press Sync now)")
    EVERY_15_MIN = "15min", _("Every 15 minutes")
    HOURLY = "hourly", _("Every hour")
    DAILY = "daily", _("Once a day")


# Each schedule's interval in seconds (off has none). Intervals are counted from the Unix epoch, so
# a day is a UTC day; a tenant's place within its interval is SellerSettings.sync_phase.
SYNC_INTERVAL_SECONDS = {SyncSchedule.EVERY_15_MIN: 900, SyncSchedule.HOURLY: 3600, SyncSchedule.DAILY: 86400}


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    MEMBER = "member", _("Member")


class NotificationKind(models.TextChoices):
    """The e-mails BrickInvoice sends to a seller's owners (accounts.notifications); each can be turned off."""

    DAILY_DIGEST = "daily_digest", _("Daily summary of orders that need your action")
    FATTURE_RECONNECT = "fatture_reconnect", _("Fatture in Cloud needs to be connected again")
    STORE_CREDENTIALS_REFUSED = "store_credentials_refused", _("A store refused its API keys")
    PREREGISTRATION_APPROVED = "preregistration_approved", _("Your Fatture in Cloud e-mail was approved")
    EINVOICE_DISCARDED = "einvoice_discarded", _("An e-invoice was discarded by the SdI")


class OssNatura(models.TextChoices):
    """How an OSS sale shows on an e-invoice (docs/tax.md §3.4): the Agenzia's N3.2 or
    Assosoftware's N7; a per-tenant choice for the accountant."""

    N3_2 = "N3.2", _("N3.2 — non-taxable intra-EU supply (Agenzia delle Entrate)")
    N7 = "N7", _("N7 — VAT paid in another EU state (Assosoftware)")


class EInvoiceMode(models.TextChoices):
    OFF = "off", _("Off: plain documents, I handle e-invoicing myself")
    CREATE = "create", _("Create e-invoices; I send them from Fatture in Cloud")
    SEND = "send", _("Create and send e-invoices to the SdI automatically")


class ItalianConsumerPolicy(models.TextChoices):
    """What happens to a sale to an Italian consumer (no codice fiscale from the marketplaces,
    docs/tax.md §1.2)."""

    RECEIPTS = "receipts", _("Record them in the corrispettivi register; invoice only buyers who give a codice fiscale")
    HOLD = "hold", _("Hold them until I enter the buyer's codice fiscale")
    DOCUMENT = "document", _("Issue a non-electronic document (not valid for SdI; shown with a warning)")
