"""The mapping page's two answers to a VAT that does not fit: accept a slot's mismatch explicitly
(only for the product it was given for), or create the missing 0 % VAT type in Fatture, after which
the invoices held for it are planned again. Fatture is faked at the HTTP boundary."""

import json

import pytest
import responses
from django.urls import reverse

from accounts.models import SellerSettings
from fatture import mapping as mapping_svc
from fatture.models import ProductMapping
from fatture.vat_needs import vat_need_create, vat_needs
from invoicing.models import Invoice
from tests.factories_fatture import (
    STANDARD_CATALOGUE,
    VAT_TYPES,
    FattureConnectionFactory,
    ProductMappingFactory,
    api,
    page,
)
from tests.factories_invoicing import make_order

PRODUCTS = "/c/12345/products"
VATS = "/c/12345/info/vat_types"
CREATE = "/c/12345/settings/vat_types"
MAPPING = reverse("fatture:mapping")
ALL_SLOTS = {
    "std_domestic": "1001",
    "std_eu": "1001",
    "std_export": "1001",  # 22 % on exports: the mismatch
    "shipping": "1004",
    "handling": "1005",
    "margin_domestic": "",
    "margin_eu": "",
    "margin_export": "",
    "invoice_subject": "",
}


@pytest.fixture
def connection(tenant):
    return FattureConnectionFactory(tenant=tenant)


@pytest.fixture
def catalogue(rsps, django_cache):
    rsps.add(responses.GET, api(PRODUCTS), json=page(STANDARD_CATALOGUE, 1, 1))
    rsps.add(responses.GET, api(VATS), json=VAT_TYPES)
    return rsps


@pytest.fixture
def django_cache():
    from django.core.cache import cache

    cache.clear()
    yield cache
    cache.clear()


def _mismatch_codes(tenant):
    return [(i.code, i.at) for i in mapping_svc.mapping_check(tenant=tenant) if i.code == "vat_rate_mismatch"]


# --- accepting a mismatch -------------------------------------------------------------------------


def test_a_mismatch_offers_acceptance_and_accepting_clears_it(owner_client, connection, tenant, catalogue):
    owner_client.post(MAPPING, ALL_SLOTS)
    html = owner_client.get(MAPPING).content.decode()
    assert 'data-testid="accept-std_export"' in html and 'data-testid="accept-std_domestic"' not in html
    assert _mismatch_codes(tenant) == [("vat_rate_mismatch", "std_export")]

    owner_client.post(MAPPING, {**ALL_SLOTS, "accept_std_export": "on"})
    assert ProductMapping.objects.get(tenant=tenant, slot="std_export").mismatch_accepted
    assert _mismatch_codes(tenant) == []
    products = mapping_svc.slot_products(connection=connection)
    assert products["std_export"].mismatch == ""  # invoicing no longer holds the slot's orders

    # The checkbox stays visible while accepted, so the seller can take it back.
    assert 'data-testid="accept-std_export"' in owner_client.get(MAPPING).content.decode()
    owner_client.post(MAPPING, ALL_SLOTS)
    assert not ProductMapping.objects.get(tenant=tenant, slot="std_export").mismatch_accepted


def test_an_acceptance_holds_only_for_the_product_it_was_given_for(owner_client, connection, tenant, catalogue):
    owner_client.post(MAPPING, ALL_SLOTS)
    owner_client.post(MAPPING, {**ALL_SLOTS, "accept_std_export": "on"})
    owner_client.post(MAPPING, {**ALL_SLOTS, "std_export": "1006", "accept_std_export": "on"})  # 10 %: another
    mapping = ProductMapping.objects.get(tenant=tenant, slot="std_export")
    assert mapping.product_id == 1006 and not mapping.mismatch_accepted
    assert _mismatch_codes(tenant) == [("vat_rate_mismatch", "std_export")]


