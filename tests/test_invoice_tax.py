"""Italian VAT on each line (docs/tax.md): natura and legal wording per treatment, shipping that
follows the goods, OSS above the threshold, EU business buyers with a VIES-valid number, stamp
duty, a mapping that does not fit, and invoice numbers that follow dates."""

import json
from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest
from django.urls import reverse

from accounts.models import SellerSettings
from fatture.models import ProductMapping
from invoicing import issuing
from invoicing.decisions import order_decide
from invoicing.models import Buyer, Invoice, InvoiceLine, OrderDecision
from invoicing.plan import MappedProduct, PlanError, SellerRules, TaxContext, build_plan
from taxes.models import VatNumberCheck
from tests.factories_invoicing import connected_seller, fic, make_order
from tests.test_invoice_plan import MAPPING, Item, order

S = Invoice.State
OSS_N32, EU_B2B_N32, FORFETTARIO_N22 = 31, 32, 33


def vat_types(rate, natura):
    """A company with the 0 % VAT types the decision table needs (their ids are per company)."""
    return {(D("0"), "N3.2"): EU_B2B_N32, (D("0"), "N2.2"): FORFETTARIO_N22, (D("0"), "N7"): OSS_N32}.get(
        (rate, natura)
    )


def plan(o, tax=None, mapping=MAPPING, **rules):
    return build_plan(o, o.items, SellerRules(**rules), mapping, tax or TaxContext(find_vat_type=vat_types))


def by_slot(p):
    return [(line.slot, line.vat_id, line.natura, line.treatment) for line in p.lines]


# --- the decision table on the lines ---------------------------------------------------------


def test_an_export_carries_n31_on_goods_and_shipping_with_the_art_8_wording():
    p = plan(order(ship_country="US", ship_postal_code="10001", shipping=D("7.00")))
    assert by_slot(p) == [("std_export", 6, "N3.1", "export"), ("shipping", 6, "N3.1", "export")]
    assert any("art. 8" in note for note in p.notes) and p.stamp_duty == 0


@pytest.mark.parametrize("country,postcode", [("IT", "20121"), ("DE", "10115")])
def test_margin_goods_carry_n5_for_italian_and_eu_buyers(country, postcode):
    p = plan(order(Item("used", 3, D("9.00")), ship_country=country, ship_postal_code=postcode), margin_rule="used")
    assert [(line.natura, line.treatment) for line in p.lines] == [("N5", "margin")]
    assert any("margine" in note for note in p.notes)


def test_shipping_in_a_mixed_order_is_split_pro_rata_and_follows_each_kind_of_goods():
    p = plan(order(Item("new", 1, D("30.00")), Item("used", 1, D("10.00")), shipping=D("8.00")), margin_rule="used")
    shipping = [(line.gross_amount, line.natura) for line in p.lines if line.slot == "shipping"]
    assert shipping == [(D("6.00"), ""), (D("2.00"), "N5")]  # 30:10 of the goods
    assert p.total == D("48.00")


def test_an_eu_consumer_below_the_threshold_pays_italian_vat():
    p = plan(order(ship_country="DE", ship_postal_code="10115"))
    assert by_slot(p) == [("std_eu", 1, "", "eu_b2c_italian_vat")]


def test_above_the_oss_threshold_an_eu_consumer_gets_the_destination_rate_by_fatture_s_pattern():
    tax = TaxContext(eu_b2c_current_year=D("12000"), oss_natura="N7", find_vat_type=vat_types)
    p = plan(order(Item("new", 1, D("119.00")), ship_country="DE", ship_postal_code="10115"), tax)
    (line,) = p.lines
    assert (line.vat_id, line.vat_value, line.natura, line.treatment) == (OSS_N32, D("0"), "N7", "oss")
    assert (line.destination_country, line.destination_rate) == ("DE", D("19"))
    assert any("OSS" in note and "19" in note and "19,00" in note for note in p.notes)  # rate and VAT of 119.00


def test_an_eu_business_with_a_vies_valid_number_is_non_taxable_art_41():
    tax = TaxContext(buyer="business", vies_verified=True, find_vat_type=vat_types)
    p = plan(order(ship_country="FR", ship_postal_code="75001", shipping=D("5.00")), tax)
    assert by_slot(p) == [("std_eu", EU_B2B_N32, "N3.2", "eu_b2b"), ("shipping", EU_B2B_N32, "N3.2", "eu_b2b")]
    assert any("art. 41" in note for note in p.notes)


