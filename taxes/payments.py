"""How a buyer paid, in FatturaPA's words: the ``ModalitaPagamento`` codes (MP01…MP23) an
e-invoice must carry, and the table from a marketplace's payment method (free text on BrickLink,
``payment_method_type`` on BrickOwl) to a code. The code list is the Agenzia delle Entrate's
FatturaPA schema (``ModalitaPagamentoType``, specifiche tecniche v1.9), the same in every package.
"""

from __future__ import annotations

import re

from django.db import models
from django.utils.translation import gettext_lazy as _

from brickinvoice.errors import Text

MP_CODES: dict[str, Text] = {
    "MP01": _("Cash"),
    "MP02": _("Cheque"),
    "MP03": _("Banker's draft"),
    "MP04": _("Cash at the Treasury"),
    "MP05": _("Bank transfer"),
    "MP06": _("Promissory note"),
    "MP07": _("Bank bulletin"),
    "MP08": _("Payment card"),
    "MP09": _("Direct debit (RID)"),
    "MP10": _("Direct debit for utilities (RID utenze)"),
    "MP11": _("Fast direct debit (RID veloce)"),
    "MP12": _("Bank receipt (RIBA)"),
    "MP13": _("Payment notice (MAV)"),
    "MP14": _("Treasury receipt"),
    "MP15": _("Transfer between special accounts"),
    "MP16": _("Bank direct debit order"),
    "MP17": _("Post office direct debit order"),
    "MP18": _("Post office account slip"),
    "MP19": _("SEPA Direct Debit"),
    "MP20": _("SEPA Direct Debit CORE"),
    "MP21": _("SEPA Direct Debit B2B"),
    "MP22": _("Deduction from sums already collected"),
    "MP23": _("PagoPA"),
}


def mp_choices() -> list[tuple[str, str]]:
    return [(code, f"{code} — {label}") for code, label in MP_CODES.items()]


class PaymentKind(models.TextChoices):
    CARD = "card", _("Card")
    PAYPAL = "paypal", _("PayPal")
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")
    CASH_ON_DELIVERY = "cash_on_delivery", _("Cash on delivery")
    CASH = "cash", _("Cash")
    CHEQUE = "cheque", _("Cheque")
    OTHER = "other", _("Other or unknown")


# The default table (each seller can change it on the e-invoicing settings page). FiC's own
# PrestaShop module uses MP08 for card
# payments, MP01 cash, MP02 cheque and MP05 bank transfer (docs/providers/fatture-in-cloud.md §8.1). PayPal is a
# payment card / e-money account: MP08, as common practice. Cash on delivery is cash paid to the
# courier: MP01. Unknown gets MP08 too: FatturaPA has no "other" code, SDI does not check the
# code against reality (it is not among the rejection checks, docs/providers/fatture-in-cloud.md
# §8.6), and marketplace orders are overwhelmingly paid online by card or PayPal, so MP08 is the
# least wrong default.
DEFAULT_MP_CODES: dict[str, str] = {
    PaymentKind.CARD: "MP08",
    PaymentKind.PAYPAL: "MP08",
    PaymentKind.BANK_TRANSFER: "MP05",
    PaymentKind.CASH_ON_DELIVERY: "MP01",
    PaymentKind.CASH: "MP01",
    PaymentKind.CHEQUE: "MP02",
    PaymentKind.OTHER: "MP08",
}

# Marketplace wording → kind, first match wins: BrickLink's free text ("PayPal (Onsite)",
# "Credit/Debit (Powered by Stripe)", "IBAN", "Bank Transfer") and BrickOwl's payment_method_type
# ("paypal_standard"); see docs/providers/bricklink.md and brickowl.md.
_KIND_WORDS = (
    (PaymentKind.PAYPAL, ("paypal",)),
    (PaymentKind.CASH_ON_DELIVERY, ("cash on delivery", "cod", "contrassegno", "nachnahme")),
    (PaymentKind.CARD, ("credit", "debit", "card", "stripe", "visa", "mastercard", "amex", "apple pay", "google pay")),
    (PaymentKind.BANK_TRANSFER, ("bank", "iban", "transfer", "wire", "sepa", "bonifico")),
    (PaymentKind.CHEQUE, ("cheque", "check", "money order", "assegno")),
    (PaymentKind.CASH, ("cash", "contanti")),
)


def payment_kind(text) -> PaymentKind:
    """The kind of a marketplace payment method name; ``OTHER`` when nothing matches."""
    words = re.sub(r"[^a-z ]+", " ", str(text or "").lower().replace("_", " "))
    padded = f" {' '.join(words.split())} "
    for kind, needles in _KIND_WORDS:
        if any(f" {needle} " in padded or (len(needle) > 3 and needle in padded) for needle in needles):
            return kind
    return PaymentKind.OTHER


def payment_method_code(text, *, table: dict[str, str] | None = None) -> str:
    """The ModalitaPagamento code for a marketplace payment method (``table`` overrides the default)."""
    kind = payment_kind(text)
    code = {**DEFAULT_MP_CODES, **(table or {})}.get(kind, "")
    return code if code in MP_CODES else DEFAULT_MP_CODES[kind]
