"""Fatture in Cloud as an accounting package: the implementation of invoicing's
``AccountingBackend`` (invoicing/accounting.py), listed in ``settings.ACCOUNTING_BACKENDS``.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext

from accounts.models import Tenant
from brickinvoice.errors import ErrorBox, ServiceError
from invoicing.accounting import Document, Health, InvoiceDraft, MappedProduct, slot_label

from . import documents
from .cache import REFUSAL_MEMORY, catalogue_cache_clear, missing_products_key, refusal_reread_key
from .client import FattureClient
from .connection import PACKAGE_KEY, connection_for, connection_issue
from .errors import FattureAuthFailed, FattureNotConnected, NoCompanySelected
from .mapping import mapping_check, mapping_for, mapping_health_issue, slot_products
from .models import FattureConnection
from .quota import quota_turn


class FattureBackend:
    """Fatture in Cloud for one tenant's connection; one ``FattureClient`` per instance, so
    ``calls`` counts the API requests this backend made (the cost of one invoice)."""

    key = PACKAGE_KEY
    label = "Fatture in Cloud"
    connect_url_name = "fatture:start"  # POST here to start connecting

    def __init__(self, connection: FattureConnection):
        if not connection.company_id:
            raise NoCompanySelected()
        self.connection = connection
        self.client = FattureClient(connection)
        self._company_id: int = connection.company_id

    # -- finding the tenant's connection (class level: no instance without a usable connection) --

    @classmethod
    def for_tenant(cls, tenant: Tenant) -> FattureBackend:
        """Raises ``fatture_not_connected``, ``fatture_auth_failed`` (needs reconnecting) or
        ``no_company_selected`` when the connection cannot invoice."""
        connection = connection_for(tenant=tenant)
        if connection is None or connection.status == FattureConnection.Status.DISCONNECTED:
            raise FattureNotConnected()
        if connection.status == FattureConnection.Status.NEEDS_RECONNECT:
            raise FattureAuthFailed(gettext("The connection needs reconnecting."))
        if not connection.company_id:
            raise NoCompanySelected()
        return cls(connection)

    @classmethod
    def account_of(cls, tenant: Tenant) -> int | None:
        connection = connection_for(tenant=tenant)
        return connection.company_id if connection is not None else None

    @classmethod
    def wait_before_invoice(cls, account_id: int) -> float:
        return quota_turn(account_id)

    @classmethod
    def health(cls, tenant: Tenant) -> Health:
        """One status row for the dashboard, from the database only (no API call)."""
        connection = connection_for(tenant=tenant)
        problem = connection_issue(connection=connection)
        if problem or connection is None:
            problem = problem or ErrorBox.of("fatture_not_connected")
            status = {
                "fatture_not_connected": gettext("Not connected"),
                "fatture_auth_failed": gettext("Needs reconnecting"),
                "no_company_selected": gettext("No company selected"),
            }[problem.code]
            return Health(cls.label, False, status, problem.message, problem.hint)
        label = f"{cls.label} — {connection.company_name or connection.company_id}"
        err = connection.last_error
        if err:
            return Health(label, False, gettext("Needs attention"), err.message, err.hint)
        unmapped = mapping_health_issue(tenant=tenant, connection=connection)
        if unmapped:
            return Health(label, False, gettext("Product mapping incomplete"), unmapped.message, unmapped.hint)
        return Health(label, True, gettext("Connected"))

    # -- the interface ---------------------------------------------------------------------------

    @property
    def company_id(self) -> int:
        return self._company_id

    @property
    def calls(self) -> int:
        return self.client.calls

    @property
    def invoice_subject(self) -> str:
        return self.connection.invoice_subject

    def slot_products(self) -> dict[str, MappedProduct]:
        return slot_products(connection=self.connection)

    def view_url(self, document_id: int) -> str:
        return settings.FATTURE_INVOICE_VIEW_URL.format(id=document_id)

    def sync_customer(self, data: dict, *, known_client_id: int | None) -> int:
        return documents.client_sync(self.client, data, known_client_id=known_client_id)

    def create_invoice(self, draft: InvoiceDraft) -> Document:
        return documents.invoice_create(self.client, draft)

    def find_invoice_for_order(self, *, marker: str, client_id: int, date: dt.date) -> Document | None:
        return documents.invoice_find(self.client, marker=marker, client_id=client_id, on=date)

    def explain_rejection(self, error: ServiceError, *, slots: list[str]) -> ServiceError:
        """A refused invoice whose mapped product was deleted in Fatture says so (Product {id} not
        found). The catalogue is read again at most once per REFUSAL_MEMORY for the company (a
        refused sync of forty orders costs one catalogue read, not forty), and the products found
        missing are remembered, so the remaining orders fail at once (``known_refusal``)."""
        if error.status not in (404, 422):
            return error
        tenant = self.connection.tenant
        mappings = mapping_for(tenant=tenant, connection=self.connection)
        if mappings and cache.add(refusal_reread_key(self.company_id), 1, timeout=REFUSAL_MEMORY):
            catalogue_cache_clear(company_id=self.company_id)
        missing = {
            issue.at: mappings[issue.at].product_id
            for issue in mapping_check(tenant=tenant)
            if issue.code == "product_not_found" and issue.at in mappings
        }
        if missing:
            cache.set(missing_products_key(self.company_id), missing, timeout=REFUSAL_MEMORY)
        return self.known_refusal(slots=slots, detail=error.detail, status=error.status) or error

    def known_refusal(self, *, slots: list[str], detail: str = "", status: int | None = None) -> ServiceError | None:
        """The refusal already explained for one of ``slots`` (a deleted product), without a call."""
        missing: dict[str, int] = cache.get(missing_products_key(self.company_id)) or {}
        slot = next((s for s in slots if s in missing), None)
        if slot is None:
            return None
        return ServiceError(
            detail, code="product_not_found", status=status, product_id=missing[slot], slot=slot_label(slot)
        )
