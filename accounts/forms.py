from django import forms
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django_countries import countries
from django_countries.fields import LazyTypedChoiceField  # type: ignore[attr-defined]

from .choices import INVOICEABLE_STATUS_CHOICES, NotificationKind
from .models import SellerSettings
from .notifications import preferences_for, preferences_save


class SignupExtraForm(forms.Form):
    """Extra fields on allauth's signup form; the adapter turns them into the tenant."""

    business_name = forms.CharField(max_length=200, label=_("Business name"))
    country = LazyTypedChoiceField(choices=countries, initial="IT", label=_("Country of your business"))

    def signup(self, request, user):  # allauth's hook; the adapter already did the work
        pass


class SellerSettingsForm(forms.ModelForm):
    invoiceable_statuses = forms.MultipleChoiceField(
        choices=INVOICEABLE_STATUS_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        label=_("Invoice orders in these statuses"),
        help_text=_("Only orders the buyer has paid can be invoiced; cancelled orders never are."),
    )

    class Meta:
        model = SellerSettings
        fields = [
            "business_name",
            "country",
            "vat_registered",
            "margin_rule",
            "invoiceable_statuses",
            "cutoff_date",
            "invoice_date_policy",
            "sync_schedule",
            "line_text_std",
            "line_text_margin",
            "line_text_shipping",
            "line_text_handling",
        ]
        # An <input type="date"> takes ISO dates whatever the page's language (Italian would be 27/11/2026).
        widgets = {"cutoff_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}
        labels = {
            "business_name": _("Business name"),
            "country": _("Country"),
            "margin_rule": _("Margin scheme (second-hand goods)"),
            "cutoff_date": _("Cutoff date"),
            "invoice_date_policy": _("Invoice date"),
            "sync_schedule": _("Automatic sync"),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # An empty line template means our wording, in the invoice's language: show it as the example.
        from invoicing.linetexts import default_templates
        from invoicing.plan import INVOICE_LANGUAGE

        with translation.override(INVOICE_LANGUAGE):
            defaults = default_templates()
        for kind, text in defaults.items():
            field = self.fields[f"line_text_{kind}"]
            field.widget.attrs["placeholder"] = text
            field.help_text = _(
                "Leave empty for the wording shown. Placeholders: {count} (pieces), {order_id}, {marketplace}."
            )


class NotificationPreferencesForm(forms.Form):
    """One checkbox per kind of e-mail; an unticked box turns that e-mail off for this user."""

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        current = preferences_for(user)
        for kind in NotificationKind:
            self.fields[kind.value] = forms.BooleanField(label=kind.label, required=False, initial=current[kind.value])

    def save(self) -> None:
        preferences_save(user=self.user, enabled={kind: self.cleaned_data[kind] for kind in NotificationKind.values})