def test_margin_goods_of_an_eu_business_stay_n5_never_art_41():
    tax = TaxContext(buyer="business", vies_verified=True, find_vat_type=vat_types)
    p = plan(order(Item("used", 1, D("10.00")), ship_country="FR", ship_postal_code="75001"), tax, margin_rule="all")
    assert [line.natura for line in p.lines] == ["N5"]


def test_a_forfettario_invoice_above_77_47_owes_stamp_duty():
    tax = TaxContext(regime="forfettario", find_vat_type=vat_types)
    p = plan(order(Item("new", 1, D("100.00"))), tax)
    assert [(line.vat_id, line.natura) for line in p.lines] == [(FORFETTARIO_N22, "N2.2")]
    assert p.stamp_duty == D("2.00") and p.total == D("100.00")
    assert any("bollo" in note for note in p.notes)


def test_stamp_duty_recharged_comes_out_of_what_the_buyer_paid():
    tax = TaxContext(regime="forfettario", stamp_duty_recharged=True, find_vat_type=vat_types)
    p = plan(order(Item("new", 1, D("100.00"))), tax)
    assert p.lines[0].gross_amount == D("98.00") and p.total == D("100.00")


def test_a_treatment_without_a_fitting_vat_type_is_a_question_not_a_guess():
    tax = TaxContext(buyer="business", vies_verified=True)  # the company has no 0 % N3.2 VAT type
    with pytest.raises(PlanError) as exc:
        plan(order(ship_country="FR", ship_postal_code="75001"), tax)
    assert exc.value.code == "vat_type_missing" and exc.value.params["natura"] == "N3.2"


def test_a_slot_whose_product_does_not_fit_stops_the_orders_that_need_it():
    mapping = {
        **MAPPING,
        "std_export": MappedProduct(103, "Parts 22", 1, D("22"), mismatch="22 %", expected="0 % (N3.1)"),
    }
    with pytest.raises(PlanError) as exc:
        plan(order(ship_country="US", ship_postal_code="10001"), mapping=mapping)
    assert exc.value.code == "vat_rate_mismatch"
    assert plan(order()).total  # a domestic order does not need that slot


def test_an_accepted_mismatch_still_sends_the_treatment_s_vat_type():
    accepted = {**MAPPING, "std_export": MappedProduct(103, "Parts 22", 1, D("22"))}  # mismatch accepted
    tax = TaxContext(find_vat_type=lambda rate, natura: 6 if (rate, natura) == (D("0"), "N3.1") else None)
    p = plan(order(ship_country="US", ship_postal_code="10001"), tax, mapping=accepted)
    assert [(line.product_id, line.vat_id, line.natura) for line in p.lines] == [(103, 6, "N3.1")]


# --- through issuing ---------------------------------------------------------------------------

pytestmark = pytest.mark.django_db


@pytest.fixture
def seller(tenant):
    connected_seller(tenant)
    return tenant


def _run(order):
    invoice, _ = Invoice.objects.get_or_create(tenant=order.tenant, order=order, defaults={"company_id": 12345})
    issuing.invoice_process(invoice_id=invoice.id)
    invoice.refresh_from_db()
    return invoice


def test_an_issued_export_stores_its_lines_and_sends_the_wording(seller, fake):
    invoice = _run(make_order(seller, ship_country="US", ship_postal_code="10001", ship_state="NY"))
    assert invoice.state == S.ISSUED and invoice.region == "export"
    assert list(InvoiceLine.objects.filter(invoice=invoice).values_list("slot", "natura")) == [
        ("std_export", "N3.1"),
        ("shipping", "N3.1"),
    ]
    sent = json.loads(fake.calls("POST")[-1].request.body)["data"]
    assert "art. 8" in sent["notes"] and [i["vat"]["id"] for i in sent["items_list"]] == [21, 21]


def test_a_wrong_mapping_holds_export_orders_until_the_seller_decides(seller, fake):
    ProductMapping.objects.filter(tenant=seller, slot="std_export").update(vat_id=0, vat_value=22, vat_ei_type="")
    held = _run(make_order(seller, username="us-buyer", ship_country="US", ship_postal_code="10001"))
    assert held.state == S.NEEDS_ATTENTION and held.error_code == "vat_rate_mismatch"
    assert _run(make_order(seller, username="it-buyer")).state == S.ISSUED  # others go on
    assert len(fake.documents) == 1


