"""Forms of the accounting pages; choices come from the services, no third-party call in here."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from invoicing.accounting import Slot, packages

NOT_MAPPED = ""
MISSING_SLOTS_ERROR = _("The form arrived without the product choices; nothing was changed. Reload and save again.")


class BackendForm(forms.Form):
    backend = forms.ChoiceField(
        label=_("Accounting package"), choices=packages, initial=settings.ACCOUNTING_DEFAULT_BACKEND
    )


class PreRegistrationRequestForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail of your Fatture in Cloud login"),
        help_text=_("The e-mail you sign in to Fatture in Cloud with; it can differ from your BrickInvoice e-mail."),
    )
    message = forms.CharField(
        label=_("Message (optional)"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )


class CompanyForm(forms.Form):
    company = forms.TypedChoiceField(label=_("Company"), coerce=int, widget=forms.RadioSelect)

    def __init__(self, *args, companies, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["company"].choices = [(c.id, c.label) for c in companies]


ACCEPT_PREFIX = "accept_"
FILTER_ATTRS = {
    "data-filter": "",
    "data-filter-placeholder": _("Type to filter: name, code, VAT"),
    "data-filter-label": _("Filter the products"),
}


class MappingForm(forms.Form):
    """One select per slot (product name, code and VAT rate) plus the fixed invoice subject."""

    invoice_subject = forms.CharField(
        label=_("Invoice subject"),
        required=False,
        max_length=300,
        help_text=_("Fixed text printed as the subject of every invoice."),
    )

    def __init__(self, *args, products, mappings, required, suggested=None, **kwargs):
        """``suggested``: slot → product id pre-selected for a slot that has no product yet."""
        super().__init__(*args, **kwargs)
        suggested = suggested or {}
        self.saved: dict[str, str] = {}
        choices = [(NOT_MAPPED, _("— not mapped —"))] + [(str(p.id), p.label) for p in products]
        known = {p.id for p in products}
        for slot in Slot:
            slot_choices = list(choices)
            current = mappings.get(slot.value)
            if current and current.product_id not in known:
                # Keep the missing product selectable so saving other slots does not silently unmap it.
                slot_choices.append(
                    (
                        str(current.product_id),
                        _("%(product)s — not found in Fatture") % {"product": current.product_name},
                    )
                )
            self.fields[f"{ACCEPT_PREFIX}{slot.value}"] = forms.BooleanField(
                label=_("Use it anyway"),
                required=False,
                initial=bool(current and current.mismatch_accepted),
                help_text=_("Each line still takes the VAT type its treatment needs."),
            )
            self.saved[slot.value] = str(current.product_id) if current else NOT_MAPPED
            pick = suggested.get(slot.value)
            self.fields[slot.value] = forms.ChoiceField(
                label=slot.label,
                choices=slot_choices,
                required=False,
                initial=self.saved[slot.value] if current or pick is None else str(pick),
                # static/js/select-filter.js adds a filter box; the select works without it.
                widget=forms.Select(attrs=FILTER_ATTRS),
                help_text="" if slot.value in required else _("Optional with your margin-scheme setting."),
            )

    def clean(self):
        """A slot the POST does not carry keeps its product; only an explicit empty value clears it.
        A POST with none of the slots (a truncated or forged request) is refused outright."""
        cleaned = super().clean()
        missing = [slot.value for slot in Slot if slot.value not in self.data]
        if len(missing) == len(Slot):
            for name in missing:
                self.add_error(name, MISSING_SLOTS_ERROR)
        for name in missing:
            cleaned[name] = self.saved[name]  # what is saved, never a suggestion
        return cleaned

    def slot_choices(self) -> dict[str, int | None]:
        return {slot.value: int(v) if (v := self.cleaned_data.get(slot.value)) else None for slot in Slot}

    def accepted(self) -> set[str]:
        """The slots whose VAT mismatch the seller accepts."""
        return {slot.value for slot in Slot if self.cleaned_data.get(f"{ACCEPT_PREFIX}{slot.value}")}

    def slot_fields(self):
        return [self[slot.value] for slot in Slot]
