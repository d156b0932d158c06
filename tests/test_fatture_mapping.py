"""Products and VAT types (paging, cache, refresh), the eight-slot mapping, its checks (VAT mismatch,
product not found, no company), Company Not Found / Products Not Loading, and the backend interface."""

import pytest
import responses
from django.urls import reverse
from responses import matchers

from accounts.choices import MarginRule
from accounts.services import settings_for
from brickinvoice.errors import ServiceError
from fatture import catalogue
from fatture import mapping as mapping_svc
from fatture.backend import FattureBackend
from fatture.models import FattureConnection, ProductMapping
from invoicing.accounting import (
    AccountingBackend,
    MappedProduct,
    Slot,
    backend_class,
    backend_for_tenant,
    health_for_tenant,
)
from tests.factories_fatture import (
    STANDARD_CATALOGUE,
    VAT_TYPES,
    FattureConnectionFactory,
    ProductMappingFactory,
    api,
    companies,
    company,
    page,
    product,
)

PRODUCTS = "/c/12345/products"
VATS = "/c/12345/info/vat_types"


@pytest.fixture
def connection(tenant):
    return FattureConnectionFactory(tenant=tenant)


def _catalogue(rsps, items=STANDARD_CATALOGUE):
    rsps.add(responses.GET, api(PRODUCTS), json=page(items, 1, 1))
    rsps.add(responses.GET, api(VATS), json=VAT_TYPES)


def _map(tenant, slot, pid, vat_value=22, vat_id=0, name="Mapped"):
    return ProductMappingFactory(
        tenant=tenant, slot=slot, product_id=pid, vat_value=vat_value, vat_id=vat_id, product_name=name
    )


def _map_all_correctly(tenant):
    for slot, pid in [
        ("std_domestic", 1001),
        ("std_eu", 1001),
        ("std_export", 1003),
        ("shipping", 1004),
        ("handling", 1005),
        ("margin_domestic", 1002),
        ("margin_eu", 1002),
        ("margin_export", 1003),
    ]:
        _map(tenant, slot, pid)


def _codes(issues):
    return [(i.code, i.at) for i in issues]


# --- products and VAT types ----------------------------------------------------------------------


def test_250_products_are_read_over_three_pages_of_100(connection, rsps):
    items = [product(i, f"Prodotto {i}", f"P{i}") for i in range(1, 251)]
    for number, chunk in enumerate([items[:100], items[100:200], items[200:]], start=1):
        rsps.add(
            responses.GET,
            api(PRODUCTS),
            json=page(chunk, number, 3, total=250),
            match=[matchers.query_param_matcher({"per_page": "100", "page": str(number)})],
        )

    products = catalogue.products_list(connection=connection)

    assert len(products) == 250 and len({p.id for p in products}) == 250
    assert products[0].name == "Prodotto 1" and products[-1].code == "P250"
    assert products[0].vat_value == 22
    assert len(rsps.calls) == 3


def test_paging_follows_next_page_url_when_last_page_is_missing(connection, rsps):
    first = page([product(1, "A")], 1, 2)
    second = page([product(2, "B")], 2, 2)
    for body in (first, second):
        del body["last_page"]
    rsps.add(
        responses.GET, api(PRODUCTS), json=first, match=[matchers.query_param_matcher({"per_page": "100", "page": "1"})]
    )
    rsps.add(
        responses.GET,
        api(PRODUCTS),
        json=second,
        match=[matchers.query_param_matcher({"per_page": "100", "page": "2"})],
    )
    assert [p.id for p in catalogue.products_list(connection=connection)] == [1, 2]


def test_products_and_vat_types_are_cached_per_company(connection, rsps):
    _catalogue(rsps)
    first = catalogue.catalogue(connection=connection)
    second = catalogue.catalogue(connection=connection)
    assert first == second and len(rsps.calls) == 2
    margin = next(p for p in first if p.id == 1002)
    assert (margin.vat_value, margin.vat_ei_type) == (0, "N5")  # natura joined from the VAT-types list


def test_vat_types_list_reads_the_company_vat_types(connection, rsps):
    rsps.add(responses.GET, api(VATS), json=VAT_TYPES)
    vat_types = catalogue.vat_types_list(connection=connection)
    assert [(v.id, v.value, v.ei_type) for v in vat_types][:3] == [(0, 22, ""), (66, 0, "N5"), (21, 0, "N3.1")]


