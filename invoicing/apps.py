from django.apps import AppConfig


class InvoicingConfig(AppConfig):
    name = "invoicing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from accounts.signals import seller_settings_changed

        from . import receivers

        seller_settings_changed.connect(receivers.apply_schedule, dispatch_uid="invoicing-apply-schedule")
