"""The eight invoice slots a seller maps to Fatture in Cloud products (design §4 step 4).

Every invoice line goes to one slot; which slot is decided by invoicing (region, margin scheme),
which product and VAT type stand behind it is the seller's mapping (fatture.models.ProductMapping).
"""

from django.db import models


class Slot(models.TextChoices):
    STD_DOMESTIC = "std_domestic", "Standard goods — domestic"
    STD_EU = "std_eu", "Standard goods — EU"
    STD_EXPORT = "std_export", "Standard goods — export"
    MARGIN_DOMESTIC = "margin_domestic", "Margin-scheme goods — domestic"
    MARGIN_EU = "margin_eu", "Margin-scheme goods — EU"
    MARGIN_EXPORT = "margin_export", "Margin-scheme goods — export"
    SHIPPING = "shipping", "Shipping"
    HANDLING = "handling", "Handling"


MARGIN_SLOTS = frozenset({Slot.MARGIN_DOMESTIC, Slot.MARGIN_EU, Slot.MARGIN_EXPORT})


def slot_label(slot: str) -> str:
    try:
        return str(Slot(slot).label)
    except ValueError:
        return slot