def test_refresh_products_button_clears_the_cache(owner_client, connection, rsps):
    _catalogue(rsps)
    catalogue.catalogue(connection=connection)
    response = owner_client.post(reverse("fatture:products_refresh"))
    assert response.status_code == 302
    assert len(rsps.calls) == 4  # read again, not served from the cache


def test_refresh_updates_snapshots_of_mapped_products(connection, tenant, rsps):
    mapping = _map(tenant, "std_domestic", 1001, name="Old name")
    _catalogue(rsps)
    catalogue.products_refresh(connection=connection)
    mapping.refresh_from_db()
    assert (mapping.product_name, mapping.product_code) == ("Mattoncini LEGO", "LEGO-STD")


def test_products_forbidden_while_company_still_listed_is_products_not_loading(connection, rsps):
    rsps.add(responses.GET, api(PRODUCTS), status=403, json={"error": {"message": "Permesso negato"}})
    rsps.add(responses.GET, api("/user/companies"), json=companies(company()))
    with pytest.raises(ServiceError) as exc:
        catalogue.products_list(connection=connection)
    assert exc.value.code == "products_not_loading"
    assert "Products Not Loading" in exc.value.text.message and "Refresh products" in exc.value.text.hint
    assert "Permesso negato" in exc.value.detail


@pytest.mark.parametrize("status", [403, 404])
def test_lost_company_is_company_not_found_and_stored(connection, rsps, status):
    rsps.add(responses.GET, api(PRODUCTS), status=status, json={"error": {"message": "No access"}})
    rsps.add(responses.GET, api("/user/companies"), json=companies(company(cid=777, name="Other")))
    with pytest.raises(ServiceError) as exc:
        catalogue.products_list(connection=connection)
    assert exc.value.code == "company_not_found"
    connection.refresh_from_db()
    assert connection.last_error_code == "company_not_found"
    assert health_for_tenant(connection.tenant).ok is False


def test_products_need_a_company(tenant, rsps):
    connection = FattureConnectionFactory(tenant=tenant, company_id=None)
    with pytest.raises(ServiceError) as exc:
        catalogue.products_list(connection=connection)
    assert exc.value.code == "no_company_selected" and len(rsps.calls) == 0


# --- mapping checks ------------------------------------------------------------------------------


def test_a_correct_mapping_has_no_issues(connection, tenant, rsps):
    settings_for(tenant).__class__.objects.filter(tenant=tenant).update(margin_rule=MarginRule.USED)
    _catalogue(rsps)
    _map_all_correctly(tenant)
    assert mapping_svc.mapping_check(tenant=tenant) == []


@pytest.mark.parametrize(
    ("slot", "pid", "message"),
    [
        (
            "std_domestic",
            1006,
            "VAT rate mismatch: product 'Libri' has VAT 10 %, the 'Standard goods — domestic' slot expects 22 %.",
        ),
        (
            "std_eu",
            1003,
            "VAT rate mismatch: product 'LEGO export' has VAT 0 %, the 'Standard goods — EU' slot expects 22 %.",
        ),
        (
            "std_export",
            1001,
            "VAT rate mismatch: product 'Mattoncini LEGO' has VAT 22 %, the 'Standard goods — "
            "export' slot expects 0 % (N3.1).",
        ),
        (
            "std_export",
            1002,
            "VAT rate mismatch: product 'LEGO usato (margine)' has VAT 0 % (N5), the 'Standard "
            "goods — export' slot expects 0 % (N3.1).",
        ),
        (
            "margin_domestic",
            1003,
            "VAT rate mismatch: product 'LEGO export' has VAT 0 % (N3.1), the 'Margin-scheme "
            "goods — domestic' slot expects 0 % (N5).",
        ),
        (
            "margin_eu",
            1001,
            "VAT rate mismatch: product 'Mattoncini LEGO' has VAT 22 %, the 'Margin-scheme goods — "
            "EU' slot expects 0 % (N5).",
        ),
        ("shipping", 1003, "VAT rate mismatch: product 'LEGO export' has VAT 0 %, the 'Shipping' slot expects 22 %."),
        ("handling", 1006, "VAT rate mismatch: product 'Libri' has VAT 10 %, the 'Handling' slot expects 22 %."),
    ],
)
def test_each_vat_mismatch_names_product_actual_and_expected_rate(connection, tenant, rsps, slot, pid, message):
    _catalogue(rsps)
    _map_all_correctly(tenant)
    ProductMapping.objects.filter(tenant=tenant, slot=slot).update(product_id=pid)
    issues = mapping_svc.mapping_check(tenant=tenant)
    assert _codes(issues) == [("vat_rate_mismatch", slot)]
    assert issues[0].message == message
    assert "Refresh products" in issues[0].hint


