"""The tax engine's typed errors. Each carries a code for brickinvoice.errors' vocabulary and its
own message and hint in plain words (translated), so a held order says what to do."""

from __future__ import annotations

from datetime import date

from django.utils.translation import gettext as _

from brickinvoice.errors import ServiceError


class RateUnknown(ServiceError):
    """No ECB rate can be proven for this currency and day (docs/tax.md §9). Transient: the order
    waits, and resumes once the refresh has read the publication (or the day was not a working
    day after all). Never replaced by a guess."""

    code = "exchange_rate_unknown"
    transient = True

    def __init__(self, currency: str, day: date, detail: str = ""):
        super().__init__(detail or f"{currency} on {day.isoformat()}", currency=currency, day=day.isoformat())
        self.currency, self.day = currency, day

    @property
    def message(self) -> str:
        return _("No ECB reference rate is known yet for %(currency)s on %(day)s.") % {
            "currency": self.currency,
            "day": self.day.isoformat(),
        }

    @property
    def hint(self) -> str:
        return _(
            "Nothing to do if the rate is due soon: the ECB publishes around 16:00 CET on working days "
            "and the order is invoiced once the rate is in. If it persists, check the ECB rates refresh."
        )


class EcbFeedError(ServiceError):
    """The ECB feed could not be read: transient for timeouts, 5xx and unreadable content (retry
    later), permanent for a 4xx (the configured URL is wrong)."""

    code = "ecb_feed_unavailable"
    transient = True


class TreatmentUnsupported(ValueError):
    """The sale falls outside the decision table the engine encodes (docs/tax.md §0): the order is
    held for the seller and their accountant, never given a guessed treatment."""

    code = "vat_treatment_unsupported"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
