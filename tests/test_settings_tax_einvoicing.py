"""The tax profile and e-invoicing settings pages: what they validate, what they offer for the
plan (Fatture's company/info faked at the HTTP boundary), what saving changes, and that the
accountant's questions are the ones docs/tax.md §14.1 lists."""

import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.cache import cache
from django.urls import reverse

from accounts.choices import EInvoiceMode, ItalianConsumerPolicy
from accounts.models import SellerSettings
from invoicing.models import Invoice
from taxes.payments import DEFAULT_MP_CODES, MP_CODES, PaymentKind
from taxes.questions import ACCOUNTANT_QUESTIONS
from tests.factories_fatture import FattureConnectionFactory, api, company_info
from tests.factories_invoicing import make_order

TAX = reverse("invoicing:tax_settings")
EINV = reverse("invoicing:einvoice_settings")
INFO = "/c/12345/company/info"


@pytest.fixture(autouse=True)
def _no_cached_plan():
    cache.clear()
    yield
    cache.clear()


def _seller(tenant) -> SellerSettings:
    return SellerSettings.objects.get(tenant=tenant)


def _tax_post(**changes):
    data = {
        "vat_number": "",
        "oss_natura": "N3.2",
        "oss_prior_current_year": "0",
        "oss_prior_previous_year": "0",
    }
    return {**data, **changes}


# --- tax profile ----------------------------------------------------------------------------------


def test_an_italian_vat_number_is_checked_and_kept_without_prefix(owner_client, tenant):
    page = owner_client.post(TAX, _tax_post(vat_number="01234567890"))
    assert page.status_code == 200 and "The partita IVA is not valid" in page.content.decode()
    assert _seller(tenant).vat_number == ""
    owner_client.post(TAX, _tax_post(vat_number="IT 00743110157"))
    assert _seller(tenant).vat_number == "00743110157"


def test_prior_sales_cannot_be_negative(owner_client, tenant):
    page = owner_client.post(TAX, _tax_post(oss_prior_current_year="-5"))
    assert "Enter zero or more." in page.content.decode()
    assert _seller(tenant).oss_prior_current_year == 0


@pytest.mark.parametrize(
    ("prior", "opted_in", "marker"),
    [
        ("1000", False, None),
        ("8500", False, "oss-near"),
        ("10000.01", False, "oss-destination"),
        ("0", True, "oss-destination"),
    ],
)
def test_the_page_says_where_the_seller_stands_against_the_eur_10000(owner_client, tenant, prior, opted_in, marker):
    SellerSettings.objects.filter(tenant=tenant).update(oss_prior_current_year=Decimal(prior), oss_opted_in=opted_in)
    html = owner_client.get(TAX).content.decode()
    for testid in ("oss-near", "oss-destination"):
        assert (f'data-testid="{testid}"' in html) == (testid == marker)


def test_saving_the_tax_profile_changes_only_its_fields(owner_client, tenant):
    SellerSettings.objects.filter(tenant=tenant).update(margin_rule="used")
    owner_client.post(TAX, _tax_post(oss_opted_in="on", oss_natura="N7", stamp_duty_recharged="on"))
    seller = _seller(tenant)
    assert (seller.oss_opted_in, seller.oss_natura, seller.stamp_duty_recharged) == (True, "N7", True)
    assert seller.margin_rule == "used"


def test_the_accountant_questions_are_those_of_docs_tax_md():
    tax_md = (Path(__file__).resolve().parents[1] / "docs" / "tax.md").read_text()
    table = tax_md.split("### 14.1", 1)[1].split("###", 1)[0]
    assert [q.id for q in ACCOUNTANT_QUESTIONS] == re.findall(r"^\| (Q\d+) \|", table, flags=re.M)


# --- e-invoicing ----------------------------------------------------------------------------------


def _einv_post(**changes):
    data = {"einvoice_mode": "send", "italian_consumers": "hold"}
    data.update({f"pay_{kind.value}": DEFAULT_MP_CODES[kind] for kind in PaymentKind})
    return {**data, **changes}


