"""Storage of the fake BrickLink, BrickOwl and Fatture in Cloud services.

Kept deliberately simple: each fake resource is a JSON document shaped exactly like the provider's
answer, plus the few columns needed to find it. None of this is used in production; the tables
exist everywhere (the app is always installed) but are only reachable when SANDBOX mounts the URLs.

The credentials stored here are fake demo values that the sandbox index page shows on purpose, so
they are not encrypted. Fatture tokens are stored as SHA-256 digests, like a real provider would.
"""

from django.db import models


class SandboxStore(models.Model):
    """A fake marketplace store. ``lookup_key`` is the BrickLink consumer key or the BrickOwl API key.

    ``credentials`` for BrickLink: ``{"consumer_secret": ..., "tokens": [{"value", "secret", "ip",
    "mask"}]}`` (ip ``0.0.0.0`` = not IP-bound). For BrickOwl: ``{}`` (the key is the credential).
    ``profile`` holds the store's own data: seller name, store name, currency, country, store id.
    """

    class Marketplace(models.TextChoices):
        BRICKLINK = "bricklink", "BrickLink"
        BRICKOWL = "brickowl", "BrickOwl"

    marketplace = models.CharField(max_length=10, choices=Marketplace.choices)
    name = models.CharField(max_length=200)
    lookup_key = models.CharField(max_length=100, unique=True)
    credentials = models.JSONField(default=dict)
    profile = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["marketplace", "name"]

    def __str__(self):
        return f"{self.get_marketplace_display()} sandbox store {self.name}"


class SandboxOrder(models.Model):
    """One order exactly as the marketplace answers it: ``payload`` is the BrickLink order resource
    or the BrickOwl ``order/view`` object, ``items`` the BrickLink batches (a list of lists) or the
    BrickOwl ``order/items`` array."""

    store = models.ForeignKey(SandboxStore, on_delete=models.CASCADE, related_name="orders")
    order_id = models.CharField(max_length=40)
    ordered_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    payload = models.JSONField()
    items = models.JSONField(default=list)

    class Meta:
        ordering = ["store", "ordered_at"]
        constraints = [models.UniqueConstraint(fields=["store", "order_id"], name="uniq_sandbox_order")]

    def __str__(self):
        return f"{self.store.name} order {self.order_id}"


# --- Fatture in Cloud ---------------------------------------------------------------------------


class SandboxFattureUser(models.Model):
    """A Fatture in Cloud login. ``companies`` is the ``/user/companies`` list (accountants carry
    ``controlled_companies``); every id in it, nested ones included, is reachable with its tokens."""

    email = models.EmailField(unique=True)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    companies = models.JSONField(default=list)
    need_confirmation = models.BooleanField(default=False)

    class Meta:
        ordering = ["email"]

    def __str__(self):
        return self.email

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def company_ids(self) -> set[int]:
        ids = set()
        for company in self.companies:
            ids.add(int(company["id"]))
            ids.update(int(inner["id"]) for inner in company.get("controlled_companies") or [])
        return ids


class SandboxFattureAuthCode(models.Model):
    """An authorization code (``c/...``): 60 s, single use, bound to client and redirect URI."""

    code_hash = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(SandboxFattureUser, on_delete=models.CASCADE)
    client_id = models.CharField(max_length=200)
    redirect_uri = models.CharField(max_length=1000)
    scope = models.CharField(max_length=1000)
    expires_at = models.DateTimeField()
    used = models.BooleanField(default=False)

    def __str__(self):
        return f"Authorization code for {self.user}"


class SandboxFattureToken(models.Model):
    """One grant: an access token (``a/...``) and its refresh token (``r/...``). A refresh sets
    ``revoked`` (the old refresh token stops working) and creates a new row; the old access token
    stays valid until ``access_expires_at``, as RFC 6749 allows."""

    user = models.ForeignKey(SandboxFattureUser, on_delete=models.CASCADE)
    client_id = models.CharField(max_length=200)
    scope = models.CharField(max_length=1000)
    access_hash = models.CharField(max_length=64, unique=True)
    refresh_hash = models.CharField(max_length=64, unique=True)
    access_expires_at = models.DateTimeField()
    refresh_expires_at = models.DateTimeField()
    revoked = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"Token of {self.user}{' (refresh used)' if self.revoked else ''}"


class SandboxFattureVatType(models.Model):
    """A company's VAT type; ``vat_id`` is the per-company id (22 % is often 0 on real accounts)."""

    company_id = models.BigIntegerField()
    vat_id = models.IntegerField()
    data = models.JSONField()

    class Meta:
        ordering = ["company_id", "vat_id"]
        constraints = [models.UniqueConstraint(fields=["company_id", "vat_id"], name="uniq_sandbox_vat_type")]

    def __str__(self):
        return f"VAT type {self.vat_id} of company {self.company_id}"


