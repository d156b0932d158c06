"""The accounting interface invoicing owns (docs/architecture.md §3): what an accounting package must do for us,
in invoicing's own neutral types, and the factory that finds the tenant's package.

Invoicing speaks only these types and this protocol. A package (today ``fatture/``, Fatture in
Cloud) implements ``AccountingBackend`` and is listed in ``settings.ACCOUNTING_BACKENDS`` by its key;
``backend_for_tenant`` picks the class by the key the tenant connected with
(``SellerSettings.accounting_package``). A second package is a new module and a settings entry, not
a change to invoicing. Every method raises ``brickinvoice.errors.ServiceError`` (transient or
permanent) on failure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol, cast, runtime_checkable

from django.conf import settings
from django.db import models
from django.dispatch import Signal
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from accounts.services import settings_for
from brickinvoice.errors import ServiceError

if TYPE_CHECKING:
    from accounts.models import Tenant

    from .setup import SetupStep


# Sent by a package (keyword ``tenant``) when the tenant's set-up may have become able to invoice:
# after a (re)connect, a company picked, the mapping saved or the products refreshed. Invoicing
# resumes what the connection or the mapping paused (queueing.invoices_resume).
accounting_ready = Signal()

# Sent by a package when it hears (a webhook) that documents' e-invoice status changed: keyword
# ``company_id`` (int) and ``document_ids`` (list[int]). Invoicing reads them on its next pass.
einvoice_status_changed = Signal()


# --- the slot vocabulary -------------------------------------------------------------------------


class Slot(models.TextChoices):
    """The eight invoice slots a seller maps to products of the package (docs/architecture.md §4.4). Which
    slot a line goes to is invoicing's decision; which product stands behind it is the mapping."""

    STD_DOMESTIC = "std_domestic", _("Standard goods — domestic")
    STD_EU = "std_eu", _("Standard goods — EU")
    STD_EXPORT = "std_export", _("Standard goods — export")
    MARGIN_DOMESTIC = "margin_domestic", _("Margin-scheme goods — domestic")
    MARGIN_EU = "margin_eu", _("Margin-scheme goods — EU")
    MARGIN_EXPORT = "margin_export", _("Margin-scheme goods — export")
    SHIPPING = "shipping", _("Shipping")
    HANDLING = "handling", _("Handling")


MARGIN_SLOTS = frozenset({Slot.MARGIN_DOMESTIC, Slot.MARGIN_EU, Slot.MARGIN_EXPORT})


def slot_label(slot: str) -> str:
    try:
        return str(Slot(slot).label)
    except ValueError:
        return slot


# --- neutral types -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MappedProduct:
    """The package's product chosen for a slot, with its VAT type (id, percentage, natura).

    ``mismatch``: how the product's VAT differs from what the slot expects ("" when it fits or the
    seller accepted it); the orders that need the slot wait until the seller decides."""

    product_id: int
    name: str
    vat_id: int
    vat_value: Decimal
    code: str = ""
    natura: str = ""
    mismatch: str = ""
    expected: str = ""


@dataclass(frozen=True)
class DraftLine:
    product_id: int
    name: str
    description: str
    gross_price: Decimal  # per unit, VAT included
    vat_id: int
    quantity: int = 1


@dataclass(frozen=True)
class InvoiceDraft:
    """One invoice as invoicing wants it; the backend turns it into its own request."""

    client_id: int
    entity: dict[str, Any]
    date: dt.date
    currency: str
    visible_subject: str
    marker: str  # an internal text that identifies the order, for the look-up before a retry
    lines: tuple[DraftLine, ...]
    total: Decimal
    paid_date: dt.date
    notes: str = ""  # printed on the document (stated choices, legal wording)
    stamp_duty: Decimal = Decimal(0)  # EUR 2 when due (docs/tax.md §8)
    numeration: str = ""  # the numbering series; "" = the company's default
    electronic: bool = False  # an e-invoice for SdI (docs/providers/fatture-in-cloud.md §8)
    payment_method: str = ""  # FatturaPA ModalitaPagamento (MP08 card/PayPal, MP05 transfer …)


@dataclass(frozen=True)
class CreditNoteDraft:
    """One credit note as invoicing wants it (docs/architecture.md §4.8): ``document`` carries what a credit
    note shares with an invoice (customer, date, lines as positive amounts credited, marker, notes,
    and whether it is an e-invoice with its payment code, as its invoice was);
    ``original_number`` / ``original_date`` link it to the invoice it corrects (in the e-invoice
    data, docs/providers/fatture-in-cloud.md §16)."""

    document: InvoiceDraft
    original_number: str
    original_date: dt.date


@dataclass(frozen=True)
class Document:
    """A document the package created (or that a look-up found)."""

    id: int
    number: str
    numeration: str


@dataclass(frozen=True)
class Capabilities:
    """What the connected account's plan allows (read from the package, cached)."""

    e_invoice: bool
    receipts: bool
    plan: str = ""