def test_without_a_connection_the_page_says_why_and_the_mode_is_not_offered(owner_client, tenant):
    html = owner_client.get(EINV).content.decode()
    assert 'data-testid="error"' in html and 'name="einvoice_mode"' not in html
    owner_client.post(EINV, _einv_post(einvoice_mode="send"))
    assert _seller(tenant).einvoice_mode == EInvoiceMode.OFF


def test_a_plan_without_e_invoicing_is_explained_and_the_mode_stays(owner_client, tenant, rsps):
    FattureConnectionFactory(tenant=tenant)
    rsps.get(api(INFO), json=company_info(plan="standard", e_invoice=False, receipts=False))
    html = owner_client.get(EINV).content.decode()
    assert 'data-testid="no-einvoice-plan"' in html and 'name="einvoice_mode"' not in html
    assert 'data-testid="no-receipts-plan"' in html


def test_with_e_invoicing_the_mode_is_saved_and_receipts_need_the_register(owner_client, tenant, rsps):
    FattureConnectionFactory(tenant=tenant)
    rsps.get(api(INFO), json=company_info(plan="standard", e_invoice=True, receipts=False))
    assert 'name="einvoice_mode"' in owner_client.get(EINV).content.decode()
    page = owner_client.post(EINV, _einv_post(italian_consumers="receipts"))
    assert page.status_code == 200 and "corrispettivi" in page.content.decode()
    assert _seller(tenant).italian_consumers == ItalianConsumerPolicy.DOCUMENT
    owner_client.post(EINV, _einv_post(italian_consumers="hold"))
    seller = _seller(tenant)
    assert (seller.einvoice_mode, seller.italian_consumers) == ("send", "hold")


def test_the_payment_table_keeps_only_what_differs_from_the_default(owner_client, tenant, rsps):
    FattureConnectionFactory(tenant=tenant)
    rsps.get(api(INFO), json=company_info())
    owner_client.post(EINV, _einv_post(pay_other="MP05", pay_paypal="MP08"))
    assert _seller(tenant).payment_method_codes == {"other": "MP05"}
    html = owner_client.get(EINV).content.decode()
    assert re.search(r'<option value="MP05" selected>', html.split('name="pay_other"', 1)[1].split("</select>")[0])
    page = owner_client.post(EINV, _einv_post(pay_card="MP99"))
    assert page.status_code == 200 and _seller(tenant).payment_method_codes == {"other": "MP05"}
    assert set(MP_CODES) == {f"MP{n:02d}" for n in range(1, 24)}


def test_a_new_choice_lets_the_invoices_it_held_through(owner_client, tenant, rsps):
    FattureConnectionFactory(tenant=tenant)
    rsps.get(api(INFO), json=company_info())
    SellerSettings.objects.filter(tenant=tenant).update(einvoice_mode="send", italian_consumers="hold")
    held = Invoice.objects.create(
        tenant=tenant, order=make_order(tenant), state=Invoice.State.NEEDS_ATTENTION, error_code="codice_fiscale_needed"
    )
    other = Invoice.objects.create(
        tenant=tenant, order=make_order(tenant), state=Invoice.State.NEEDS_ATTENTION, error_code="amounts_mismatch"
    )
    owner_client.post(EINV, _einv_post(italian_consumers="hold"))  # nothing changed: nothing released
    assert Invoice.objects.get(id=held.id).state == Invoice.State.NEEDS_ATTENTION
    owner_client.post(EINV, _einv_post(italian_consumers="document"))
    assert Invoice.objects.get(id=held.id).state == Invoice.State.PENDING
    assert Invoice.objects.get(id=other.id).state == Invoice.State.NEEDS_ATTENTION


def test_reading_the_plan_again_skips_the_cache(owner_client, tenant, rsps):
    FattureConnectionFactory(tenant=tenant)
    standard = rsps.get(api(INFO), json=company_info(e_invoice=False))
    assert 'name="einvoice_mode"' not in owner_client.get(EINV).content.decode()
    rsps.replace(standard.method, standard.url, json=company_info(e_invoice=True))
    assert 'name="einvoice_mode"' not in owner_client.get(EINV).content.decode()  # cached
    owner_client.post(EINV, {"section": "refresh"})
    assert 'name="einvoice_mode"' in owner_client.get(EINV).content.decode()


