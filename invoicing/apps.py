from django.apps import AppConfig
from django.conf import settings
from django.core import checks


@checks.register()
def claim_lease_outlives_the_task(app_configs, **kwargs):
    """A claim must outlive the invoice task's hard time limit, or the safety net could hand an
    invoice to a second worker while the first is still writing it (a duplicate invoice)."""
    from .tasks import invoice_order

    limit = invoice_order.time_limit or settings.CELERY_TASK_TIME_LIMIT
    if limit >= settings.INVOICE_CLAIM_LEASE_SECONDS:
        return [
            checks.Error(
                f"INVOICE_CLAIM_LEASE_SECONDS ({settings.INVOICE_CLAIM_LEASE_SECONDS}) must be longer than the "
                f"invoice task's hard time limit ({limit} s).",
                id="invoicing.E001",
            )
        ]
    return []


class InvoicingConfig(AppConfig):
    name = "invoicing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from accounts.signals import seller_settings_changed, seller_settings_saving
        from marketplaces.signals import store_imported

        from . import receivers
        from .accounting import accounting_ready, einvoice_status_changed

        seller_settings_changed.connect(receivers.apply_schedule, dispatch_uid="invoicing-apply-schedule")
        seller_settings_saving.connect(receivers.plan_schedule, dispatch_uid="invoicing-plan-schedule")
        store_imported.connect(receivers.queue_after_import, dispatch_uid="invoicing-queue-after-import")
        store_imported.connect(receivers.credit_after_import, dispatch_uid="invoicing-credit-after-import")
        accounting_ready.connect(receivers.resume_when_ready, dispatch_uid="invoicing-resume-when-ready")
        einvoice_status_changed.connect(receivers.look_at_einvoices, dispatch_uid="invoicing-look-at-einvoices")
