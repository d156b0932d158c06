"""The seller's tax profile and e-invoicing choices (docs/tax.md, docs/einvoicing.md), as forms.

They live in invoicing, not accounts, because what they offer depends on the accounting package
(the plan's e-invoicing and corrispettivi functions) and on the invoices already issued (the OSS
threshold)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.choices import ItalianConsumerPolicy
from accounts.models import SellerSettings
from taxes.identifiers import partita_iva_validate, vat_number_validate
from taxes.payments import DEFAULT_MP_CODES, MP_CODES, PaymentKind, mp_choices

from .accounting import Capabilities

PAYMENT_PREFIX = "pay_"


class TaxProfileForm(forms.ModelForm):
    class Meta:
        model = SellerSettings
        fields = [
            "vat_number",
            "oss_opted_in",
            "oss_natura",
            "oss_prior_current_year",
            "oss_prior_previous_year",
            "stamp_duty_recharged",
        ]
        widgets = {"oss_natura": forms.RadioSelect}
        labels = {
            "vat_number": _("Your VAT number"),
            "oss_opted_in": _("Registered for OSS, or opted in to destination VAT"),
            "oss_natura": _("How OSS sales show on an e-invoice"),
            "oss_prior_current_year": _("EU distance sales to private buyers this year outside BrickInvoice (EUR)"),
            "oss_prior_previous_year": _("EU distance sales to private buyers last year outside BrickInvoice (EUR)"),
            "stamp_duty_recharged": _("Recharge the EUR 2 stamp duty to the buyer"),
        }
        help_texts = {
            "vat_number": _("It identifies you when a buyer's EU VAT number is checked in VIES."),
            "oss_opted_in": _(
                "Tick it if you registered for the One-Stop Shop or chose destination VAT below EUR 10,000: "
                "sales to private buyers in other EU countries then carry their country's VAT."
            ),
            "oss_prior_current_year": _(
                "Sales made in other shops or before you used BrickInvoice, counted towards the EUR 10,000 "
                "threshold; margin-scheme sales do not count."
            ),
            "stamp_duty_recharged": _(
                "Stamp duty is due on invoices above EUR 77.47 without VAT (e.g. under the flat-rate regime)."
            ),
        }

    def clean_vat_number(self) -> str:
        number = "".join(str(self.cleaned_data.get("vat_number") or "").split()).upper()
        if not number:
            return ""
        country = str(self.instance.country or "IT")
        if country == "IT":
            checked = partita_iva_validate(number)
            if not checked.ok:
                raise forms.ValidationError(checked.problem)
            return checked.value
        eu = vat_number_validate(country, number)
        if not eu.ok:
            raise forms.ValidationError(eu.problem)
        return eu.full

    def _not_negative(self, field: str) -> Decimal:
        value = self.cleaned_data.get(field) or Decimal(0)
        if value < 0:
            raise forms.ValidationError(_("Enter zero or more."))
        return value

    def clean_oss_prior_current_year(self) -> Decimal:
        return self._not_negative("oss_prior_current_year")

    def clean_oss_prior_previous_year(self) -> Decimal:
        return self._not_negative("oss_prior_previous_year")


class EInvoicingForm(forms.ModelForm):
    """The e-invoicing mode (only when the plan has e-invoicing), the policy for Italian private
    buyers (the register only when the plan has it) and the payment method table."""

    class Meta:
        model = SellerSettings
        fields = ["einvoice_mode", "italian_consumers"]
        widgets = {"einvoice_mode": forms.RadioSelect, "italian_consumers": forms.RadioSelect}
        labels = {
            "einvoice_mode": _("E-invoices"),
            "italian_consumers": _("Sales to Italian private buyers without a codice fiscale"),
        }

    def __init__(self, *args, capabilities: Capabilities | None, **kwargs):
        super().__init__(*args, **kwargs)
        self.capabilities = capabilities
        if capabilities is None or not capabilities.e_invoice:
            # Without the plan's e-invoicing (or before we can tell) the mode cannot be changed.
            del self.fields["einvoice_mode"]
        table = self.instance.payment_method_codes if isinstance(self.instance.payment_method_codes, dict) else {}
        for kind in PaymentKind:
            current = table.get(kind.value)
            self.fields[f"{PAYMENT_PREFIX}{kind.value}"] = forms.ChoiceField(
                label=kind.label,
                choices=mp_choices(),
                initial=current if current in MP_CODES else DEFAULT_MP_CODES[kind],
            )

    def payment_fields(self):
        return [self[name] for name in self.fields if name.startswith(PAYMENT_PREFIX)]

    def policy_fields(self):
        return [self[name] for name in self.fields if not name.startswith(PAYMENT_PREFIX)]

    def clean_italian_consumers(self) -> str:
        policy = self.cleaned_data["italian_consumers"]
        if policy == ItalianConsumerPolicy.RECEIPTS and not (self.capabilities and self.capabilities.receipts):
            raise forms.ValidationError(
                _(
                    "Your Fatture in Cloud plan has no corrispettivi register (it comes with Premium and above). "
                    "Upgrade the plan, or choose another option."
                )
            )
        return policy

    def save(self, commit: bool = True) -> SellerSettings:
        seller = super().save(commit=False)  # a mode not offered (no e-invoicing in the plan) is left as it was
        seller.payment_method_codes = {
            kind.value: code
            for kind in PaymentKind
            if (code := self.cleaned_data[f"{PAYMENT_PREFIX}{kind.value}"]) != DEFAULT_MP_CODES[kind]
        }
        if commit:
            seller.save()
        return seller


SERIES_PATTERN = r"^[A-Za-z0-9/_-]{0,20}$"


class NumberingForm(forms.Form):
    """The numbering series (sezionale) of each of the tenant's stores; empty: the company's default."""

    def __init__(self, *args, stores, **kwargs):
        super().__init__(*args, **kwargs)
        self.stores = list(stores)
        for store in self.stores:
            self.fields[f"series_{store.id}"] = forms.RegexField(
                label=f"{store.display_name} ({store.get_marketplace_display()})",
                regex=SERIES_PATTERN,
                required=False,
                max_length=20,
                initial=store.numeration,
                error_messages={"invalid": _('Use up to 20 letters, digits, "/", "-" or "_".')},
            )

    def series(self) -> dict[int, str]:
        return {store.id: (self.cleaned_data.get(f"series_{store.id}") or "").strip() for store in self.stores}
