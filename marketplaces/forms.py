"""Forms of the stores and orders pages. They only validate input: the live credential
check happens in the service, called by the view (never a third-party call in ``clean()``)."""

from typing import TYPE_CHECKING

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.choices import OrderStatus

from .models import StoreConnection
from .stages import Stage

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


def _secret(label: "StrOrPromise", help_text: "StrOrPromise" = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=200,
        strip=True,
        help_text=help_text,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )


class BrickLinkConnectForm(forms.Form):
    consumer_key = forms.CharField(
        label=_("Consumer key"), max_length=200, strip=True, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    consumer_secret = _secret(_("Consumer secret"))
    token_value = _secret(_("Token value"), _("The access token registered for our servers' IP address."))
    token_secret = _secret(_("Token secret"))


class BrickOwlConnectForm(forms.Form):
    api_key = _secret(_("API key"), _("BrickOwl → My account → API keys. The key needs the order permissions."))


_DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class OrderFilterForm(forms.Form):
    store = forms.ModelChoiceField(
        queryset=StoreConnection.objects.none(),
        required=False,
        to_field_name="public_id",
        label=_("Store"),
        empty_label=_("All stores"),
    )
    status = forms.ChoiceField(label=_("Status"), choices=[("", _("Any status")), *OrderStatus.choices], required=False)
    q = forms.CharField(label=_("Search"), required=False, max_length=100, strip=True)
    attention = forms.BooleanField(label=_("Needs attention"), required=False)
    stage = forms.ChoiceField(label=_("Stage"), choices=[("", _("Every stage")), *Stage.choices], required=False)
    # An <input type="date"> sends ISO dates whatever the page's language (Django always accepts them).
    date_from = forms.DateField(label=_("Ordered from"), required=False, widget=_DATE)
    date_to = forms.DateField(label=_("Ordered to"), required=False, widget=_DATE)

    def __init__(self, *args, stores=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = stores if stores is not None else StoreConnection.objects.none()
        # Not str(store): that reads the tenant, one query per store.
        self.fields["store"].label_from_instance = lambda s: f"{s.display_name} ({s.get_marketplace_display()})"
        self.fields["q"].widget.attrs["placeholder"] = _("Buyer or order id")

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return cleaned
