"""The mapping page pre-selects the suggested product of each empty slot and says why; a saved
product is never replaced by a suggestion, and a POST without a slot never maps its suggestion."""

import re

import pytest
import responses
from django.urls import reverse

from fatture import mapping as mapping_svc
from tests.factories_fatture import (
    STANDARD_CATALOGUE,
    VAT_TYPES,
    FattureConnectionFactory,
    ProductMappingFactory,
    api,
    page,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def connection(tenant):
    return FattureConnectionFactory(tenant=tenant)


@pytest.fixture
def catalogue(rsps):
    rsps.add(responses.GET, api("/c/12345/products"), json=page(STANDARD_CATALOGUE, 1, 1))
    rsps.add(responses.GET, api("/c/12345/info/vat_types"), json=VAT_TYPES)


def _selected(html: str, slot: str) -> str:
    select = re.search(rf'<select name="{slot}".*?</select>', html, flags=re.S)
    assert select, slot
    chosen = re.search(r'<option value="(\d*)" selected>', select.group(0))
    return chosen.group(1) if chosen else ""


def test_empty_slots_come_pre_selected_with_the_reason(owner_client, connection, catalogue):
    html = owner_client.get(reverse("fatture:mapping")).content.decode()
    assert _selected(html, "std_domestic") == "1001"
    assert _selected(html, "shipping") == "1004"
    assert _selected(html, "handling") == "1005"
    why = re.search(r'data-testid="suggestion-shipping">(.*?)</small>', html, flags=re.S).group(1)
    assert "Spedizione" in why and "spedizione" in why and "pre-selected" in why


def test_a_saved_product_is_kept_and_not_second_guessed(owner_client, connection, tenant, catalogue):
    ProductMappingFactory(tenant=tenant, slot="shipping", product_id=1005, product_name="Gestione ordine")
    html = owner_client.get(reverse("fatture:mapping")).content.decode()
    assert _selected(html, "shipping") == "1005"
    assert 'data-testid="suggestion-shipping"' not in html


def test_a_product_with_the_wrong_vat_gets_a_suggestion_instead(owner_client, connection, tenant, catalogue):
    ProductMappingFactory(tenant=tenant, slot="std_export", product_id=1001, product_name="Mattoncini LEGO")
    html = owner_client.get(reverse("fatture:mapping")).content.decode()
    assert _selected(html, "std_export") == "1001"
    suggestion = re.search(r'data-testid="suggestion-std_export">(.*?)</small>', html, flags=re.S).group(1)
    assert "Suggested instead" in suggestion and "LEGO export" in suggestion


def test_saving_the_pre_selected_form_maps_the_suggestions(owner_client, connection, tenant, catalogue):
    html = owner_client.get(reverse("fatture:mapping")).content.decode()
    data = {slot: _selected(html, slot) for slot in ("std_domestic", "std_eu", "std_export", "shipping", "handling")}
    assert owner_client.post(reverse("fatture:mapping"), data).status_code == 302
    assert mapping_svc.mapping_check(tenant=tenant) == []


def test_a_post_without_a_slot_never_maps_its_suggestion(owner_client, connection, tenant, catalogue):
    owner_client.post(reverse("fatture:mapping"), {"handling": ""})
    assert mapping_svc.mapping_for(tenant=tenant) == {}
