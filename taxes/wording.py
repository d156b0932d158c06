"""The Italian legal wording printed on invoices (docs/tax.md §12.2), one constant per case.

These are Italian text by nature: they go on Italian invoices whatever the seller's interface
language, so they are not translated. Each is the "suggested wording" of docs/tax.md §12.2, to be
validated by the seller's accountant (§16).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.utils import formats, translation

# Exports, art. 8 c.1 lett. a) DPR 633/72 (docs/tax.md §4.1).
EXPORT = "Operazione non imponibile art. 8, c.1, lett. a) D.P.R. 633/1972"
# Intra-EU B2B supply, art. 41 c.1 lett. a) DL 331/93; art. 46 c.2 asks for the norm (§2).
EU_B2B = "Operazione non imponibile art. 41, c.1, lett. a) D.L. 331/1993"
# Margin scheme, art. 36 ff. DL 41/95 (§5.2) [UNCONFIRMED wording].
MARGIN = "Regime del margine – beni usati – art. 36 D.L. 41/1995"
# Forfettario franchise, L. 190/2014 art. 1 c.54-89 (§13) [UNCONFIRMED wording].
FORFETTARIO = "Operazione in franchigia da IVA ai sensi dell'art. 1, commi 54-89, L. 190/2014"
# OSS distance sale taxed at destination (§3.4): the rate and, when known, the VAT it implies.
OSS = "Operazione soggetta a IVA nello Stato di destinazione – regime OSS, aliquota {rate} %"
OSS_VAT = " (IVA € {vat})"
# A non-EUR order converted to EUR (§9: issue in EUR, state the original total and the rate)
# [PRACTICE wording].
CONVERSION = "Importo originale {amount} {currency}, convertito al cambio BCE del {day}: 1 EUR = {rate} {currency}"


def italian_number(value: Decimal, decimal_pos: int | None = None) -> str:
    """``value`` as an Italian invoice writes it (``25,5``, ``1.234,56``), from Django's Italian
    locale formats rather than by hand."""
    with translation.override("it"):
        return formats.number_format(value, decimal_pos=decimal_pos, use_l10n=True, force_grouping=True)


def oss_note(rate: Decimal, vat: Decimal | None = None) -> str:
    """The OSS wording for ``rate`` (percent), with the destination VAT amount when given."""
    shown = rate.quantize(Decimal(1)) if rate == rate.to_integral_value() else rate.normalize()
    text = OSS.format(rate=italian_number(shown))
    return text + (OSS_VAT.format(vat=italian_number(vat, 2)) if vat is not None else "")


def conversion_note(amount: Decimal, currency: str, rate: Decimal, rate_date: date) -> str:
    """The note that states an order's original total and the ECB rate it was converted at."""
    with translation.override("it"):
        day = formats.date_format(rate_date, "SHORT_DATE_FORMAT")
    return CONVERSION.format(amount=italian_number(amount, 2), currency=currency, day=day, rate=italian_number(rate))
