from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TaxesConfig(AppConfig):
    """The tax reference engine (docs/tax.md): ECB rates, dated EU VAT rates, the VAT decision
    table, VIES checks and Italian identifiers. It imports accounts at most, never invoicing,
    fatture or marketplaces: invoicing calls it."""

    name = "taxes"
    verbose_name = _("Tax reference data")
    default_auto_field = "django.db.models.BigAutoField"
