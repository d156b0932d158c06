"""accounts' tasks: thin, ids in, one service call (docs/architecture.md §10.2)."""

from celery import shared_task
from django.db import transaction

from . import notifications, services
from .models import Tenant


# A mail server hiccup is worth a few retries; the e-mail is not worth more than a day's delay.
@shared_task(autoretry_for=(OSError,), retry_backoff=60, max_retries=5, acks_late=True)
def send_preregistration_approved(preregistration_id: int) -> bool:
    return services.preregistration_notify_approved(preregistration_id=preregistration_id)


# Sent after the commit that found the problem; throttled per tenant and kind by the service.
@shared_task(autoretry_for=(OSError,), retry_backoff=60, max_retries=5, acks_late=True)
def notify_owners(tenant_id: int, kind: str, context: dict | None = None) -> int:
    tenant = Tenant.objects.filter(id=tenant_id).first()
    return notifications.notify_tenant_owners(tenant=tenant, kind=kind, context=context) if tenant else 0


def notify_owners_after_commit(*, tenant_id: int, kind: str, context: dict | None = None) -> None:
    """Queue the e-mail once the transaction that found the problem commits."""
    transaction.on_commit(lambda: notify_owners.delay(tenant_id, kind, context or {}))
