from django import forms
from django.utils.translation import gettext_lazy as _
from django_countries import countries
from django_countries.fields import LazyTypedChoiceField

from .choices import INVOICEABLE_STATUS_CHOICES
from .models import SellerSettings


class SignupExtraForm(forms.Form):
    """Extra fields on allauth's signup form; the adapter turns them into the tenant."""

    business_name = forms.CharField(max_length=200, label="Business name")
    country = LazyTypedChoiceField(choices=countries, initial="IT", label="Country of your business")

    def signup(self, request, user):  # allauth's hook; the adapter already did the work
        pass


class SellerSettingsForm(forms.ModelForm):
    invoiceable_statuses = forms.MultipleChoiceField(
        choices=INVOICEABLE_STATUS_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        label="Invoice orders in these statuses",
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
        ]
        widgets = {"cutoff_date": forms.DateInput(attrs={"type": "date"})}
        labels = {"margin_rule": "Margin scheme (second-hand goods)"}
