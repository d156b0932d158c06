"""Store connections (credentials encrypted at rest) and the normalised orders pulled from them.

``Order`` / ``OrderItem`` are the one shape the rest of the product reads; the BrickLink and
BrickOwl specifics stay in ``marketplaces/bricklink/`` and ``marketplaces/brickowl/``.
"""

import json
import uuid
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.choices import OrderStatus
from accounts.models import Tenant
from brickinvoice.fields import EncryptedTextField

MONEY: dict[str, Any] = {"max_digits": 14, "decimal_places": 4, "default": 0}


class Marketplace(models.TextChoices):
    BRICKLINK = "bricklink", "BrickLink"
    BRICKOWL = "brickowl", "BrickOwl"


class StoreConnection(models.Model):
    """One seller's store on one marketplace. Credentials are a JSON object, encrypted.

    Disconnecting blanks the credentials and keeps the row: imported orders point at it, and a
    reconnect of the same marketplace account (same ``account_ref``) reuses it, so orders are
    never imported twice under two store rows.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", _("Connected")
        NEEDS_ATTENTION = "needs_attention", _("Needs attention")
        DISCONNECTED = "disconnected", _("Disconnected")

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="stores")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    marketplace = models.CharField(max_length=20, choices=Marketplace.choices)
    name = models.CharField(max_length=200, blank=True)
    credentials = EncryptedTextField(blank=True, default="")
    credentials_hint = models.CharField(max_length=40, blank=True)
    # A non-secret fingerprint of the marketplace account (hash of the BrickLink consumer key,
    # BrickOwl store id), to recognise a reconnect of the same account.
    account_ref = models.CharField(max_length=64, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    # The invoice numbering series (sezionale, e.g. "BL") this store's invoices go to; empty: the
    # company's default series (docs/providers/fatture-in-cloud.md §7.2 numeration).
    numeration = models.CharField(max_length=20, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)

    # The last failure, shown on the stores page with its hint (brickinvoice.errors).
    last_error_code = models.CharField(max_length=50, blank=True)
    last_error_message = models.TextField(blank=True)
    last_error_detail = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)

    # Import progress: marketplace-specific cursor, the last run's summary, API-call budget.
    import_cursor = models.JSONField(default=dict, blank=True)
    last_import_result = models.JSONField(default=dict, blank=True)
    last_import_at = models.DateTimeField(null=True, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True, help_text="End of the last complete import.")
    import_lock_until = models.DateTimeField(null=True, blank=True)
    api_calls_day = models.DateField(null=True, blank=True, help_text="UTC day that api_calls_today counts.")
    api_calls_today = models.PositiveIntegerField(default=0)
    # Orders whose detail could not be read, by marketplace order id: {"count", "first_at",
    # "error"}. After a few failed imports in a row the order is quarantined instead of being
    # fetched again on every run (marketplaces.imports).
    order_failures = models.JSONField(default=dict, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "marketplace"])]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "marketplace", "account_ref"],
                condition=~models.Q(account_ref=""),
                name="uniq_store_account_per_tenant",
            ),
            # One live connection per marketplace account across tenants, or its orders would be
            # invoiced twice (marketplaces.services refuses it first, with a readable error).
            models.UniqueConstraint(
                fields=["marketplace", "account_ref"],
                condition=~models.Q(account_ref="") & ~models.Q(status="disconnected"),
                name="uniq_connected_store_account",
            ),
        ]

    def __str__(self):
        return f"{self.get_marketplace_display()} store of {self.tenant}"

    def get_credentials(self) -> dict:
        return json.loads(self.credentials) if self.credentials else {}

    def set_credentials(self, values: dict, hint: str = "") -> None:
        self.credentials = json.dumps(values)
        self.credentials_hint = hint

    @property
    def display_name(self) -> str:
        return self.name or self.get_marketplace_display()


class Order(models.Model):
    """One marketplace order, normalised. Amounts are in ``currency`` (the store currency).

    **Problems and quarantine** (what invoicing filters on):

    - ``data_errors``: sentences about this order's data, for the seller. Any entry means "a
      person should look": the invoicing side holds such an order for a decision.
    - ``quarantined``: the order must never be invoiced (nor credited) while it is set. It is set
      when the payload could not be normalised at all (the detail is not an object, the
      normaliser failed), when a value the invoice needs had to be replaced by a placeholder (an
      amount that is no number or out of range, the order date, the currency, the country, an
      item), or when the detail call failed in several imports in a row. The row then holds safe
      placeholders: zero amounts, status ``on_hold`` and the listing's date (or the import time)
      when nothing better was read, and ``raw`` keeps the payload (JSON-safe, bounded) for support.
      A quarantined order is read again when its listing row changes and at the latest at
      ``reread_at`` (a day later); a clean read lifts the quarantine by itself. Every order whose
      id can be read gets a row, so nothing is skipped without a word.

    **Payment and refunds** (for credit notes and e-invoicing):

    - ``payment_method``: the marketplace's words (BrickLink ``payment.method`` such as
      "PayPal (Onsite)", BrickOwl ``payment_method_type`` such as "paypal_standard").
    - ``payment_status``: BrickLink's raw ``payment.status`` (None, Sent, Received, Clearing,
      Returned, Bounced, Completed); empty on BrickOwl, which has none.
    - ``ever_paid``: set once any import saw the order paid (a paid, shipped or completed status, or
      a payment date) and never cleared by a later read. A BrickLink item-removal request after
      payment (docs/providers/bricklink.md §8.4) turns an order into ``raw_status`` UPDATED,
      ``payment_status`` "None", a smaller ``grand_total`` and normalised status ``pending``:
      ``ever_paid`` and ``status`` in (pending, awaiting_payment) together recognise "was paid,
      now changed" (a ``data_errors`` entry says so too). An existing invoice's own total against
      ``amount_paid_to_seller`` gives the difference to credit.
    - ``refund_subtotal`` / ``refund_shipping`` / ``refund_adjustment`` / ``refund_total`` and
      ``refund_note`` (and ``OrderItem.refunded_quantity``): BrickOwl's refund fields
      (docs/providers/brickowl.md §9), positive amounts in the store currency; always 0 on
      BrickLink, which exposes no refunds (cancellations show as status ``cancelled``:
      CANCELLED, NPX, PURGED).

    How the money components relate, for a consistent order::

        items_subtotal + shipping + insurance + etc1 + etc2 + additional_charges
            - credit - coupon                              == amount_paid_to_seller
        amount_paid_to_seller + marketplace_tax            == grand_total

    ``credit`` and ``coupon`` are positive amounts that reduce the total. ``marketplace_tax`` is
    tax the marketplace collected and keeps (BrickLink US sales tax, BrickLink-collected import
    VAT): the buyer paid it, but it is never the seller's revenue, so it is outside the invoice
    total ``amount_paid_to_seller``. The marketplaces round at 4 (BrickLink) or 2 (BrickOwl)
    places and are known to drift by a cent, so a difference up to 0.01 is accepted; anything
    larger is stored anyway with a readable entry in ``data_errors``.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="orders")
    # RESTRICT, not PROTECT: a store with orders cannot be deleted on its own (disconnect keeps
    # it), but deleting the whole tenant still cascades through both.
    store = models.ForeignKey(StoreConnection, on_delete=models.RESTRICT, related_name="orders")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    marketplace = models.CharField(max_length=20, choices=Marketplace.choices)
    marketplace_order_id = models.CharField(max_length=40)

    buyer_username = models.CharField(max_length=200, blank=True)
    buyer_name = models.CharField(max_length=200, blank=True)
    buyer_email = models.CharField(max_length=254, blank=True)
    ship_name = models.CharField(max_length=200, blank=True)
    ship_address1 = models.CharField(max_length=255, blank=True)
    ship_address2 = models.CharField(max_length=255, blank=True)
    ship_postal_code = models.CharField(max_length=40, blank=True)
    ship_city = models.CharField(max_length=120, blank=True)
    ship_state = models.CharField(max_length=120, blank=True)
    ship_country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2; empty when unknown.")

    ordered_at = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    raw_status = models.CharField(max_length=60, blank=True)
    status = models.CharField(max_length=20, choices=OrderStatus.choices)
    payment_status = models.CharField(max_length=30, blank=True)
    payment_method = models.CharField(max_length=100, blank=True)
    ever_paid = models.BooleanField(default=False)
    currency = models.CharField(max_length=3, blank=True)

    items_subtotal = models.DecimalField(**MONEY)
    shipping = models.DecimalField(**MONEY)
    insurance = models.DecimalField(**MONEY)
    etc1 = models.DecimalField(**MONEY)
    etc2 = models.DecimalField(**MONEY)
    additional_charges = models.DecimalField(**MONEY)
    credit = models.DecimalField(**MONEY)
    coupon = models.DecimalField(**MONEY)
    marketplace_tax = models.DecimalField(**MONEY)
    grand_total = models.DecimalField(**MONEY)
    amount_paid_to_seller = models.DecimalField(**MONEY)
    refund_subtotal = models.DecimalField(**MONEY)
    refund_shipping = models.DecimalField(**MONEY)
    refund_adjustment = models.DecimalField(**MONEY)
    refund_total = models.DecimalField(**MONEY)
    refund_note = models.TextField(blank=True)

    raw = models.JSONField(default=dict, blank=True)
    payload_hash = models.CharField(max_length=64, blank=True)
    # Fingerprint of the listing row (status, change date, totals): equal means "not changed,
    # do not fetch the detail again".
    list_marker = models.CharField(max_length=64, blank=True)
    data_errors = models.JSONField(default=list, blank=True)
    quarantined = models.BooleanField(default=False)
    reread_at = models.DateTimeField(null=True, blank=True)
    imported_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "marketplace_order_id"], name="uniq_order_per_store"),
        ]
        indexes = [
            models.Index(fields=["tenant", "-ordered_at", "-id"], name="order_tenant_date_id_idx"),
            models.Index(fields=["tenant", "marketplace_order_id"], name="order_tenant_number_idx"),
            models.Index(fields=["tenant", "status", "-ordered_at"], name="order_tenant_status_idx"),
            models.Index(fields=["store", "-ordered_at"], name="order_store_date_idx"),
            # The few orders that need the seller: counted per store on the stores page, and
            # the quarantined ones looked up by each import to read them again.
            models.Index(
                fields=["store", "reread_at"],
                condition=models.Q(quarantined=True) | ~models.Q(data_errors=[]),
                name="order_attention_idx",
            ),
        ]

    def __str__(self):
        return f"{self.get_marketplace_display()} order {self.marketplace_order_id}"

    @property
    def needs_attention(self) -> bool:
        """Quarantined, or with data problems a person should look at."""
        return self.quarantined or bool(self.data_errors)


class OrderItem(models.Model):
    """One lot of an order. ``unit_price`` is the price actually charged (after tiers)."""

    class Condition(models.TextChoices):
        NEW = "new", _("New")
        USED = "used", _("Used")

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="order_items")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField(default=0)
    batch = models.PositiveIntegerField(default=0, help_text="BrickLink batch number (items added later).")
    lot_id = models.CharField(max_length=40, blank=True)
    item_no = models.CharField(max_length=80, blank=True)
    item_type = models.CharField(max_length=40, blank=True)
    name = models.CharField(max_length=500, blank=True)
    color = models.CharField(max_length=80, blank=True)
    condition = models.CharField(max_length=4, choices=Condition.choices, default=Condition.NEW)
    quantity = models.IntegerField(default=0)
    refunded_quantity = models.PositiveIntegerField(default=0, help_text="BrickOwl only: lots refunded.")
    unit_price = models.DecimalField(**MONEY)
    line_total = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["order", "position"]

    def __str__(self):
        return f"{self.quantity} × {self.name or self.item_no}"