@dataclass(frozen=True)
class BuyerCheck:
    """Whether an e-invoice can be built for this buyer (docs/tax.md §7.2): their kind (foreign,
    Italian business, Italian consumer), what is missing in the seller's words, and the recipient
    code it would carry (XXXXXXX for foreign buyers, 0000000 without a channel)."""

    kind: str
    problems: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    recipient_code: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems


class EInvoiceOutcome(models.TextChoices):
    """Where an e-invoice stands at SdI, whatever the package calls it."""

    NOT_SENT = "not_sent", _("Not sent")
    IN_FLIGHT = "in_flight", _("At SdI, waiting for the outcome")
    DELIVERED = "delivered", _("Delivered")
    NEEDS_FIX = "needs_fix", _("Rejected: fix and send again")


@dataclass(frozen=True)
class EInvoiceStatus:
    raw: str
    outcome: str  # EInvoiceOutcome
    label: str


@dataclass(frozen=True)
class EInvoiceRejection:
    """Why SdI (or the buyer) refused an e-invoice, and what the seller does in our product."""

    code: str
    meaning: str
    action: str
    reason: str = ""
    solution: str = ""
    # SdI's 00404 "duplicate" after our own retried send: the first copy arrived.
    delivered_if_retried: bool = False


@dataclass(frozen=True)
class RegisterDraft:
    """One day's takings for one payment account in the corrispettivi register: gross amounts per
    VAT type, and a marker to find it again before a retry."""

    day: dt.date
    account: str
    marker: str
    lines: tuple[tuple[int, Decimal, Decimal], ...]  # (vat id, rate, gross EUR)
    description: str = ""


@dataclass(frozen=True)
class Health:
    """One status row of the dashboard for the accounting connection."""

    label: str
    ok: bool
    status: str
    detail: str = ""
    hint: str = ""


@dataclass(frozen=True)
class QuotaOutlook:
    """An account's request budget in the package's longest quota window (Fatture: the month)."""

    remaining: int  # calls we may still make in this window
    per_window: int  # calls we may make in a whole window
    window_ends_at: dt.datetime
    calls_per_hour: int  # the pace the shorter windows allow


# --- the protocol --------------------------------------------------------------------------------


@runtime_checkable
class AccountingBackend(Protocol):
    """What invoicing needs from an accounting package, for one tenant's connection."""

    key: str

    @property
    def company_id(self) -> int:
        """The package's account the documents go to (the shared quota and the customer map are
        kept per account)."""

    @property
    def calls(self) -> int:
        """API requests this instance has made (the cost of one invoice)."""

    @property
    def invoice_subject(self) -> str:
        """The seller's fixed subject text printed on every invoice."""

    def slot_products(self) -> dict[str, MappedProduct]:
        """The mapped product of each slot, from stored data (no API call). A slot whose product
        cannot be used on an invoice (no VAT type) is left out, so the plan reports it unmapped."""

    def sync_customer(self, data: dict[str, Any], *, known_client_id: int | None, known_absent: bool = False) -> int:
        """Create or update the customer described by ``data`` (``code`` = stable marketplace key,
        ``name``, address and tax fields) and return its id. ``known_client_id`` is the id
        remembered from a previous order, updated in place when it still exists. ``known_absent``:
        the caller's client index proves no client has this code (nor is a codeless one to adopt),
        so it is created without a look-up."""

    def list_clients(self) -> Iterator[tuple[int, str, str]]:
        """Every client of the company as (id, code, name), page by page (``code`` "" when none)."""

    def create_invoice(self, draft: InvoiceDraft) -> Document:
        """Create one invoice. Not idempotent on the provider's side: callers look first with
        ``find_invoice_for_order`` after an uncertain outcome."""

    def find_invoice_for_order(self, *, marker: str, client_id: int, date: dt.date) -> Document | None:
        """The invoice already created for the order carrying ``marker`` (for ``client_id`` on
        ``date``), or None. Any failure raises an error without an HTTP status ("cannot tell")."""

    def explain_rejection(self, error: ServiceError, *, slots: list[str]) -> ServiceError:
        """What a refused invoice means for the seller: e.g. a mapped product of one of ``slots``
        was deleted (``product_not_found``). Returns ``error`` itself when nothing better is known."""

    def vat_type_id(self, rate: Decimal, natura: str | None) -> int | None:
        """The company's VAT type with this rate and natura (None: a taxed line), for a line whose
        product's own VAT type does not carry its treatment; None when there is none."""

    def known_refusal(self, *, slots: list[str]) -> ServiceError | None:
        """A refusal already explained for one of ``slots`` (e.g. its product was deleted), so the
        order fails at once with the same explanation and no call (``explain_rejection`` learns it)."""

    def view_url(self, document_id: int) -> str:
        """Where the seller opens the document in the package."""

    # -- e-invoicing (docs/providers/fatture-in-cloud.md §8) --

    def capabilities(self, *, fresh: bool = False) -> Capabilities:
        """What the account's plan allows (e-invoicing, the corrispettivi register); cached unless
        ``fresh`` (the seller says the plan changed)."""

    def check_einvoice_buyer(self, entity: dict[str, Any]) -> BuyerCheck:
        """Whether an e-invoice can be built for the buyer described by ``entity`` (no call)."""

    def verify_einvoice(self, document_id: int) -> list[str]:
        """The package's formal check of the e-invoice: the problems found (empty: it passes)."""

    def send_einvoice(self, document_id: int) -> None:
        """Send the e-invoice to SdI once. Not idempotent: callers read the status before any
        second send after an uncertain outcome."""

    def einvoice_statuses(self, recipients: dict[int, str], *, doc_type: str = "invoice") -> dict[int, EInvoiceStatus]:
        """The SdI status of each document id (``recipients``: id → the recipient code it was
        sent to) of one kind (``invoice`` or ``credit_note``), with as few calls as the package
        allows; ids it does not show are left out."""

    def einvoice_rejection(self, document_id: int) -> EInvoiceRejection:
        """Why the document was refused, explained for the seller."""

    def payment_code(self, marketplace_method: str, overrides: dict[str, str]) -> str:
        """The e-invoice payment code (FatturaPA ModalitaPagamento) for the marketplace's payment
        method words, with the seller's own table over the defaults."""

    def create_register_entry(self, draft: RegisterDraft) -> Document:
        """Record a day's takings in the corrispettivi register once (not idempotent on the
        provider's side: look with ``find_register_entry`` after an uncertain outcome)."""

    def find_register_entry(self, *, day: dt.date, marker: str) -> Document | None:
        """The register entry carrying ``marker`` on ``day``, or None; a failure raises ("cannot tell")."""

    def update_invoice(self, document_id: int, draft: InvoiceDraft) -> Document:
        """Rewrite a refused e-invoice with corrected data before sending it again."""

    # -- credit notes (docs/architecture.md §4.8; docs/providers/fatture-in-cloud.md §16) --

    def create_credit_note(self, draft: CreditNoteDraft) -> Document:
        """Create one credit note linked to its invoice. Not idempotent on the provider's side:
        callers look first with ``find_credit_note_for_order`` after an uncertain outcome."""

    def find_credit_note_for_order(self, *, marker: str, client_id: int, date: dt.date) -> Document | None:
        """The credit note already created with ``marker`` (for ``client_id`` on ``date``), or
        None. Any failure raises an error without an HTTP status ("cannot tell")."""


