"""Creating the product a mapping slot lacks (fatture/products.py): with the VAT type the slot
expects, mapped at once when the slot is empty; the missing scope or VAT type said plainly; the
sandbox Fatture creates products as the spec describes."""

import json

import pytest
import responses
from django.urls import reverse

from accounts.choices import MarginRule
from accounts.models import SellerSettings
from brickinvoice.errors import ServiceError
from fatture import mapping as mapping_svc
from fatture.products import slot_product_create
from sandbox.demo import DEMO_COMPANY_ID, SELLER_EMAIL, demo_fatture_load
from sandbox.fatture_oauth import tokens_issue
from sandbox.models import SandboxFattureProduct, SandboxFattureUser
from tests.factories_fatture import (
    STANDARD_CATALOGUE,
    VAT_TYPES,
    FattureConnectionFactory,
    ProductMappingFactory,
    api,
    page,
    product,
)

pytestmark = pytest.mark.django_db
PRODUCTS = api("/c/12345/products")
CLIENT_ID = "sandbox-client"


@pytest.fixture
def connection(tenant):
    return FattureConnectionFactory(tenant=tenant)


def _catalogue(rsps, items):
    rsps.add(responses.GET, PRODUCTS, json=page(items, 1, 1))
    rsps.add(responses.GET, api("/c/12345/info/vat_types"), json=VAT_TYPES)


def _created(rsps, pid=2001, name="Spedizione"):
    rsps.add(responses.POST, PRODUCTS, json={"data": product(pid, name, "X", 0, 22)})


def test_a_shipping_product_is_created_at_22_percent_and_mapped(tenant, connection, rsps):
    _catalogue(rsps, [])
    _created(rsps)
    created = slot_product_create(tenant=tenant, connection=connection, slot="shipping")

    sent = json.loads(next(c.request.body for c in rsps.calls if c.request.method == "POST"))["data"]
    taxed = next(v for v in VAT_TYPES["data"] if v["value"] == 22 and not v.get("ei_type"))
    assert sent["name"] == "Spedizione" and sent["code"] == "SPEDIZIONE"
    assert sent["default_vat"]["id"] == taxed["id"] == created.vat_id
    assert mapping_svc.mapping_for(tenant=tenant)["shipping"].product_id == 2001


def test_a_margin_product_gets_the_n5_vat_type(tenant, connection, rsps):
    SellerSettings.objects.filter(tenant=tenant).update(margin_rule=MarginRule.USED)
    _catalogue(rsps, [])
    _created(rsps, 2002, "Mattoncini LEGO usati (regime del margine)")
    slot_product_create(tenant=tenant, connection=connection, slot="margin_domestic")

    sent = json.loads(next(c.request.body for c in rsps.calls if c.request.method == "POST"))["data"]
    n5 = next(v for v in VAT_TYPES["data"] if v.get("ei_type") == "N5")
    assert sent["default_vat"]["id"] == n5["id"]
    assert mapping_svc.mapping_for(tenant=tenant)["margin_domestic"].vat_ei_type == "N5"


def test_a_mapped_slot_keeps_its_product_when_another_is_created(tenant, connection, rsps):
    ProductMappingFactory(tenant=tenant, slot="shipping", product_id=1005, vat_value=10)
    _catalogue(rsps, [])
    _created(rsps)
    slot_product_create(tenant=tenant, connection=connection, slot="shipping")
    assert mapping_svc.mapping_for(tenant=tenant)["shipping"].product_id == 1005


def test_without_the_vat_type_nothing_is_created(tenant, connection, rsps):
    rsps.add(responses.GET, api("/c/12345/info/vat_types"), json={"data": []})
    with pytest.raises(ServiceError) as caught:
        slot_product_create(tenant=tenant, connection=connection, slot="std_export")
    assert caught.value.code == "vat_type_missing"
    assert not [c for c in rsps.calls if c.request.method == "POST"]


def test_a_grant_without_products_write_asks_to_reconnect(tenant, connection, rsps):
    _catalogue(rsps, [])
    rsps.add(responses.POST, PRODUCTS, status=403, json={"error": {"message": "Forbidden"}})
    with pytest.raises(ServiceError) as caught:
        slot_product_create(tenant=tenant, connection=connection, slot="shipping")
    assert caught.value.code == "fatture_scope_missing"


def test_the_mapping_page_offers_to_create_what_no_product_fits(owner_client, connection, rsps):
    _catalogue(rsps, [p for p in STANDARD_CATALOGUE if p["code"] != "SHIP"])
    html = owner_client.get(reverse("fatture:mapping")).content.decode()
    assert 'data-testid="create-product-shipping"' in html and 'form="create-product-shipping"' in html
    assert 'id="create-product-shipping"' in html
    assert 'data-testid="create-product-std_domestic"' not in html  # "Mattoncini LEGO" fits


def test_the_view_creates_the_product_and_says_so(owner_client, tenant, connection, rsps):
    _catalogue(rsps, [])
    _created(rsps)
    response = owner_client.post(reverse("fatture:product_create"), {"slot": "shipping"}, follow=True)
    assert "Spedizione" in response.content.decode() and "2001" in response.content.decode()
    assert "shipping" in mapping_svc.mapping_for(tenant=tenant)


def test_an_unknown_slot_is_not_found(owner_client, connection):
    assert owner_client.post(reverse("fatture:product_create"), {"slot": "nope"}).status_code == 404


def test_a_member_cannot_create_products(member_client, connection):
    assert member_client.post(reverse("fatture:product_create"), {"slot": "shipping"}).status_code == 403


# --- the sandbox Fatture ---------------------------------------------------------------------------


@pytest.mark.urls("sandbox.test_urls")
@pytest.mark.parametrize("scope,status", [("products:a", 200), ("products:r", 403)])
def test_the_sandbox_creates_a_product_with_its_vat_type(client, settings, scope, status):
    settings.FATTURE_CLIENT_ID = CLIENT_ID
    demo_fatture_load()
    user = SandboxFattureUser.objects.get(email=SELLER_EMAIL)
    token = tokens_issue(user=user, client_id=CLIENT_ID, scope=scope)["access_token"]
    body = {"data": {"name": "Spedizione", "code": "SPEDIZIONE", "default_vat": {"id": 0}}}
    response = client.post(
        f"/sandbox/fatture/c/{DEMO_COMPANY_ID}/products",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == status
    if status == 200:
        data = response.json()["data"]
        assert data["default_vat"]["value"] == 22
        assert SandboxFattureProduct.objects.get(pk=data["id"]).data["code"] == "SPEDIZIONE"
