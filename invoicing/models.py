"""Invoices (one per order, ever), the customer map, and sync runs."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Tenant
from brickinvoice.errors import ErrorBox

from .einvoicefields import EInvoiceFields


class Invoice(EInvoiceFields):
    """The invoice of one order, with its state machine (docs/architecture.md §5.1: one invoice per
    order, ever).

    pending → claimed → submitting → issued; failed (transient, retried automatically at
    ``next_attempt_at``) or needs_attention (waits for the seller); skipped when the order stopped
    being eligible before it was processed (it is re-queued if it becomes eligible again). A pending
    invoice with a ``next_attempt_at`` in the future is waiting for the accounting package's quota.

    Work is handed to workers by the dispatcher (invoicing/queueing.py): ``queued_at`` says a
    message for this row is in flight; the claim clears it. ``sort_at`` is the date the invoice
    will carry (payment or order date), so each company's invoices are issued in date order.

    ``uncertain`` is set before the create call and cleared only once its outcome is known:
    while it is set, the next attempt first searches the package for this order's marker, with
    the client and date that attempt sent (``sent_client_id``, ``sent_date``), before creating
    anything.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting")
        CLAIMED = "claimed", _("In progress")
        SUBMITTING = "submitting", _("Sending to Fatture")
        ISSUED = "issued", _("Invoiced")
        FAILED = "failed", _("Retrying")
        NEEDS_ATTENTION = "needs_attention", _("Needs your attention")
        SKIPPED = "skipped", _("Not invoiced")

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="invoices")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    order = models.OneToOneField("marketplaces.Order", on_delete=models.RESTRICT, related_name="invoice")
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING, db_index=True)
    sync_run = models.ForeignKey(
        "invoicing.SyncRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="invoices"
    )
    attempts = models.PositiveIntegerField(default=0)
    sort_at = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    uncertain = models.BooleanField(default=False)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # What was sent, and what the package answered.
    company_id = models.BigIntegerField(null=True, blank=True)
    marker = models.CharField(max_length=80, blank=True)
    sent_client_id = models.BigIntegerField(null=True, blank=True)
    sent_date = models.DateField(null=True, blank=True)
    fatture_id = models.BigIntegerField(null=True, blank=True)
    number = models.CharField(max_length=40, blank=True)
    numeration = models.CharField(max_length=20, blank=True)
    view_url = models.URLField(max_length=500, blank=True)
    invoice_date = models.DateField(null=True, blank=True)
    total = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    # A non-EUR order is invoiced in EUR at the ECB rate of the operation date (docs/tax.md §9):
    # the original total, the rate (units of the currency per 1 EUR), its date and where we read it.
    original_currency = models.CharField(max_length=3, blank=True)
    original_total = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    fx_rate = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True)
    fx_rate_date = models.DateField(null=True, blank=True)
    fx_source = models.CharField(max_length=200, blank=True)
    stamp_duty = models.DecimalField(max_digits=6, decimal_places=2, default=0)
    region = models.CharField(max_length=10, blank=True)
    # The numbering series we asked for (the store's sezionale; "" = the company's default): within
    # one series, numbers must follow dates (docs/tax.md §7.4).
    series = models.CharField(max_length=20, blank=True)

    # The notes printed on the document (kept to rewrite it for a resend).
    notes = models.TextField(blank=True)
    # A note for the seller that is not a failure (e.g. a non-electronic document to an Italian
    # consumer, a buyer without a delivery channel).
    warning = models.TextField(blank=True)
    api_calls = models.PositiveIntegerField(default=0)
    issued_at = models.DateTimeField(null=True, blank=True)
    # This invoice's credit notes as the orders list shows them ({number, url, state}), rewritten
    # from the CreditNote rows whenever one changes (invoicing/creditrequests.py): the list then
    # costs no query per row.
    credit_notes_shown = models.JSONField(default=list, blank=True)
    # The last failure, for the seller: code (errors.CATALOGUE), message, hint, provider detail.
    error_code = models.CharField(max_length=60, blank=True)
    error_message = models.TextField(blank=True)
    error_hint = models.TextField(blank=True)
    error_detail = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "state"]),
            # The dispatcher's look-up of each company's next invoice (open work only).
            models.Index(fields=["ei_state", "ei_next_at"], name="invoice_ei_due_idx"),
            models.Index(
                fields=["company_id", "sort_at", "id"],
                condition=Q(state__in=["pending", "claimed", "submitting", "failed"]),
                name="invoice_open_work_idx",
            ),
            # The dispatcher's count of work in flight, and the safety net's look for lost messages:
            # small whatever the backlog waiting behind (docs/benchmarks.md, the whale).
            models.Index(fields=["queued_at"], condition=Q(queued_at__isnull=False), name="invoice_queued_idx"),
            models.Index(
                fields=["claimed_at"], condition=Q(state__in=["claimed", "submitting"]), name="invoice_claimed_idx"
            ),
        ]
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
    def error(self) -> ErrorBox | None:
        return ErrorBox.from_row(self, "error_")

    @property
    def waiting_for_quota(self) -> bool:
        return self.state == self.State.PENDING and self.error_code == "fatture_quota"

    @property
    def retrying(self) -> bool:
        """Retrying by itself: nothing for the seller to do (as opposed to needs_attention)."""
        return self.state == self.State.FAILED or self.waiting_for_quota


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