def test_an_eu_business_buyer_with_a_vies_valid_number_is_invoiced_art_41(seller, fake):
    from tests.factories_fatture import VAT_TYPES

    eu_b2b = {"id": 41, "value": 0, "description": "Art. 41", "ei_type": "N3.2", "is_disabled": False}
    fake.rsps.add("GET", fic("info/vat_types"), json={"data": [*VAT_TYPES["data"], eu_b2b]})
    check = VatNumberCheck.objects.create(tenant=seller, country="FR", number="40303265045", result="valid")
    order = make_order(seller, username="fr-shop", ship_country="FR", ship_postal_code="75001")
    Buyer.objects.create(tenant=seller, code="BL-fr-shop", vat_number="FR40303265045", vies_check=check)
    invoice = _run(order)
    assert invoice.state == S.ISSUED
    assert set(InvoiceLine.objects.filter(invoice=invoice).values_list("natura", "vat_id")) == {("N3.2", 41)}


def test_vies_down_holds_the_order_with_a_clear_message_and_retries(seller, fake, settings):
    settings.VIES_MODE = "live"
    Buyer.objects.create(tenant=seller, code="BL-de-shop", vat_number="DE136695976")
    invoice = _run(make_order(seller, username="de-shop", ship_country="DE", ship_postal_code="10115"))
    assert invoice.state == S.FAILED and invoice.error_code == "vies_unavailable" and invoice.next_attempt_at
    assert fake.documents == []


def test_an_invoice_dated_before_the_newest_of_its_series_waits_then_is_dated_today(seller, owner, fake):
    _run(make_order(seller, username="later", paid_at=datetime(2026, 3, 10, 9, tzinfo=UTC)))
    late = make_order(seller, username="earlier", paid_at=datetime(2026, 3, 4, 9, tzinfo=UTC))
    held = _run(late)
    assert held.state == S.NEEDS_ATTENTION and held.error_code == "invoice_date_out_of_order"
    order_decide(order=late, kind="date_today", reason="paid by bank transfer late", user=owner)
    issued = _run(late)
    assert issued.state == S.ISSUED and issued.invoice_date == date.today()
    sent = json.loads(fake.calls("POST")[-1].request.body)["data"]
    assert "Data dell'operazione: 04/03/2026" in sent["notes"]


def test_a_store_series_goes_on_the_document(seller, fake):
    order = make_order(seller, username="series")
    order.store.numeration = "BL"
    order.store.save()
    invoice = _run(order)
    assert json.loads(fake.calls("POST")[-1].request.body)["data"]["numeration"] == "BL"
    assert invoice.series == "BL"


def test_a_forfettario_seller_s_invoice_owes_stamp_duty_on_the_document(seller, fake):
    from tests.factories_fatture import VAT_TYPES

    n22 = {"id": 22, "value": 0, "description": "Forfettario", "ei_type": "N2.2", "is_disabled": False}
    fake.rsps.add("GET", fic("info/vat_types"), json={"data": [*VAT_TYPES["data"], n22]})
    SellerSettings.objects.filter(tenant=seller).update(vat_registered=False)
    ProductMapping.objects.filter(tenant=seller).update(mismatch_accepted=True)
    invoice = _run(make_order(seller, username="forfait", items=(("new", 1, "120.0000"),)))
    assert invoice.state == S.ISSUED and invoice.stamp_duty == D("2.00")
    assert json.loads(fake.calls("POST")[-1].request.body)["data"]["stamp_duty"] == 2.0


def test_a_late_order_can_go_in_its_own_series_with_its_own_date(seller, owner, fake, client):
    _run(make_order(seller, username="later2", paid_at=datetime(2026, 3, 10, 9, tzinfo=UTC)))
    late = make_order(seller, username="earlier2", paid_at=datetime(2026, 3, 4, 9, tzinfo=UTC))
    held = _run(late)
    client.force_login(owner)
    preview = client.get(reverse("invoicing:order_preview", args=[late.public_id])).content.decode()
    assert 'value="own_series"' in preview and 'value="date_today"' in preview and 'name="numeration"' in preview
    decide = reverse("invoicing:order_decide", args=[late.public_id])
    client.post(decide, {"kind": "own_series", "numeration": ""})  # a series must be named
    client.post(decide, {"kind": "own_series", "numeration": "/R; DROP"})  # and be a plain code
    assert not OrderDecision.objects.filter(order=late).exists()
    client.post(decide, {"kind": "own_series", "numeration": "/R", "reason": "late bank transfer"})
    issued = _run(late)
    assert issued.id == held.id and issued.state == S.ISSUED and issued.invoice_date == date(2026, 3, 4)
    assert issued.series == "/R"
    assert json.loads(fake.calls("POST")[-1].request.body)["data"]["numeration"] == "/R"
