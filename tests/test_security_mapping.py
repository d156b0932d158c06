"""A mapping POST that lacks the slot fields never clears the mapping; an explicit empty value does."""

import pytest
import responses
from django.urls import reverse

from fatture.mapping import mapping_for
from invoicing.accounting import Slot
from tests.factories_fatture import STANDARD_CATALOGUE, VAT_TYPES, api, page
from tests.factories_invoicing import connected_seller


@pytest.fixture
def mapped(tenant, rsps):
    connected_seller(tenant)
    rsps.add(responses.GET, api("/c/12345/products"), json=page(STANDARD_CATALOGUE, 1, 1))
    rsps.add(responses.GET, api("/c/12345/info/vat_types"), json=VAT_TYPES)
    return tenant


@pytest.mark.django_db
def test_post_without_slot_fields_changes_nothing(owner_client, mapped):
    response = owner_client.post(reverse("fatture:mapping"), {"invoice_subject": "Vendita"})
    assert response.status_code == 200
    assert b"arrived without the product choices" in response.content
    assert sorted(mapping_for(tenant=mapped)) == sorted(s.value for s in Slot)


@pytest.mark.django_db
def test_a_slot_missing_from_the_post_keeps_its_product(owner_client, mapped):
    response = owner_client.post(reverse("fatture:mapping"), {"std_domestic": "1001", "handling": ""})
    assert response.status_code == 302
    mapping = mapping_for(tenant=mapped)
    assert "handling" not in mapping  # an explicit empty value clears
    assert sorted(mapping) == sorted(s.value for s in Slot if s.value != "handling")
    assert mapping["shipping"].product_id == 1004
