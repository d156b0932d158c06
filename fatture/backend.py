"""The accounting backend interface invoicing talks to (design §3), and its Fatture in Cloud entry.

A second accounting package is a new ``AccountingBackend`` subclass plus an entry in
fatture.registry, not a rewrite of invoicing.
"""

from __future__ import annotations

import abc
from datetime import date

from django.conf import settings

from accounts.models import Tenant

from . import services
from .client import FattureClient
from .errors import FattureAuthFailed, FattureNotConnected, NoCompanySelected
from .models import FattureConnection


class AccountingBackend(abc.ABC):
    """What invoicing needs from an accounting package. Every method raises a
    ``brickinvoice.errors.ServiceError`` (transient or permanent) on failure."""

    key: str = ""

    @abc.abstractmethod
    def sync_customer(self, data: dict, *, known_client_id: int | None) -> int:
        """Create or update the customer described by ``data`` (``code`` = stable marketplace key,
        ``name``, address and tax fields) and return its id in the package. ``known_client_id`` is
        the id remembered from a previous order, updated in place when it still exists."""

    @abc.abstractmethod
    def create_invoice(self, draft):
        """Create one invoice from ``draft`` and return the created document (id, number,
        numeration). Not idempotent on the provider's side: callers look first with
        ``find_invoice_for_order`` after an uncertain outcome."""

    @abc.abstractmethod
    def find_invoice_for_order(self, *, marker: str, client_id: int, date: date):
        """The invoice already created for the order carrying ``marker`` (for ``client_id`` on
        ``date``), or None. Used before any retry after a timeout, 5xx or crash."""

    @abc.abstractmethod
    def list_products(self) -> list[services.Product]:
        """The products invoice lines can use, with their VAT types."""


class FattureBackend(AccountingBackend):
    """Fatture in Cloud for one tenant's connection; one ``FattureClient`` per instance, so
    ``calls`` counts the API requests this backend made (the cost of one invoice)."""

    key = "fatture_in_cloud"

    def __init__(self, connection: FattureConnection):
        self.connection = connection
        self.client = FattureClient(connection)

    @property
    def company_id(self) -> int | None:
        return self.connection.company_id

    @property
    def calls(self) -> int:
        return self.client.calls

    @property
    def invoice_subject(self) -> str:
        return self.connection.invoice_subject

    def list_products(self) -> list[services.Product]:
        return services.catalogue(connection=self.connection)

    def slot_products(self) -> dict[str, dict]:
        """``{slot: {product_id, name, code, vat_id, vat_value}}`` from the stored mapping, no API call."""
        return services.slot_products(tenant=None, connection=self.connection)

    def view_url(self, document_id: int) -> str:
        return settings.FATTURE_INVOICE_VIEW_URL.format(id=document_id)

    # The three methods below delegate to fatture.documents, written by the invoicing work.
    def sync_customer(self, data: dict, *, known_client_id: int | None) -> int:
        from . import documents

        return documents.client_sync(self.client, data, known_client_id=known_client_id)

    def create_invoice(self, draft):
        from . import documents

        return documents.invoice_create(self.client, draft)

    def find_invoice_for_order(self, *, marker: str, client_id: int, date: date):
        from . import documents

        return documents.invoice_find(self.client, marker=marker, client_id=client_id, on=date)


def backend_for_tenant(tenant: Tenant) -> FattureBackend:
    """The tenant's accounting backend, ready to call: raises ``fatture_not_connected``,
    ``fatture_auth_failed`` (needs reconnecting) or ``no_company_selected`` otherwise."""
    connection = services.connection_for(tenant=tenant)
    if connection is None or connection.status == FattureConnection.Status.DISCONNECTED:
        raise FattureNotConnected()
    if connection.status == FattureConnection.Status.NEEDS_RECONNECT:
        raise FattureAuthFailed("The connection needs reconnecting.")
    if not connection.company_id:
        raise NoCompanySelected()
    return FattureBackend(connection)


def company_of(tenant: Tenant) -> int | None:
    """The tenant's selected Fatture company id, if any (one query): what the invoice tasks carry
    so a worker can check the company's quota before it touches the invoice."""
    connection = services.connection_for(tenant=tenant)
    return connection.company_id if connection is not None else None


def fatture_health(*, tenant: Tenant) -> dict:
    """Dashboard status row ``{label, ok, status, detail, hint}`` (database only)."""
    return services.fatture_health(tenant=tenant)
