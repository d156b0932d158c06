"""Fatture in Cloud as an accounting package: the implementation of invoicing's
``AccountingBackend`` (invoicing/accounting.py), listed in ``settings.ACCOUNTING_BACKENDS``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext

from accounts.models import Tenant
from brickinvoice.errors import ErrorBox, ServiceError
from invoicing.accounting import (
    BuyerCheck,
    Capabilities,
    CreditNoteDraft,
    Document,
    EInvoiceOutcome,
    EInvoiceRejection,
    EInvoiceStatus,
    Health,
    InvoiceDraft,
    MappedProduct,
    QuotaOutlook,
    RegisterDraft,
    slot_label,
)
from invoicing.setup import SetupStep
from taxes.payments import payment_method_code

from . import creditnotes, documents, health, sdi
from .cache import REFUSAL_MEMORY, catalogue_cache_clear, missing_products_key, refusal_reread_key
from .catalogue import vat_types_list
from .client import FattureClient
from .company import company_info
from .connection import PACKAGE_KEY, connection_for, connection_issue
from .einvoice import document_update, einvoice_error_reason, einvoice_send, einvoice_statuses, einvoice_verify
from .einvoice_data import einvoice_entity
from .errors import FattureAuthFailed, FattureNotConnected, NoCompanySelected
from .mapping import mapping_check, mapping_for, mapping_health_issue, slot_products
from .models import FattureConnection
from .quota import month_outlook, quota_turn, sustained_calls_per_hour
from .receipts import ReceiptDraft, ReceiptLine, payment_account_ensure, receipt_create, receipt_find, receipts_check
from .sdi import rejection_code, rejection_help
from .setup import fatture_setup_steps
from .tasks import check_connection


def _status(value: str, recipient_code: str) -> EInvoiceStatus:
    """FiC's ei_status as an outcome (fatture/sdi.py): not_delivered to XXXXXXX/0000000 is delivered."""
    if sdi.is_delivered(value, recipient_code=recipient_code):
        outcome = EInvoiceOutcome.DELIVERED
    elif sdi.status_of(value) in sdi.NEEDS_FIX or sdi.status_of(value) == sdi.EiStatus.NOT_DELIVERED:
        outcome = EInvoiceOutcome.NEEDS_FIX
    elif sdi.status_of(value) in (sdi.EiStatus.NOT_SENT, sdi.EiStatus.MISSING) or not value:
        outcome = EInvoiceOutcome.NOT_SENT
    else:
        outcome = EInvoiceOutcome.IN_FLIGHT
    return EInvoiceStatus(raw=value or "", outcome=outcome, label=sdi.status_label(value))


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
        connection.tenant = tenant  # the caller's instance: its settings are already read
        return cls(connection)

    @classmethod
    def account_of(cls, tenant: Tenant) -> int | None:
        connection = connection_for(tenant=tenant)
        return connection.company_id if connection is not None else None

    @classmethod
    def wait_before_invoice(cls, account_id: int) -> float:
        return quota_turn(account_id)

    @classmethod
    def quota_outlook(cls, account_id: int) -> QuotaOutlook:
        """The company's month as our budget sees it (a cache read), and the hour's pace."""
        month = month_outlook(account_id)
        return QuotaOutlook(
            remaining=month.remaining,
            per_window=month.budget,
            window_ends_at=timezone.now() + dt.timedelta(seconds=month.seconds_left),
            calls_per_hour=sustained_calls_per_hour(),
        )

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
        return cls._live_health(label, connection)

    @staticmethod
    def _live_health(label: str, connection: FattureConnection) -> Health:
        """What Fatture last said (fatture/health.py), with a background check when that is old."""
        seen = health.freshness(connection)
        if seen.stale:
            health.request_check(connection, enqueue=check_connection.delay)
        if seen.failed_code:
            message, hint = health.failure_text(seen.failed_code)
            return Health(label, False, gettext("Not answering"), message, hint)
        if seen.answered_at is None:
            return Health(label, True, gettext("Checking the connection…"))
        when = date_format(localtime(seen.answered_at), "SHORT_DATETIME_FORMAT")
        return Health(label, True, gettext("Connected"), gettext("Last answer: %(when)s") % {"when": when})

    @classmethod
    def setup_steps(cls, tenant: Tenant) -> list[SetupStep]:
        return fatture_setup_steps(tenant=tenant)

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

    def vat_type_id(self, rate: Decimal, natura: str | None) -> int | None:
        """The company's enabled VAT type with ``rate`` and ``natura`` (None: a taxed line, no natura),
        from the cached VAT-type list (docs/providers/fatture-in-cloud.md §5: ids are per company,
        never hard-coded; ei_type is the natura)."""
        wanted = (natura or "").upper()
        for vat in vat_types_list(connection=self.connection):
            if vat.is_disabled or vat.value is None or vat.value != rate:
                continue
            have = (vat.ei_type or "").strip().upper()
            if (have == wanted) if wanted else not have.startswith("N"):
                return vat.id
        return None

    def sync_customer(self, data: dict, *, known_client_id: int | None, known_absent: bool = False) -> int:
        return documents.client_sync(self.client, data, known_client_id=known_client_id, known_absent=known_absent)

    def list_clients(self) -> Iterator[tuple[int, str, str]]:
        return documents.client_list(self.client)

    def create_invoice(self, draft: InvoiceDraft) -> Document:
        return documents.invoice_create(self.client, draft)

    def find_invoice_for_order(self, *, marker: str, client_id: int, date: dt.date) -> Document | None:
        return documents.invoice_find(self.client, marker=marker, client_id=client_id, on=date)

    def create_credit_note(self, draft: CreditNoteDraft) -> Document:
        return creditnotes.credit_note_create(self.client, draft)

    def find_credit_note_for_order(self, *, marker: str, client_id: int, date: dt.date) -> Document | None:
        return creditnotes.credit_note_find(self.client, marker=marker, client_id=client_id, on=date)

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

    # -- e-invoicing (docs/providers/fatture-in-cloud.md §8) ----------------------------------------

    def capabilities(self, *, fresh: bool = False) -> Capabilities:
        info = company_info(self.client, fresh=fresh)
        return Capabilities(e_invoice=info.e_invoice, receipts=info.receipts_allowed, plan=info.plan)

    def check_einvoice_buyer(self, entity: dict[str, Any]) -> BuyerCheck:
        built = einvoice_entity(entity)
        return BuyerCheck(
            kind=str(built.kind),
            problems=tuple(str(p.message) for p in built.problems),
            codes=tuple(p.code for p in built.problems),
            warnings=tuple(str(w.message) for w in built.warnings),
            recipient_code=str(built.fields.get("ei_code") or ""),
        )

    def verify_einvoice(self, document_id: int) -> list[str]:
        result = einvoice_verify(self.client, document_id)
        return [] if result.ok else list(result.problems)

    def send_einvoice(self, document_id: int) -> None:
        einvoice_send(self.client, document_id)

    def einvoice_statuses(self, recipients: dict[int, str], *, doc_type: str = "invoice") -> dict[int, EInvoiceStatus]:
        raw = einvoice_statuses(self.client, list(recipients), type=doc_type)
        return {doc_id: _status(value, recipients.get(doc_id, "")) for doc_id, value in raw.items()}

    def einvoice_rejection(self, document_id: int) -> EInvoiceRejection:
        reason = einvoice_error_reason(self.client, document_id)
        code = rejection_code(code=reason.code, reason=reason.reason)
        help_ = rejection_help(code)
        return EInvoiceRejection(
            code=code,
            meaning=str(help_.meaning),
            action=str(help_.action),
            reason=reason.reason,
            solution=reason.solution,
            delivered_if_retried=help_.delivered_if_retried,
        )

    def payment_code(self, marketplace_method: str, overrides: dict[str, str]) -> str:
        return payment_method_code(marketplace_method, table=overrides or None)

    def create_register_entry(self, draft: RegisterDraft) -> Document:
        receipts_check(self.client)
        account = payment_account_ensure(self.client, name=draft.account)
        lines = tuple(ReceiptLine(vat_id=v, vat_value=rate, amount_gross=gross) for v, rate, gross in draft.lines)
        receipt = receipt_create(
            self.client,
            ReceiptDraft(
                date=draft.day,
                payment_account_id=account.id,
                payment_account_name=account.name,
                marker=draft.marker,
                lines=lines,
                description=draft.description,
            ),
        )
        return Document(id=receipt.id, number=receipt.number, numeration=receipt.numeration)

    def find_register_entry(self, *, day: dt.date, marker: str) -> Document | None:
        found = receipt_find(self.client, day=day, marker=marker)
        return Document(id=found.id, number=found.number, numeration=found.numeration) if found else None

    def update_invoice(self, document_id: int, draft: InvoiceDraft) -> Document:
        return document_update(self.client, document_id, documents.invoice_payload(draft))

    def known_refusal(self, *, slots: list[str], detail: str = "", status: int | None = None) -> ServiceError | None:
        """The refusal already explained for one of ``slots`` (a deleted product), without a call."""
        missing: dict[str, int] = cache.get(missing_products_key(self.company_id)) or {}
        slot = next((s for s in slots if s in missing), None)
        if slot is None:
            return None
        return ServiceError(
            detail, code="product_not_found", status=status, product_id=missing[slot], slot=slot_label(slot)
        )