class ClientIndex(models.Model):
    """That the company's Fatture clients were listed into CustomerLink (invoicing/clientindex.py):
    a code without a link is then known to be absent, and a new buyer costs no search call."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="client_indexes")
    company_id = models.BigIntegerField()
    built_at = models.DateTimeField()
    # False when the list was cut at CLIENT_INDEX_MAX_CLIENTS: then it proves no absence.
    complete = models.BooleanField(default=True)
    # Clients made by hand in Fatture (no code): name → id, until one is adopted by a buyer.
    codeless_names = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "company_id"], name="uniq_client_index")]

    def __str__(self):
        return f"clients of {self.company_id} ({self.built_at:%Y-%m-%d})"


class SyncRun(models.Model):
    """One sync of a tenant: import every store, then queue the invoices. Shown live on the dashboard."""

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", _("Scheduled")
        MANUAL = "manual", _("Sync now")

    class State(models.TextChoices):
        RUNNING = "running", _("Running")
        FINISHED = "finished", _("Finished")
        FAILED = "failed", _("Finished with errors")

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
    # Waiting by themselves (the package's quota, an automatic retry), and not yet done at all.
    invoices_waiting = models.PositiveIntegerField(default=0)
    invoices_open = models.PositiveIntegerField(default=0)
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


class SyncRunStore(models.Model):
    """One store's import within a sync run, recorded once (a redelivered import task writes the
    same row again), so the run's counters are derived, never incremented twice."""

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="store_results")
    store = models.ForeignKey("marketplaces.StoreConnection", on_delete=models.CASCADE, related_name="+")
    orders_imported = models.PositiveIntegerField(default=0)
    api_calls = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)
    finished_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "store"], name="uniq_sync_run_store")]

    def __str__(self):
        return f"Store {self.store_id} in sync run {self.run_id}"


class ScheduleCursor(models.Model):
    """How far the schedule dispatcher has started scheduled syncs (invoicing/schedules.py): one
    row, locked by the dispatcher that runs, so every due time is dispatched once."""

    dispatched_until = models.DateTimeField(_("scheduled syncs started up to"))

    class Meta:
        verbose_name = _("schedule cursor")

    def __str__(self):
        return f"{self.dispatched_until:%Y-%m-%d %H:%M:%S}"


class OrderDecision(models.Model):
    """The seller's answer to a question an order raised (held for its data, dated before the last
    invoice of its numeration, …), with who decided and when. Kept for the accountant; the newest
    decision for the order's current data is the one that applies."""

    class Kind(models.TextChoices):
        INVOICE_AS_COMPUTED = "invoice_as_computed", _("Invoice the amounts as computed")
        SKIP = "skip", _("Do not invoice (handled outside BrickInvoice)")
        REREAD = "reread", _("Read the order again from the marketplace")
        DATE_TODAY = "date_today", _("Date the invoice today, stating the date of the sale")
        OWN_SERIES = "own_series", _("Invoice it with its own date in a separate numbering series")

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="order_decisions")
    order = models.ForeignKey("marketplaces.Order", on_delete=models.CASCADE, related_name="decisions")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    reason = models.TextField(blank=True)
    # OWN_SERIES: the numbering series (sezionale) the invoice goes in.
    numeration = models.CharField(max_length=20, blank=True)
    # The order's data when the seller decided: a later change of the order makes the decision lapse.
    payload_hash = models.CharField(max_length=64, blank=True)
    # What the question was (an error code of brickinvoice.errors), for the history.
    question_code = models.CharField(max_length=60, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["order", "-decided_at"])]

    def __str__(self):
        return f"{self.get_kind_display()} for order {self.order_id}"


