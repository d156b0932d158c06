"""The questions only the seller's accountant (commercialista) can answer, with the stable ids of
docs/tax.md §14.1: the settings page lists them next to the choices they affect."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Question:
    id: str
    text: str | Promise
    section: str  # in docs/tax.md


ACCOUNTANT_QUESTIONS: tuple[Question, ...] = (
    Question(
        "Q1",
        _(
            "Margin scheme: the analytic or the global method for bulk lots? What documents do purchases "
            "from private sellers need?"
        ),
        "§5.3",
    ),
    Question("Q2", _('Are sealed or new items bought from private individuals "second-hand goods"?'), "§5.1"),
    Question("Q3", _("Shipping and handling on margin goods and mixed orders: a pro-rata N5 share?"), "§10"),
    Question(
        "Q4",
        _(
            "OSS e-invoices: N3.2 or N7? Send invoices to foreign private buyers through SdI at all? Does a "
            "foreign private sale recorded only in the corrispettivi register need a cross-border report?"
        ),
        "§3.4, §1.2",
    ),
    Question("Q5", _("Stamp duty on intra-EU business invoices (art. 41): exempt, as expected?"), "§8"),
    Question("Q6", _("Do books, instructions and catalogues qualify for the 4 % books rate?"), "§1.1"),
    Question("Q7", _("How to treat BrickLink store credit, coupons, insurance and extra charges?"), "§10"),
    Question(
        "Q8",
        _(
            "Marketplace fees: which BrickLink or BrickOwl company invoices the commission? If it is not "
            "Italian, you self-assess it (TD17 through SdI)."
        ),
        "§6",
    ),
    Question("Q9", _("Tax regime RF01 or RF14 when you mix ordinary and margin-scheme sales?"), "§5.2"),
    Question("Q10", _("Flat-rate (forfettario) sellers: EU sales and the EUR 10,000 threshold?"), "§13"),
)
