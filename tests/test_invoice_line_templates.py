"""Seller-editable invoice line descriptions (issue 16): templates with {count}, {order_id} and
{marketplace}, validated when saved, Italian wording by default."""

from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from accounts.models import SellerSettings
from invoicing.linetexts import default_templates, validate_line_template
from invoicing.plan import SellerRules, build_plan
from invoicing.rules import seller_rules_for
from tests.test_invoice_plan import MAPPING, Item, order

SETTINGS = {
    "business_name": "Mattoncini Rossi srl",
    "country": "IT",
    "vat_registered": "on",
    "margin_rule": "used",
    "invoiceable_statuses": ["paid", "shipped"],
    "invoice_date_policy": "order_date",
    "sync_schedule": "15min",
}


def descriptions(o, **templates):
    with translation.override("it"):
        plan = build_plan(o, o.items, SellerRules(margin_rule="used", line_texts=templates), MAPPING)
    return {line.slot: line.description for line in plan.lines}


def test_without_templates_the_lines_keep_the_italian_wording():
    o = order(Item("new", 40, D("20.0000")), shipping=D("5.00"), marketplace_order_id="777")

    lines = descriptions(o)

    assert lines["std_domestic"] == "Mattoncini LEGO, 40 pz — ordine BrickLink 777"
    assert lines["shipping"] == "Spedizione — ordine BrickLink 777"


def test_the_sellers_templates_fill_in_count_order_and_marketplace():
    o = order(Item("new", 40, D("20.0000")), Item("used", 3, D("6.0000")), shipping=D("5.00"), etc1=D("1.00"))

    lines = descriptions(
        o,
        std="Mattoncini nuovi ({count} pezzi) - {marketplace} #{order_id}",
        margin="Usato: {count} pz",
        shipping="Spedizione ordine {order_id}",
        handling="Gestione ordine ({count} pz in tutto)",
    )

    assert lines["std_domestic"] == "Mattoncini nuovi (40 pezzi) - BrickLink #12345"
    assert lines["margin_domestic"] == "Usato: 3 pz"
    assert lines["shipping"] == "Spedizione ordine 12345"
    assert lines["handling"] == "Gestione ordine (43 pz in tutto)"


@pytest.mark.parametrize(
    "template", ["Parti {buyer}", "{count.__class__}", "{count!r}", "{count:>10}", "Parti {", "{0}", "{}"]
)
def test_anything_but_the_three_placeholders_is_refused(template):
    with pytest.raises(ValidationError):
        validate_line_template(template)


def test_the_defaults_are_italian_templates_that_validate():
    with translation.override("it"):
        defaults = default_templates()

    assert defaults["std"] == "Mattoncini LEGO, {count} pz — ordine {marketplace} {order_id}"
    for template in defaults.values():
        validate_line_template(template)


@pytest.mark.django_db
def test_the_settings_page_saves_templates_and_the_invoices_use_them(owner_client, tenant):
    page = owner_client.get(reverse("accounts:settings")).content.decode()
    assert "{order_id}" in page  # the placeholders are explained

    response = owner_client.post(
        reverse("accounts:settings"), {**SETTINGS, "line_text_std": "LEGO {count} pz, ordine {order_id}"}
    )

    assert response.status_code == 302
    assert seller_rules_for(tenant).line_texts == {"std": "LEGO {count} pz, ordine {order_id}"}


@pytest.mark.django_db
def test_an_unknown_placeholder_is_refused_with_a_clear_message(owner_client, tenant):
    response = owner_client.post(reverse("accounts:settings"), {**SETTINGS, "line_text_shipping": "Spedizione {buyer}"})

    assert response.status_code == 200
    assert "Unknown placeholder {buyer}: use only {count}, {order_id} and {marketplace}." in response.content.decode()
    assert SellerSettings.objects.get(tenant=tenant).line_text_shipping == ""
