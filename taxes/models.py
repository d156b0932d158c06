"""Tax reference data: ECB reference rates (docs/tax.md §9) and VIES checks kept as evidence
(docs/tax.md §2)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class EcbPublication(models.Model):
    """One day the ECB published reference rates, as a feed told us. ``previous_day`` is the
    publication before it when the feed vouched for it (consecutive days of one feed, or a daily
    feed right after the table's newest day with only a weekend between); a look-up relies on it
    to know that nothing was published in between (taxes/ecb_lookup.py)."""

    class Source(models.TextChoices):
        DAILY = "daily", _("daily feed")
        HISTORY_90D = "hist_90d", _("90-day feed")

    day = models.DateField(unique=True)
    previous_day = models.DateField(null=True, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices)
    fetched_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-day"]
        verbose_name = _("ECB publication")

    def __str__(self) -> str:
        return f"ECB {self.day.isoformat()}"


class EcbRate(models.Model):
    """An ECB reference rate: units of ``currency`` per 1 EUR on ``day``."""

    currency = models.CharField(max_length=3)
    day = models.DateField()
    rate = models.DecimalField(max_digits=20, decimal_places=8)

    class Meta:
        ordering = ["-day", "currency"]
        verbose_name = _("ECB rate")
        constraints = [
            models.UniqueConstraint(fields=["currency", "day"], name="uniq_ecb_rate_currency_day"),
            models.CheckConstraint(condition=models.Q(rate__gt=0), name="ecb_rate_positive"),
        ]

    def __str__(self) -> str:
        return f"1 EUR = {self.rate} {self.currency} ({self.day.isoformat()})"


class VatNumberCheck(models.Model):
    """One check of an EU VAT number, kept as evidence for a non-taxable intra-EU supply
    (art. 41 DL 331/1993 needs a VIES-valid number at the time of sale, docs/tax.md §2). Rows are
    never edited: a new check is a new row."""

    class Result(models.TextChoices):
        VALID = "valid", _("valid")
        INVALID = "invalid", _("invalid")
        UNAVAILABLE = "unavailable", _("VIES unavailable")
        NOT_VERIFIED = "not_verified", _("not verified (offline)")

    tenant = models.ForeignKey(
        "accounts.Tenant", null=True, blank=True, on_delete=models.CASCADE, related_name="vat_number_checks"
    )
    country = models.CharField(max_length=2, help_text=_("VIES country code (EL for Greece, XI for Northern Ireland)."))
    number = models.CharField(max_length=20, help_text=_("The number without its country prefix."))
    result = models.CharField(max_length=12, choices=Result.choices)
    name = models.CharField(max_length=300, blank=True)
    address = models.TextField(blank=True)
    consultation_reference = models.CharField(max_length=60, blank=True)
    request_date = models.DateField(null=True, blank=True)
    requester = models.CharField(max_length=20, blank=True, help_text=_("The seller's own VAT number, if given."))
    detail = models.CharField(max_length=300, blank=True)
    raw = models.JSONField(default=dict, blank=True)
    checked_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-checked_at"]
        verbose_name = _("VAT number check")
        indexes = [models.Index(fields=["country", "number", "-checked_at"], name="vat_check_number_recent")]

    def __str__(self) -> str:
        return f"{self.country}{self.number}: {self.result} ({self.checked_at:%Y-%m-%d})"