class AccountingPackage(Protocol):
    """What the backend *class* answers before there is a usable connection (class methods)."""

    key: str
    label: str
    connect_url_name: str  # POST here to start connecting

    def for_tenant(self, tenant: Tenant) -> AccountingBackend: ...

    def account_of(self, tenant: Tenant) -> int | None: ...

    def health(self, tenant: Tenant) -> Health: ...

    def setup_steps(self, tenant: Tenant) -> list[SetupStep]:
        """The package's steps of the set-up checklist (invoicing/setup.py), in order, from the
        database only: e.g. an account approved, connected, a company chosen, products mapped."""

    def wait_before_invoice(self, account_id: int) -> float: ...

    def quota_outlook(self, account_id: int) -> QuotaOutlook: ...


# --- the factory ---------------------------------------------------------------------------------


@cache
def backend_class(key: str | None = None) -> AccountingPackage:
    """The backend class registered under ``key`` (default: ``ACCOUNTING_DEFAULT_BACKEND``)."""
    key = key or settings.ACCOUNTING_DEFAULT_BACKEND
    return cast(AccountingPackage, import_string(settings.ACCOUNTING_BACKENDS[key]))


def package_of(tenant: Tenant) -> str:
    key = settings_for(tenant).accounting_package
    return key if key in settings.ACCOUNTING_BACKENDS else settings.ACCOUNTING_DEFAULT_BACKEND


def backend_for_tenant(tenant: Tenant) -> AccountingBackend:
    """The tenant's backend, ready to call; raises ``fatture_not_connected``-style errors
    (not connected, needs reconnecting, no company selected) otherwise."""
    return backend_class(package_of(tenant)).for_tenant(tenant)


def account_of(tenant: Tenant) -> int | None:
    """The tenant's selected account id in its package, if any (one query): what invoice tasks
    carry so a worker can check the account's quota before it touches the invoice."""
    return backend_class(package_of(tenant)).account_of(tenant)


def health_for_tenant(tenant: Tenant) -> Health:
    """The dashboard row for the accounting connection, from the database only."""
    return backend_class(package_of(tenant)).health(tenant)


def wait_before_invoice(account_id: int, *, key: str | None = None) -> float:
    """Seconds a task for ``account_id`` should wait for the package's quota before it claims an
    invoice (0: go now). Costs no SQL."""
    return backend_class(key).wait_before_invoice(account_id)


def packages() -> list[tuple[str, str]]:
    """The accounting packages a seller can connect: ``(key, label)`` for the connect page."""
    return [(key, backend_class(key).label) for key in settings.ACCOUNTING_BACKENDS]