@pytest.mark.parametrize("url", [TAX, EINV])
def test_members_cannot_open_the_settings(member_client, url):
    assert member_client.get(url).status_code == 403


# --- what the dashboard and the orders list show ----------------------------------------------------


def test_the_dashboard_warns_near_and_past_the_oss_threshold(owner_client, tenant):
    dashboard = reverse("invoicing:dashboard")
    SellerSettings.objects.filter(tenant=tenant).update(oss_prior_current_year=Decimal("9000"))
    assert 'data-testid="oss-near"' in owner_client.get(dashboard).content.decode()
    SellerSettings.objects.filter(tenant=tenant).update(oss_prior_current_year=Decimal("12000"))
    html = owner_client.get(dashboard).content.decode()
    assert 'data-testid="oss-crossed"' in html and 'data-testid="oss-near"' not in html
    SellerSettings.objects.filter(tenant=tenant).update(oss_opted_in=True)
    assert 'data-testid="oss-crossed"' not in owner_client.get(dashboard).content.decode()


def test_a_refused_e_invoice_is_on_the_dashboard_and_the_orders_list(owner_client, tenant):
    order = make_order(tenant)
    Invoice.objects.create(
        tenant=tenant,
        order=order,
        state=Invoice.State.ISSUED,
        fatture_id=77,
        number="12",
        view_url="https://example.invalid/12",
        ei_state=Invoice.EInvoice.REJECTED,
        ei_code="00305",
        ei_message="La partita IVA del cliente non è valida.",
        ei_hint="Correggi la partita IVA e invia di nuovo.",
    )
    Invoice.objects.create(
        tenant=tenant,
        order=make_order(tenant),
        state=Invoice.State.ISSUED,
        fatture_id=78,
        number="13",
        ei_state=Invoice.EInvoice.DELIVERED,
    )
    html = owner_client.get(reverse("invoicing:dashboard")).content.decode()
    assert 'data-testid="ei-count-delivered"' in html and 'data-testid="ei-count-rejected"' in html
    refused = html.split('data-testid="ei-refused"', 1)[1]
    assert "00305" in refused and "Correggi la partita IVA" in refused
    assert reverse("invoicing:order_preview", args=[order.public_id]) in refused
    orders = owner_client.get(reverse("marketplaces:orders")).content.decode()
    assert orders.count('data-testid="ei-badge"') == 2 and "Rejected by SdI" in orders


def test_another_tenants_e_invoices_never_show(owner_client, other_tenant):
    Invoice.objects.create(
        tenant=other_tenant,
        order=make_order(other_tenant),
        state=Invoice.State.ISSUED,
        fatture_id=79,
        number="14",
        ei_state=Invoice.EInvoice.REJECTED,
        ei_message="Altrui",
    )
    html = owner_client.get(reverse("invoicing:dashboard")).content.decode()
    assert "Altrui" not in html and 'data-testid="ei-refused"' not in html


# --- numbering ------------------------------------------------------------------------------------


def test_each_store_gets_its_own_series_and_only_the_tenants_stores_change(owner_client, tenant, other_tenant):
    from marketplaces.models import StoreConnection
    from tests.factories import BrickLinkStoreFactory

    mine = BrickLinkStoreFactory(tenant=tenant)
    theirs = BrickLinkStoreFactory(tenant=other_tenant, numeration="X")
    url = reverse("invoicing:numbering_settings")
    html = owner_client.get(url).content.decode()
    assert f'name="series_{mine.id}"' in html and f'name="series_{theirs.id}"' not in html
    page = owner_client.post(url, {f"series_{mine.id}": "BL; --"})
    assert page.status_code == 200 and StoreConnection.objects.get(id=mine.id).numeration == ""
    owner_client.post(url, {f"series_{mine.id}": "BL", f"series_{theirs.id}": "HACK"})
    assert StoreConnection.objects.get(id=mine.id).numeration == "BL"
    assert StoreConnection.objects.get(id=theirs.id).numeration == "X"
