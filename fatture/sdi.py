"""The SDI vocabulary: what Fatture in Cloud's ``ei_status`` values mean for us, and what an SDI
rejection code means for a seller of this product and what they do about it.

Pure data and pure functions, no HTTP. Facts: docs/providers/fatture-in-cloud.md §8.4 (statuses,
resend rule), §8.5 (recipient codes) and §8.6 (rejection codes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _

from brickinvoice.errors import Text

# CodiceDestinatario conventions (docs/providers/fatture-in-cloud.md §8.5): consumers and buyers without a channel get
# "0000000" (the invoice waits in their reserved area), foreign buyers "XXXXXXX".
NO_CHANNEL_CODE = "0000000"
FOREIGN_CODE = "XXXXXXX"


class EiStatus(models.TextChoices):
    """``IssuedDocument.ei_status`` (spec enum, docs/providers/fatture-in-cloud.md §8.4), labelled in plain words."""

    ATTEMPT = "attempt", _("Fatture in Cloud is trying to send it (can take up to 2 hours)")
    MISSING = "missing", _("Missing at Fatture in Cloud")
    NOT_SENT = "not_sent", _("Not sent yet")
    SENT = "sent", _("Sent to SDI")
    PENDING = "pending", _("Signature and sending checks in progress")
    PROCESSING = "processing", _("SDI is delivering it")
    ERROR = "error", _("Sending failed")
    DISCARDED = "discarded", _("Rejected by SDI")
    NOT_DELIVERED = "not_delivered", _("Not delivered (waiting in the buyer's tax area)")
    ACCEPTED = "accepted", _("Delivered")
    REJECTED = "rejected", _("Refused by the customer")
    NO_RESPONSE = "no_response", _("No answer from the customer within the deadline")
    MANUAL_ACCEPTED = "manual_accepted", _("Accepted by the customer")
    MANUAL_REJECTED = "manual_rejected", _("Refused by the customer")


# Sending or waiting for SDI: keep reading the status (by listing, docs/providers/fatture-in-cloud.md §8.4).
IN_FLIGHT = frozenset({EiStatus.ATTEMPT, EiStatus.SENT, EiStatus.PENDING, EiStatus.PROCESSING})
# Resend only from these (§8.4, after ISSUE-RUBY-34): never resend a document in flight or delivered.
RESENDABLE = frozenset({EiStatus.NOT_SENT, EiStatus.DISCARDED, EiStatus.REJECTED, EiStatus.ERROR})
# The seller must fix something before a resend.
NEEDS_FIX = frozenset({EiStatus.DISCARDED, EiStatus.REJECTED, EiStatus.MANUAL_REJECTED, EiStatus.ERROR})
# Delivered for tax purposes. ``not_delivered`` only counts for recipients without a channel
# (see ``is_delivered``); ``no_response`` is a PA deadline passing after delivery.
DELIVERED = frozenset({EiStatus.ACCEPTED, EiStatus.MANUAL_ACCEPTED, EiStatus.NO_RESPONSE})
# Nothing more will happen by itself.
FINAL = DELIVERED | NEEDS_FIX | {EiStatus.NOT_DELIVERED, EiStatus.MISSING}


def status_of(value) -> EiStatus | None:
    """The known status for a raw ``ei_status``, or None (null, empty, or a value FiC added later)."""
    try:
        return EiStatus(str(value)) if value not in (None, "") else None
    except ValueError:
        return None


def status_label(value) -> str:
    status = status_of(value)
    return str(status.label) if status else str(value or "")


def is_in_flight(value) -> bool:
    """Still moving. An unknown non-empty value counts as in flight: we keep reading it rather
    than declare an outcome we do not understand."""
    status = status_of(value)
    return status in IN_FLIGHT if status else value not in (None, "")


def is_resendable(value) -> bool:
    return status_of(value) in RESENDABLE


def is_delivered(value, *, recipient_code: str = "") -> bool:
    """True when the invoice reached the buyer for tax purposes.

    ``not_delivered`` to a ``0000000`` or ``XXXXXXX`` recipient is the normal outcome: SDI files
    the invoice in the buyer's reserved area and the invoice counts as issued (§8.4) [3rd].
    To a real SDI code or a PEC it means the channel failed and the seller must act.
    """
    status = status_of(value)
    if status in DELIVERED:
        return True
    return status == EiStatus.NOT_DELIVERED and (recipient_code or "").upper() in ("", NO_CHANNEL_CODE, FOREIGN_CODE)


# --- rejection codes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RejectionHelp:
    """What an SDI rejection code means and what the seller does in our product."""

    code: str
    meaning: Text
    action: Text
    # 00404 after our own retried send: the first copy arrived, so the invoice counts as delivered.
    delivered_if_retried: bool = False


RECIPIENT_ID_UNKNOWN = (
    "recipient_id"  # FiC's own "Impossibile recuperare il recipient id" (docs/providers/fatture-in-cloud.md §8.6)
)

_HELP = {
    "00404": (
        _("SDI already has this invoice: same number and year from the same seller (duplicate)."),
        _(
            "If we sent it again after a time-out, the first copy was delivered and nothing is to be "
            "done: the invoice counts as delivered. Otherwise check the invoice number in Fatture in Cloud."
        ),
        True,
    ),
    "00409": (
        _("The same invoice appears twice in one submission."),
        _("Nothing to fix in the invoice: send it again on its own from the invoice page."),
        False,
    ),
    "00305": (
        _("The buyer's VAT number does not exist in the tax registry, or is not a VAT number."),
        _(
            "Check the buyer's VAT number with them (a codice fiscale typed in the VAT field causes this), "
            "correct it on the customer, then press Fix and resend within five days."
        ),
        False,
    ),
    "00306": (
        _("The buyer's codice fiscale does not exist in the tax registry."),
        _("Ask the buyer for their exact codice fiscale, correct it, then press Fix and resend within five days."),
        False,
    ),
    "00311": (
        _("The buyer's recipient code (codice destinatario) is not valid."),
        _(
            "Ask the buyer for their 7-character recipient code or their PEC address. Without one, leave it "
            "empty: we then use 0000000 and the invoice waits in their tax area. Then press Fix and resend."
        ),
        False,
    ),
    "00312": (
        _("The buyer's recipient code is not active."),
        _("Ask the buyer for an active recipient code or a PEC address, correct it, then press Fix and resend."),
        False,
    ),
    "00313": (
        _(
            "A foreign buyer was sent with an Italian country or an Italian codice fiscale "
            "(recipient code XXXXXXX is for foreign buyers only)."
        ),
        _(
            "Check the buyer's country. For a foreign buyer remove any codice fiscale and keep their foreign "
            "VAT or tax number in the VAT field; for an Italian buyer use their own recipient code or 0000000. "
            "Then press Fix and resend."
        ),
        False,
    ),
    "00324": (
        _("The buyer's VAT number and codice fiscale do not belong together."),
        _(
            "Keep only the buyer's VAT number (remove the codice fiscale, or the IT prefix typed in it), "
            "then press Fix and resend."
        ),
        False,
    ),
    "00417": (
        _("The buyer has neither a VAT number nor a codice fiscale."),
        _(
            "An Italian buyer needs a codice fiscale (private person) or a VAT number (business). Ask the "
            "buyer for it, or record the sale in the corrispettivi register instead of invoicing it."
        ),
        False,
    ),
    "00400": (
        # xgettext:no-python-format
        _("A 0 % line has no VAT nature (natura)."),
        _(
            "Give the VAT type of that product a nature (e.g. N5 for the margin scheme, N3.1 for exports) in "
            "Fatture in Cloud, or map the slot to a product whose VAT type has one, then press Fix and resend."
        ),
        False,
    ),
    "00401": (
        # xgettext:no-python-format
        _("A line with a VAT rate above 0 % carries a VAT nature (natura)."),
        _(
            "Remove the nature from that VAT type in Fatture in Cloud, or map the slot to the right product, "
            "then press Fix and resend."
        ),
        False,
    ),
    "00418": (
        _("The credit note is dated before the invoice it corrects."),
        _("Date the credit note on or after the invoice date, then press Fix and resend."),
        False,
    ),
    "00422": (
        _("A VAT summary amount does not match the lines (rounding)."),
        _("Open the invoice in Fatture in Cloud, save it again so the totals are recalculated, then resend."),
        False,
    ),
    "00423": (
        _("A line total does not match its quantity and price (rounding)."),
        _("Open the invoice in Fatture in Cloud, save it again so the totals are recalculated, then resend."),
        False,
    ),
    RECIPIENT_ID_UNKNOWN: (
        _("Fatture in Cloud could not identify the buyer: the VAT field holds only a country prefix."),
        _(
            "Put the buyer's full foreign VAT or tax number in the VAT field, or leave it empty so that we "
            "send a placeholder identifier, then press Fix and resend."
        ),
        False,
    ),
}
REJECTIONS: dict[str, RejectionHelp] = {
    code: RejectionHelp(code, meaning, action, delivered) for code, (meaning, action, delivered) in _HELP.items()
}
UNKNOWN_REJECTION = RejectionHelp(
    "",
    _("SDI or the customer refused the invoice."),
    _("Read Fatture in Cloud's reason below, correct what it names, then press Fix and resend within five days."),
)

_CODE = re.compile(r"(?<!\d)(00[0-9]{3})(?!\d)")
_RECIPIENT_ID = re.compile(r"recupera\w*\s+il\s+recipient\s*id", re.IGNORECASE)


def rejection_code(*, code=None, reason=None) -> str:
    """The SDI code behind a rejection: ``error_reason.code`` when it holds a 5-digit code,
    else the first 5-digit ``00xxx`` code in the reason text, else FiC's "recipient id" wording.
    Whether ``code`` carries the SDI code is unconfirmed (§8.4), so both places are read.
    "" when nothing is recognised."""
    for text in (code, reason):
        match = _CODE.search(str(text or ""))
        if match:
            return match.group(1)
    if _RECIPIENT_ID.search(str(reason or "")):
        return RECIPIENT_ID_UNKNOWN
    return ""


def rejection_help(code: str) -> RejectionHelp:
    """What ``code`` (from ``rejection_code``) means and what to do; a generic text when unknown."""
    return REJECTIONS.get(code or "", UNKNOWN_REJECTION)