class SandboxFattureProduct(models.Model):
    """A product; its Fatture id is the primary key. ``data`` holds the Product fields but ``id``."""

    company_id = models.BigIntegerField(db_index=True)
    data = models.JSONField()

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"Product {self.pk} ({self.data.get('code', '')}) of company {self.company_id}"


class SandboxFattureClient(models.Model):
    """A client (customer); its Fatture id is the primary key."""

    company_id = models.BigIntegerField(db_index=True)
    data = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"Client {self.pk} ({self.data.get('name', '')}) of company {self.company_id}"


class SandboxFattureDocument(models.Model):
    """An issued document; its Fatture id is the primary key, ``data`` is the full IssuedDocument.
    ``entity_id`` and ``date`` are copied out of ``data`` so look-ups stay cheap."""

    company_id = models.BigIntegerField()
    doc_type = models.CharField(max_length=30)
    year = models.IntegerField()
    numeration = models.CharField(max_length=50, blank=True)
    number = models.IntegerField()
    entity_id = models.BigIntegerField(null=True, blank=True)
    date = models.DateField()
    data = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["company_id", "doc_type", "entity_id", "date"])]
        constraints = [
            models.UniqueConstraint(
                fields=["company_id", "doc_type", "year", "numeration", "number"], name="uniq_sandbox_doc_number"
            )
        ]

    def __str__(self):
        return f"{self.doc_type} {self.number}{self.numeration}/{self.year} of company {self.company_id}"


class SandboxFattureNumeration(models.Model):
    """The last number used per company, document type, year and numeration (locked to assign)."""

    company_id = models.BigIntegerField()
    doc_type = models.CharField(max_length=30)
    year = models.IntegerField()
    numeration = models.CharField(max_length=50, blank=True)
    last_number = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["company_id", "doc_type", "year", "numeration"], name="uniq_sandbox_numeration"
            )
        ]

    def __str__(self):
        return f"{self.doc_type}{self.numeration}/{self.year} of company {self.company_id}: {self.last_number}"


class SandboxFault(models.Model):
    """A fault to inject into the next ``remaining`` calls of ``operation`` (see sandbox.faults)."""

    class Mode(models.TextChoices):
        ERROR_BEFORE = "error_before", "HTTP 500 without doing anything"
        ERROR_AFTER = "error_after", "Do the work, then answer HTTP 500"
        TIMEOUT_AFTER = "timeout_after", "Do the work, then stall past the client's timeout"

    operation = models.CharField(max_length=60)
    mode = models.CharField(max_length=20, choices=Mode.choices)
    remaining = models.PositiveIntegerField(default=1)
    delay_seconds = models.FloatField(default=35.0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.operation}: {self.mode} × {self.remaining}"


class SandboxEInvoice(models.Model):
    """The SDI side of one e-invoice (sandbox.fatture_sdi): its ``ei_status``, the outcome planned
    for the submission in flight, when the next automatic step happens, and the rejection shown by
    ``error_reason``. ``delivered`` stays true once any submission reached the buyer, so a later
    copy of the same invoice is discarded as a duplicate (00404)."""

    document = models.OneToOneField(SandboxFattureDocument, on_delete=models.CASCADE, related_name="einvoice")
    status = models.CharField(max_length=20, default="not_sent")
    outcome = models.CharField(max_length=20, blank=True)
    outcome_code = models.CharField(max_length=20, blank=True)
    outcome_reason = models.TextField(blank=True)
    advance_at = models.DateTimeField(null=True, blank=True, db_index=True)
    submissions = models.PositiveIntegerField(default=0)
    delivered = models.BooleanField(default=False)
    error_reason = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"E-invoice of document {self.document_id}: {self.status}"


class SandboxFattureReceipt(models.Model):
    """A corrispettivi register entry (``/receipts``); its Fatture id is the primary key."""

    company_id = models.BigIntegerField(db_index=True)
    date = models.DateField()
    data = models.JSONField()

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"Receipt {self.pk} of {self.date} (company {self.company_id})"


class SandboxFatturePaymentAccount(models.Model):
    """A payment account (``/info/payment_accounts``); its Fatture id is the primary key."""

    company_id = models.BigIntegerField(db_index=True)
    data = models.JSONField()

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"Payment account {self.pk} ({self.data.get('name', '')}) of company {self.company_id}"


class SandboxFattureSubscription(models.Model):
    """A webhook subscription (``/subscriptions``): stored and answered, never called back."""

    company_id = models.BigIntegerField(db_index=True)
    subscription_id = models.CharField(max_length=40, unique=True)
    data = models.JSONField()

    def __str__(self):
        return f"Subscription {self.subscription_id} of company {self.company_id}"
