"""The Fatture in Cloud connection of a tenant: finishing the OAuth flow, disconnecting, the
companies the user can invoice from, and why nothing can be invoiced yet.

Shapes follow docs/providers/fatture-in-cloud.md (§2 OAuth, §2.6 user, §2.7 companies). Views
stay thin and call these; invoicing reaches Fatture only through fatture.backend.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import SellerSettings, Tenant
from accounts.services import preregistration_is_approved
from brickinvoice.errors import ErrorBox, ServiceError, describe
from invoicing.accounting import accounting_ready

from . import oauth
from .cache import catalogue_cache_clear
from .client import FattureClient, get_with_token
from .errors import NoCompanySelected
from .models import FattureConnection

logger = logging.getLogger("fatture.connection")

# This package's key in settings.ACCOUNTING_BACKENDS (invoicing/accounting.py).
PACKAGE_KEY = "fatture_in_cloud"


@dataclass(frozen=True)
class Company:
    id: int
    name: str
    type: str = "company"
    vat_number: str = ""
    tax_code: str = ""
    fic_plan: str = ""
    license_expire: date | None = None
    controlled_by: str = ""  # the accountant's studio, for a controlled company

    @property
    def license_expired(self) -> bool:
        return bool(self.license_expire and self.license_expire < timezone.localdate())

    @property
    def label(self) -> str:
        via = gettext(" (via %(accountant)s)") % {"accountant": self.controlled_by} if self.controlled_by else ""
        return f"{self.name}{via}"


def connection_for(*, tenant: Tenant) -> FattureConnection | None:
    return FattureConnection.objects.filter(tenant=tenant).first()


def _connect_failed(detail: str, exc: Exception | None = None) -> ServiceError:
    error = ServiceError(detail, code="fatture_connect_failed", status=getattr(exc, "status", None))
    error.__cause__ = exc
    return error


def connection_complete(*, tenant: Tenant, code: str, redirect_uri: str) -> FattureConnection:
    """Finish the OAuth flow: exchange the code, read the user's e-mail, check pre-registration,
    then store the tokens (encrypted). An e-mail that is not approved raises ``email_not_registered``
    and the tokens are dropped without ever being stored."""
    try:
        tokens = oauth.token_from_code(code=code, redirect_uri=redirect_uri)
    except ServiceError as exc:
        detail = gettext("The authorization code was not accepted (%(reason)s).") % {"reason": exc.detail or exc.code}
        raise _connect_failed(detail, exc) from exc
    try:
        info = get_with_token(tokens.access_token, "/user/info")
    except ServiceError as exc:
        detail = gettext("Could not read the Fatture in Cloud user (%(reason)s).") % {"reason": exc.detail or exc.code}
        raise _connect_failed(detail, exc) from exc
    user = info.get("data") or {}
    email = str(user.get("email") or "").strip()
    if not email:
        raise _connect_failed(gettext("Fatture in Cloud did not tell us the e-mail of this login."))
    if (info.get("email_confirmation_state") or {}).get("need_confirmation"):
        raise _connect_failed(
            gettext("The e-mail %(email)s is not confirmed yet in Fatture in Cloud; confirm it there first.")
            % {"email": email}
        )
    if not preregistration_is_approved(email):
        raise ServiceError(
            gettext("The Fatture in Cloud login %(email)s is not on the pre-registration list.") % {"email": email},
            code="email_not_registered",
            email=email,
        )
    with transaction.atomic():
        connection, _ = FattureConnection.objects.select_for_update().get_or_create(tenant=tenant)
        connection.status = FattureConnection.Status.CONNECTED
        connection.access_token = tokens.access_token
        connection.refresh_token = tokens.refresh_token
        connection.token_expires_at = tokens.expires_at
        connection.fatture_email = email.lower()
        connection.fatture_user_name = str(user.get("name") or "")[:200]
        connection.connected_at = timezone.now()
        connection.last_error_code = connection.last_error_message = connection.last_error_detail = ""
        connection.save()
        SellerSettings.objects.filter(tenant=tenant).update(accounting_package=PACKAGE_KEY)
    logger.info("fatture connected tenant=%s connection=%s", tenant.public_id, connection.public_id)
    if connection.company_id:
        transaction.on_commit(lambda: accounting_ready.send(sender=FattureConnection, tenant=tenant))
    return connection


def record_error(connection: FattureConnection, code: str, detail: str = "") -> None:
    connection.last_error_code = code
    connection.last_error_message = describe(code).message
    connection.last_error_detail = (detail or "")[:2000]
    connection.save(update_fields=["last_error_code", "last_error_message", "last_error_detail", "updated_at"])


def require_company(connection: FattureConnection) -> int:
    if not connection.company_id:
        raise NoCompanySelected()
    return connection.company_id


def connection_disconnect(*, connection: FattureConnection) -> None:
    """Forget the tokens. We create no webhook subscriptions, so there are none to delete, and
    Fatture has no revoke endpoint (docs/providers/fatture-in-cloud.md §2.3): the seller removes the
    app's access on Fatture's side. The pre-registration, the company, the mappings and every
    invoice stay as they are."""
    connection.status = FattureConnection.Status.DISCONNECTED
    connection.access_token = ""
    connection.refresh_token = ""
    connection.token_expires_at = None
    connection.last_error_code = connection.last_error_message = connection.last_error_detail = ""
    connection.save()
    if connection.company_id:
        catalogue_cache_clear(company_id=connection.company_id)
    logger.info("fatture disconnected connection=%s", connection.public_id)


def connection_issue(*, connection: FattureConnection | None) -> ErrorBox | None:
    """Why nothing can be mapped or invoiced yet (not connected, needs reconnecting, no company), or None."""
    if connection is None or connection.status == FattureConnection.Status.DISCONNECTED:
        return ErrorBox.of("fatture_not_connected")
    if connection.status == FattureConnection.Status.NEEDS_RECONNECT:
        return ErrorBox.of("fatture_auth_failed")
    if not connection.company_id:
        return ErrorBox.of("no_company_selected")
    return None


# --- companies ----------------------------------------------------------------------------------


def _parse_date(value) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _company(raw: dict, controlled_by: str = "") -> Company | None:
    if raw.get("id") is None:
        return None
    return Company(
        id=int(raw["id"]),
        name=str(raw.get("name") or f"Company {raw['id']}"),
        type=str(raw.get("type") or "company"),
        vat_number=str(raw.get("vat_number") or ""),
        tax_code=str(raw.get("tax_code") or ""),
        fic_plan=str(raw.get("fic_plan") or ""),
        license_expire=_parse_date(raw.get("fic_license_expire")),
        controlled_by=controlled_by,
    )


def companies_list(*, connection: FattureConnection) -> list[Company]:
    """Every company the user can invoice from: its own and, for an accountant, the controlled
    companies nested in ``controlled_companies`` (docs/providers/fatture-in-cloud.md §2.7),
    flattened, each id once."""
    answer = FattureClient(connection).get("/user/companies")
    companies: dict[int, Company] = {}
    for raw in (answer.get("data") or {}).get("companies") or []:
        own = _company(raw)
        if own and own.id not in companies:
            companies[own.id] = own
        for inner in raw.get("controlled_companies") or []:
            controlled = _company(inner, controlled_by=own.name if own else "")
            if controlled and controlled.id not in companies:
                companies[controlled.id] = controlled
    return list(companies.values())


def company_select(*, connection: FattureConnection, company_id: int) -> Company:
    """Save the company invoices are issued from; it must be one the user can reach."""
    company = next((c for c in companies_list(connection=connection) if c.id == int(company_id)), None)
    if company is None:
        raise ServiceError(
            gettext("Company %(id)s is not among this user's companies.") % {"id": company_id},
            code="company_not_found",
        )
    connection.company_id = company.id
    connection.company_name = company.name[:300]
    connection.last_error_code = connection.last_error_message = connection.last_error_detail = ""
    connection.save(
        update_fields=[
            "company_id",
            "company_name",
            "last_error_code",
            "last_error_message",
            "last_error_detail",
            "updated_at",
        ]
    )
    transaction.on_commit(lambda: accounting_ready.send(sender=FattureConnection, tenant=connection.tenant))
    return company


def company_check(*, connection: FattureConnection) -> bool:
    """False (and ``company_not_found`` stored on the connection) when the saved company is gone."""
    if not connection.company_id:
        return False
    if any(c.id == connection.company_id for c in companies_list(connection=connection)):
        return True
    record_error(
        connection,
        "company_not_found",
        gettext("Company %(id)s is no longer listed.") % {"id": connection.company_id},
    )
    return False


def company_lost_or(connection: FattureConnection, exc: ServiceError, code: str) -> ServiceError:
    """A 403/404 on a company call: Company Not Found if the company is gone, else ``code``."""
    try:
        still_there = company_check(connection=connection)
    except ServiceError:
        still_there = True  # cannot tell; report the original failure
    if not still_there:
        return ServiceError(exc.detail, code="company_not_found", status=exc.status)
    return ServiceError(exc.detail or describe(exc.code).message, code=code, status=exc.status)