class InvoiceLine(models.Model):
    """One line of an issued invoice, as sent: what a credit note reverses (it never re-decides
    the VAT), what the accountant's export lists, and what the OSS threshold counts."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    slot = models.CharField(max_length=20)
    product_id = models.BigIntegerField()
    product_name = models.CharField(max_length=300, blank=True)
    description = models.CharField(max_length=500, blank=True)
    treatment = models.CharField(max_length=30)  # taxes.treatment.TreatmentCode
    vat_id = models.IntegerField()
    vat_rate = models.DecimalField(max_digits=5, decimal_places=2)
    natura = models.CharField(max_length=8, blank=True)
    gross = models.DecimalField(max_digits=14, decimal_places=2)  # EUR, VAT included
    original_gross = models.DecimalField(max_digits=14, decimal_places=2)  # in the order's currency
    destination_country = models.CharField(max_length=2, blank=True)  # OSS
    destination_rate = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)

    class Meta:
        ordering = ["invoice", "position"]
        constraints = [models.UniqueConstraint(fields=["invoice", "position"], name="uniq_invoice_line")]

    def __str__(self):
        return f"{self.slot} {self.gross} ({self.treatment})"


class Buyer(models.Model):
    """What the seller recorded about one marketplace buyer (keyed like the client code,
    customers.customer_code): a VAT number (checked in VIES, for EU business buyers), a codice
    fiscale (Italian consumers who asked for an invoice), and where an Italian business receives
    e-invoices (SdI code or PEC). Neither marketplace gives these (docs/tax.md §1.2, §2)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="buyers")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    code = models.CharField(max_length=120)
    vat_number = models.CharField(_("VAT number"), max_length=20, blank=True)
    codice_fiscale = models.CharField(_("Codice fiscale"), max_length=16, blank=True)
    sdi_code = models.CharField(_("SdI recipient code"), max_length=7, blank=True)
    pec = models.EmailField(_("PEC address"), blank=True)
    vies_check = models.ForeignKey(
        "taxes.VatNumberCheck", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "code"], name="uniq_buyer_code")]

    def __str__(self):
        return self.code


class DailyReceipt(models.Model):
    """One day's takings from Italian private buyers for one payment account, for the corrispettivi
    register (docs/tax.md §1.2): created in the package once the day is over, exactly once (the same
    claim, ``uncertain`` and look-up as invoices), and never re-created; a sale that arrives after
    its day was registered goes to the next open day."""

    class State(models.TextChoices):
        OPEN = "open", _("Collecting the day's sales")
        CLAIMED = "claimed", _("Being registered")
        SUBMITTING = "submitting", _("Sending to Fatture in Cloud")
        ISSUED = "issued", _("Registered")
        FAILED = "failed", _("Retrying")
        NEEDS_ATTENTION = "needs_attention", _("Needs your attention")

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="daily_receipts")
    company_id = models.BigIntegerField()
    day = models.DateField()
    account = models.CharField(max_length=100)
    state = models.CharField(max_length=20, choices=State.choices, default=State.OPEN, db_index=True)
    uncertain = models.BooleanField(default=False)
    attempts = models.PositiveIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    fatture_id = models.BigIntegerField(null=True, blank=True)
    number = models.CharField(max_length=40, blank=True)
    total = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    error_code = models.CharField(max_length=60, blank=True)
    error_message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "company_id", "day", "account"], name="uniq_daily_receipt")
        ]

    def __str__(self):
        return f"Receipts of {self.day} ({self.account})"

    @property
    def marker(self) -> str:
        return f"BrickInvoice receipts {self.tenant_id}-{self.day.isoformat()}-{self.id}"


class RegisterEntry(models.Model):
    """One Italian private buyer's order in a day's receipt, with its amounts by VAT type."""

    receipt = models.ForeignKey(DailyReceipt, on_delete=models.PROTECT, related_name="entries")
    order = models.OneToOneField("marketplaces.Order", on_delete=models.RESTRICT, related_name="register_entry")
    lines = models.JSONField(default=list)  # [{"vat_id", "vat_rate", "gross"}] in EUR
    total = models.DecimalField(max_digits=14, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"Order {self.order_id} in {self.receipt}"


# Credit notes live in their own module (models.py stays small); importing them here registers them.
from .creditmodels import CreditNote, CreditNoteLine  # noqa: E402, F401