def test_without_acceptance_the_slots_orders_are_held(connection, tenant):
    ProductMappingFactory(tenant=tenant, slot="std_export", product_id=1001, vat_value=22, vat_id=0)
    assert mapping_svc.slot_products(connection=connection)["std_export"].mismatch


# --- VAT types the invoices need ------------------------------------------------------------------


def test_the_needs_follow_the_sellers_settings(connection, tenant, catalogue):
    needs = {n.natura: n for n in vat_needs(tenant=tenant, connection=connection)}
    assert set(needs) == {"N3.1", "N3.2", "N5"}
    assert needs["N3.1"].present.id == 21 and needs["N5"].present.id == 66 and needs["N3.2"].present is None
    assert not needs["N5"].needed_now  # margin scheme off
    SellerSettings.objects.filter(tenant=tenant).update(oss_natura="N7", oss_opted_in=True, margin_rule="used")
    needs = {n.natura: n for n in vat_needs(tenant=tenant, connection=connection)}
    assert set(needs) == {"N3.1", "N3.2", "N5", "N7"} and needs["N5"].needed_now
    SellerSettings.objects.filter(tenant=tenant).update(vat_registered=False)
    assert [n.natura for n in vat_needs(tenant=tenant, connection=connection)] == ["N2.2"]


def test_creating_a_missing_vat_type_sends_rate_natura_and_releases_held_invoices(
    owner_client, connection, tenant, catalogue, django_capture_on_commit_callbacks
):
    created = catalogue.add(
        responses.POST,
        api(CREATE),
        json={"data": {"id": 77, "value": 0, "description": "Non imponibile", "ei_type": "N3.2"}},
    )
    held = Invoice.objects.create(
        tenant=tenant,
        order=make_order(tenant),
        company_id=connection.company_id,
        state=Invoice.State.NEEDS_ATTENTION,
        error_code="vat_type_missing",
    )
    html = owner_client.get(MAPPING).content.decode()
    assert 'data-testid="create-vat-N3.2"' in html and 'data-testid="create-vat-N3.1"' not in html
    with django_capture_on_commit_callbacks() as after_commit:
        answer = owner_client.post(reverse("fatture:vat_type_create"), {"natura": "N3.2"})
    assert answer.status_code == 302 and created.call_count == 1
    after_commit[0]()  # "accounting ready": only the release, not the invoicing it then queues
    body = json.loads(created.calls[0].request.body)["data"]
    assert (body["value"], body["ei_type"], body["notes"], body["e_invoice"]) == (0.0, "N3.2", "", True)
    assert Invoice.objects.get(id=held.id).state == Invoice.State.PENDING


def test_an_existing_vat_type_is_not_created_again(connection, tenant, catalogue):
    created = catalogue.add(responses.POST, api(CREATE), json={"data": {"id": 1}})
    assert vat_need_create(tenant=tenant, connection=connection, natura="N3.1").id == 21
    assert created.call_count == 0


@pytest.mark.parametrize("natura", ["N4", "N7", "", "N3.1' OR 1=1"])
def test_only_the_naturas_offered_can_be_created(owner_client, connection, catalogue, natura):
    assert owner_client.post(reverse("fatture:vat_type_create"), {"natura": natura}).status_code == 404


def test_members_cannot_create_vat_types(member_client, connection, catalogue):
    assert member_client.post(reverse("fatture:vat_type_create"), {"natura": "N3.2"}).status_code == 403


def test_a_refusal_from_fatture_is_shown_not_raised(owner_client, connection, catalogue):
    catalogue.add(responses.POST, api(CREATE), status=403, json={"error": {"message": "Forbidden"}})
    answer = owner_client.post(reverse("fatture:vat_type_create"), {"natura": "N3.2"}, follow=True)
    assert answer.status_code == 200 and 'data-testid="vat-needs"' in answer.content.decode()
    assert list(answer.context["messages"])[0].level_tag == "error"