def test_margin_export_accepts_export_or_margin_nature(connection, tenant, rsps):
    _catalogue(rsps)
    _map_all_correctly(tenant)
    ProductMapping.objects.filter(tenant=tenant, slot="margin_export").update(product_id=1002)
    assert mapping_svc.mapping_check(tenant=tenant) == []


def test_mapped_product_that_no_longer_exists_is_product_not_found(connection, tenant, rsps):
    _catalogue(rsps)
    _map_all_correctly(tenant)
    ProductMapping.objects.filter(tenant=tenant, slot="shipping").update(product_id=9999)
    issues = mapping_svc.mapping_check(tenant=tenant)
    assert _codes(issues) == [("product_not_found", "shipping")]
    assert issues[0].message == "Product 9999 not found in Fatture in Cloud."
    assert "'Shipping' slot" in issues[0].hint


def test_no_company_selected_is_reported_without_calling_fatture(tenant, rsps):
    FattureConnectionFactory(tenant=tenant, company_id=None)
    issues = mapping_svc.mapping_check(tenant=tenant)
    assert _codes(issues) == [("no_company_selected", "")]
    assert issues[0].message == "No company selected."
    assert len(rsps.calls) == 0


def test_not_connected_and_needs_reconnect_are_reported(tenant, rsps):
    assert _codes(mapping_svc.mapping_check(tenant=tenant)) == [("fatture_not_connected", "")]
    FattureConnectionFactory(tenant=tenant, status=FattureConnection.Status.NEEDS_RECONNECT)
    assert _codes(mapping_svc.mapping_check(tenant=tenant)) == [("fatture_auth_failed", "")]


def test_margin_slots_are_required_only_with_the_margin_scheme(connection, tenant, rsps):
    _catalogue(rsps)
    for slot, pid in [
        ("std_domestic", 1001),
        ("std_eu", 1001),
        ("std_export", 1003),
        ("shipping", 1004),
        ("handling", 1005),
    ]:
        _map(tenant, slot, pid)
    assert mapping_svc.mapping_check(tenant=tenant) == []  # margin rule "off" by default

    settings_for(tenant).__class__.objects.filter(tenant=tenant).update(margin_rule=MarginRule.ALL)
    assert _codes(mapping_svc.mapping_check(tenant=tenant)) == [
        ("slot_not_mapped", "margin_domestic"),
        ("slot_not_mapped", "margin_eu"),
        ("slot_not_mapped", "margin_export"),
    ]


def test_forfettario_seller_expects_no_vat_on_every_slot(connection, tenant, rsps):
    settings_for(tenant).__class__.objects.filter(tenant=tenant).update(vat_registered=False)
    expected = mapping_svc.expected_vat(tenant=tenant)
    assert {e.label for e in expected.values()} == {"0 % (N2.2)"}


def test_products_not_loading_is_reported_by_the_check(connection, tenant, rsps):
    rsps.add(responses.GET, api(PRODUCTS), status=403, json={"error": {"message": "Permesso negato"}})
    rsps.add(responses.GET, api("/user/companies"), json=companies(company()))
    issues = mapping_svc.mapping_check(tenant=tenant)
    assert issues[0].code == "products_not_loading" and "Permesso negato" in issues[0].detail


# --- the mapping page ----------------------------------------------------------------------------


def test_mapping_page_shows_a_select_per_slot_with_name_code_and_vat(owner_client, connection, rsps):
    _catalogue(rsps)
    page_html = owner_client.get(reverse("fatture:mapping")).content.decode()
    for slot in Slot:
        assert f'name="{slot.value}"' in page_html and str(slot.label) in page_html
    assert "Mattoncini LEGO (LEGO-STD) — VAT 22 %" in page_html
    assert "LEGO usato (margine) (LEGO-MARG) — VAT 0 % N5" in page_html


