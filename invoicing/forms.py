"""Forms of the invoicing pages: no third-party call in here (style: logic in services)."""

from datetime import date
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from .creditplan import PARTS, PartAmounts
from .models import OrderDecision


class DecisionForm(forms.Form):
    """The seller's answer to an order's question; the choices offered depend on the question."""

    kind = forms.ChoiceField(label=_("Your decision"), choices=OrderDecision.Kind.choices, widget=forms.RadioSelect)
    reason = forms.CharField(
        label=_("Note for your accountant"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Why you decided so; it is kept with the order."),
    )

    numeration = forms.RegexField(
        label=_("Numbering series"),
        regex=r"^[A-Za-z0-9/_-]{1,20}$",
        required=False,
        max_length=20,
        help_text=_('Only for a separate series, e.g. "/R": up to 20 letters, digits, "/", "-" or "_".'),
        error_messages={"invalid": _('Use up to 20 letters, digits, "/", "-" or "_".')},
    )

    def __init__(self, *args, choices=(), current_series: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.current_series = current_series
        if choices:
            allowed = set(choices)
            kind = self.fields["kind"]
            assert isinstance(kind, forms.ChoiceField)
            kind.choices = [c for c in OrderDecision.Kind.choices if c[0] in allowed]

    def clean(self):
        data = super().clean()
        if data.get("kind") == OrderDecision.Kind.SKIP and not (data.get("reason") or "").strip():
            self.add_error("reason", _("Say why it is not invoiced: your accountant will ask."))
        if data.get("kind") == OrderDecision.Kind.OWN_SERIES:
            series = (data.get("numeration") or "").strip()
            if not series and "numeration" not in self.errors:
                self.add_error("numeration", _("Name the numbering series the invoice goes in."))
            elif series and series == self.current_series:
                self.add_error("numeration", _("This is the store's own series: choose another one."))
        return data


class SyncConfirmForm(forms.Form):
    start = forms.DateField(
        label=_("Invoice the orders placed from"),
        required=False,
        # An <input type="date"> takes ISO dates whatever the page's language.
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Orders placed before this date are never invoiced by BrickInvoice."),
    )


class BuyerForm(forms.Form):
    """What the seller records about a buyer; validated in invoicing/buyers.py (offline checks)."""

    vat_number = forms.CharField(
        label=_("VAT number"),
        required=False,
        max_length=20,
        help_text=_("An EU business's VAT number (checked in VIES), or an Italian business's partita IVA."),
    )
    codice_fiscale = forms.CharField(
        label=_("Codice fiscale"),
        required=False,
        max_length=16,
        help_text=_("An Italian private buyer who asked for an invoice."),
    )
    sdi_code = forms.CharField(label=_("SdI recipient code"), required=False, max_length=7)
    pec = forms.EmailField(label=_("PEC address"), required=False)


class CreditNoteForm(forms.Form):
    """A refund to credit, per part, in the order's currency (the seller's "Refund / credit note")."""

    goods = forms.DecimalField(label=_("Goods"), min_value=0, max_digits=12, decimal_places=2, initial=0)
    shipping = forms.DecimalField(label=_("Shipping"), min_value=0, max_digits=12, decimal_places=2, initial=0)
    handling = forms.DecimalField(label=_("Handling"), min_value=0, max_digits=12, decimal_places=2, initial=0)
    note = forms.CharField(
        label=_("Note for your accountant"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("What was refunded and why; it is kept with the credit note, not printed on it."),
    )

    def amounts(self) -> PartAmounts:
        return PartAmounts.from_map({part: self.cleaned_data.get(part) or Decimal(0) for part in PARTS})


class CreditAnswerForm(CreditNoteForm):
    """The seller's answer to a held credit note: these amounts, the whole invoice, or none."""

    kind = forms.ChoiceField(
        label=_("Your decision"),
        widget=forms.RadioSelect,
        choices=[
            ("amounts", _("Credit the amounts below")),
            ("full", _("Credit the whole invoice (everything left)")),
            ("skip", _("No credit note is needed")),
        ],
    )

    def clean(self):
        data = super().clean()
        if data.get("kind") == "skip" and not (data.get("note") or "").strip():
            self.add_error("note", _("Say why no credit note is needed: your accountant will ask."))
        return data


class MonthForm(forms.Form):
    """The Money page's month, as an ``<input type="month">`` sends it (``2026-11``)."""

    month = forms.RegexField(
        label=_("Month"),
        regex=r"^(19|20)\d{2}-(0[1-9]|1[0-2])$",
        required=False,
        widget=forms.TextInput(attrs={"type": "month"}),
        error_messages={"invalid": _("Choose a month, e.g. 2026-11.")},
    )

    def month_or(self, default: date) -> date:
        """The chosen month's first day, or ``default`` when none (or no valid one) was chosen."""
        value = self.cleaned_data.get("month") if self.is_valid() else ""
        if not value:
            return default
        year, month = value.split("-")
        return date(int(year), int(month), 1)
