"""Words for the invoicing codes templates print: ``{% load invoicing_labels %}``, then
``{{ plan.region|region_label }}`` and ``{{ line.slot|slot_label }}``."""

from django import template
from django.utils.translation import gettext_lazy as _

from invoicing import accounting

register = template.Library()

# invoicing.regions.Region values: where an order ships, for its VAT.
REGION_LABELS = {"domestic": _("domestic"), "eu": _("EU"), "export": _("outside the EU")}


@register.filter
def region_label(value) -> str:
    """The VAT region of an order in words ("domestic", "EU", "outside the EU")."""
    return str(REGION_LABELS.get(str(value), value))


@register.filter
def slot_label(value) -> str:
    """An invoice slot's name ("Standard goods — domestic"); an unknown code as it is."""
    return accounting.slot_label(str(value))