def test_saving_the_mapping_stores_snapshots_and_subject_then_warns_of_mismatches(
    owner_client, connection, tenant, rsps
):
    _catalogue(rsps)
    data = {
        "std_domestic": "1001",
        "std_eu": "1001",
        "std_export": "1001",
        "shipping": "1004",
        "handling": "1005",
        "margin_domestic": "",
        "margin_eu": "",
        "margin_export": "",
        "invoice_subject": "Vendita mattoncini LEGO",
    }
    assert owner_client.post(reverse("fatture:mapping"), data).status_code == 302

    mapping = mapping_svc.mapping_for(tenant=tenant)
    assert sorted(mapping) == ["handling", "shipping", "std_domestic", "std_eu", "std_export"]
    assert (mapping["shipping"].product_name, mapping["shipping"].product_code, mapping["shipping"].vat_value) == (
        "Spedizione",
        "SHIP",
        22,
    )
    connection.refresh_from_db()
    assert connection.invoice_subject == "Vendita mattoncini LEGO"

    page_html = owner_client.get(reverse("fatture:mapping")).content.decode()
    assert "VAT rate mismatch: product &#x27;Mattoncini LEGO&#x27; has VAT 22 %" in page_html


def test_clearing_a_slot_removes_its_mapping(owner_client, connection, tenant, rsps):
    _catalogue(rsps)
    _map(tenant, "handling", 1005)
    owner_client.post(reverse("fatture:mapping"), {"handling": ""})
    assert "handling" not in mapping_svc.mapping_for(tenant=tenant)


def test_member_sees_but_cannot_change_the_mapping(member_client, connection, rsps):
    _catalogue(rsps)
    assert member_client.get(reverse("fatture:mapping")).status_code == 200
    assert member_client.post(reverse("fatture:mapping"), {"std_domestic": "1001"}).status_code == 403


def test_mapping_page_without_company_says_so(owner_client, tenant, rsps):
    FattureConnectionFactory(tenant=tenant, company_id=None)
    assert "No company selected" in owner_client.get(reverse("fatture:mapping")).content.decode()


def test_mapping_page_shows_products_not_loading(owner_client, connection, rsps):
    rsps.add(responses.GET, api(PRODUCTS), status=403, json={"error": {"message": "Permesso negato"}})
    rsps.add(responses.GET, api("/user/companies"), json=companies(company()))
    page_html = owner_client.get(reverse("fatture:mapping")).content.decode()
    assert "Products Not Loading" in page_html and "Refresh products" in page_html


def test_mappings_are_kept_per_company(connection, tenant):
    _map(tenant, "shipping", 1004)
    connection.company_id = 777
    connection.save()
    assert mapping_svc.mapping_for(tenant=tenant) == {}
    connection.company_id = 12345
    connection.save()
    assert mapping_svc.mapping_for(tenant=tenant)["shipping"].product_id == 1004


# --- backend interface ---------------------------------------------------------------------------


def test_backend_for_tenant_exposes_slot_products_without_calling_fatture(connection, tenant, rsps):
    _map(tenant, "std_domestic", 1001, vat_value=22, vat_id=0, name="Mattoncini LEGO")
    _map(tenant, "margin_domestic", 1002, vat_value=0, vat_id=66, name="LEGO usato")
    backend = backend_for_tenant(tenant)
    assert isinstance(backend, AccountingBackend) and isinstance(backend, FattureBackend)
    assert backend.company_id == 12345
    assert backend.slot_products()["margin_domestic"] == MappedProduct(
        product_id=1002,
        name="LEGO usato",
        code="LEGO-STD",
        vat_id=66,
        vat_value=0,
    )
    assert backend.calls == 0 and len(rsps.calls) == 0


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"status": FattureConnection.Status.NEEDS_RECONNECT}, "fatture_auth_failed"),
        ({"status": FattureConnection.Status.DISCONNECTED}, "fatture_not_connected"),
        ({"company_id": None}, "no_company_selected"),
    ],
)
def test_backend_for_tenant_refuses_an_unusable_connection(tenant, changes, code):
    FattureConnectionFactory(tenant=tenant, **changes)
    with pytest.raises(ServiceError) as exc:
        backend_for_tenant(tenant)
    assert exc.value.code == code


def test_registry_lists_fatture_in_cloud():
    assert backend_class("fatture_in_cloud").label == "Fatture in Cloud"
    assert backend_class("fatture_in_cloud").connect_url_name == "fatture:start"


def test_health_row_reports_incomplete_mapping_then_ok(connection, tenant):
    health = health_for_tenant(tenant)
    assert health.ok is False and health.status == "Product mapping incomplete"
    for slot in ("std_domestic", "std_eu", "std_export", "shipping", "handling"):
        _map(tenant, slot, 1001)
    assert health_for_tenant(tenant).ok is True
