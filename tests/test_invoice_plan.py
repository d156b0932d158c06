"""The invoice plan: region, slots, allocation, rounding and eligibility. Pure, no database."""

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal as D

import pytest

from invoicing.plan import MappedProduct, PlanError, SellerRules, TaxContext, build_plan, ineligibility_reason, money
from invoicing.regions import Region, region_for


@dataclass
class Item:
    condition: str
    quantity: int
    line_total: D


@dataclass
class Order:
    items: list = field(default_factory=list)
    marketplace: str = "bricklink"
    marketplace_order_id: str = "12345"
    ship_country: str = "IT"
    ship_postal_code: str = "20121"
    status: str = "paid"
    currency: str = "EUR"
    ordered_at: datetime = datetime(2026, 3, 1, 10, 0)
    paid_at: datetime | None = datetime(2026, 3, 2, 9, 0)
    items_subtotal: D = D("0")
    shipping: D = D("0")
    insurance: D = D("0")
    etc1: D = D("0")
    etc2: D = D("0")
    additional_charges: D = D("0")
    credit: D = D("0")
    coupon: D = D("0")
    marketplace_tax: D = D("0")
    amount_paid_to_seller: D = D("0")
    quarantined: bool = False


VAT22, VAT_EXPORT, VAT_EU, VAT_MARGIN = (1, D("22")), (6, D("0")), (7, D("0")), (8, D("0"))
EXPORT, MARGIN = {"natura": "N3.1"}, {"natura": "N5"}
MAPPING = {
    "std_domestic": MappedProduct(101, "Parts IT", *VAT22),
    "std_eu": MappedProduct(102, "Parts EU", *VAT22),
    "std_export": MappedProduct(103, "Parts export", *VAT_EXPORT, **EXPORT),
    "margin_domestic": MappedProduct(201, "Used IT", *VAT_MARGIN, **MARGIN),
    "margin_eu": MappedProduct(202, "Used EU", *VAT_MARGIN, **MARGIN),
    "margin_export": MappedProduct(203, "Used export", *VAT_EXPORT, **EXPORT),
    "shipping": MappedProduct(301, "Shipping", *VAT22),
    "handling": MappedProduct(302, "Handling", *VAT22),
}


def order(*items, **kw):
    items = list(items) or [Item("new", 10, D("20.0000"))]
    subtotal = kw.pop("items_subtotal", sum((i.line_total for i in items), D(0)))
    o = Order(items=items, items_subtotal=subtotal, **kw)
    if "amount_paid_to_seller" not in kw:
        o.amount_paid_to_seller = (
            o.items_subtotal + o.shipping + o.insurance + o.etc1 + o.etc2 + o.additional_charges - o.credit - o.coupon
        )
    return o


def plan(o, **rules):
    return build_plan(o, o.items, SellerRules(**rules), MAPPING)


def amounts(p):
    """Gross amount per slot (a charge split over goods of two treatments has two lines)."""
    totals = {}
    for line in p.lines:
        totals[line.slot] = totals.get(line.slot, D(0)) + line.gross_amount
    return totals


@pytest.mark.parametrize(
    "country,postcode,expected",
    [
        ("IT", "20121", Region.DOMESTIC),
        ("DE", "10115", Region.EU),
        ("FR", "75001", Region.EU),
        ("MC", "98000", Region.EU),
        ("GB", "SW1A 1AA", Region.EXPORT),
        ("UK", "EC1A 1BB", Region.EXPORT),
        ("GB", "BT1 1AA", Region.EU),  # Northern Ireland counts as EU for goods
        ("XI", "BT7 1NN", Region.EU),
        ("US", "94105", Region.EXPORT),
        ("CH", "8001", Region.EXPORT),
        ("NO", "0150", Region.EXPORT),
        ("SM", "47890", Region.EXPORT),
        ("ES", "28001", Region.EU),
        ("ES", "35001", Region.EXPORT),  # Canary Islands (Las Palmas)
        ("ES", "38001", Region.EXPORT),  # Canary Islands (Santa Cruz de Tenerife)
        ("ES", "51001", Region.EXPORT),  # Ceuta
        ("ES", "52001", Region.EXPORT),  # Melilla
        ("IT", "23041", Region.EXPORT),  # Livigno
        ("IT", "22061", Region.EXPORT),  # Campione d'Italia
        ("FI", "22100", Region.EXPORT),  # Åland (Mariehamn)
        ("AX", "22100", Region.EXPORT),
        ("FI", "00100", Region.EU),
        ("GR", "63086", Region.EXPORT),  # Mount Athos
        ("GR", "10552", Region.EU),
        ("DE", "27498", Region.EXPORT),  # Heligoland
        ("DE", "78266", Region.EXPORT),  # Büsingen
        ("FR", "97100", Region.EXPORT),  # Guadeloupe
        ("FR", "97400", Region.EXPORT),  # Réunion
        ("RE", "97400", Region.EXPORT),
        ("fr", "75 001", Region.EU),
    ],
)
def test_region_from_shipping_address(country, postcode, expected):
    assert region_for(country=country, postcode=postcode, seller_country="IT") == expected


@pytest.mark.parametrize("country", ["", "  ", "Italy", "1T"])
def test_unknown_country_is_refused_not_guessed(country):
    with pytest.raises(ValueError):
        region_for(country=country, postcode="", seller_country="IT")
    with pytest.raises(PlanError) as exc:
        plan(order(ship_country=country))
    assert exc.value.code == "order_data_invalid"


@pytest.mark.parametrize(
    "country,postcode,goods_slot,vat_id",
    [
        ("IT", "00184", "std_domestic", 1),
        ("DE", "10115", "std_eu", 1),
        ("US", "10001", "std_export", 6),
        ("ES", "35001", "std_export", 6),
    ],
)
def test_each_region_uses_its_goods_slot_and_accessories_follow_the_goods(country, postcode, goods_slot, vat_id):
    p = plan(
        order(
            Item("new", 5, D("10.00")),
            ship_country=country,
            ship_postal_code=postcode,
            shipping=D("5.00"),
            etc1=D("1.00"),
        )
    )
    assert p.slots == [goods_slot, "shipping", "handling"]
    shipping = next(line for line in p.lines if line.slot == "shipping")
    assert shipping.product_id == 301  # the mapped shipping product, always
    assert shipping.vat_id == vat_id  # 22 % at home, 0 % (N3.1) on an export


@pytest.mark.parametrize(
    "rule,expected",
    [
        ("off", {"std_domestic": D("30.00")}),
        ("used", {"std_domestic": D("10.00"), "margin_domestic": D("20.00")}),
        ("all", {"margin_domestic": D("30.00")}),
    ],
)
def test_margin_rule_splits_new_and_used_lots(rule, expected):
    p = plan(order(Item("new", 4, D("10.0000")), Item("used", 6, D("20.0000"))), margin_rule=rule)
    assert amounts(p) == expected
    assert p.total == D("30.00")


@pytest.mark.parametrize("region_country,slot", [("DE", "margin_eu"), ("US", "margin_export")])
def test_margin_goods_abroad_use_the_regions_margin_slot(region_country, slot):
    p = plan(order(Item("used", 3, D("9.00")), ship_country=region_country, shipping=D("4.00")), margin_rule="used")
    assert p.slots == [slot, "shipping"]
    assert p.lines[1].vat_id == MAPPING[slot].vat_id  # margin-only order: shipping follows the goods


def test_coupon_and_credit_are_spread_pro_rata_over_goods_lines():
    o = order(
        Item("new", 1, D("30.00")), Item("used", 1, D("10.00")), coupon=D("4.00"), credit=D("2.00"), shipping=D("5.00")
    )
    p = plan(o, margin_rule="used")
    assert amounts(p) == {"std_domestic": D("25.50"), "margin_domestic": D("8.50"), "shipping": D("5.00")}
    assert p.total == D("39.00") == money(o.amount_paid_to_seller)


def test_insurance_goes_with_shipping_and_etc_charges_to_handling():
    o = order(shipping=D("6.90"), insurance=D("1.10"), etc1=D("0.50"), etc2=D("0.25"), additional_charges=D("1.00"))
    p = plan(o)
    assert amounts(p) == {"std_domestic": D("20.00"), "shipping": D("8.00"), "handling": D("1.75")}
    assert p.lines[1].description.startswith("Spedizione e assicurazione")  # printed in Italian


def test_marketplace_collected_tax_is_left_out():
    o = order(
        ship_country="US",
        ship_postal_code="10001",
        shipping=D("10.00"),
        marketplace_tax=D("2.71"),
        amount_paid_to_seller=D("30.00"),
    )
    p = plan(o)
    assert p.total == D("30.00")
    assert sum(line.gross_amount for line in p.lines) == D("30.00")


def test_a_usd_order_is_invoiced_in_eur_at_the_ecb_rate_with_the_original_stated():
    from taxes.ecb import RateQuote

    quote = RateQuote("USD", D("1.0850"), date(2026, 3, 2), "ECB reference rate of 2026-03-02 (daily feed)")
    o = order(currency="usd", ship_country="US", ship_postal_code="10001", shipping=D("5.00"))
    p = build_plan(o, o.items, SellerRules(), MAPPING, TaxContext(fx=quote))
    assert p.currency == "EUR" and p.original_currency == "USD" and p.original_total == D("25.00")
    assert p.total == D("23.04")  # 25.00 / 1.0850, half-up to the cent
    assert sum(line.gross_amount for line in p.lines) == p.total
    assert any("25,00 USD" in note and "1,085" in note for note in p.notes)


@pytest.mark.parametrize(
    "subtotal,shipping,coupon,paid",
    [
        (D("10.0050"), D("3.0050"), D("0"), D("13.01")),  # two half-cents round up and meet the total
        (D("33.3333"), D("3.3333"), D("0"), D("36.67")),
        (D("10.0000"), D("0.0000"), D("3.3333"), D("6.67")),
        (D("0.0100"), D("0.0000"), D("0.0000"), D("0.01")),
        (D("19.9949"), D("4.0049"), D("1.0049"), D("22.99")),
    ],
)
def test_invoice_total_equals_amount_paid_to_the_cent(subtotal, shipping, coupon, paid):
    o = order(
        Item("new", 1, subtotal),
        Item("used", 2, D("0.0001")),
        items_subtotal=subtotal,
        shipping=shipping,
        coupon=coupon,
        amount_paid_to_seller=paid,
    )
    for rule in ("off", "used"):
        p = plan(o, margin_rule=rule)
        assert p.total == paid
        assert all(line.gross_amount == line.gross_amount.quantize(D("0.01")) for line in p.lines)


def test_rounding_residue_lands_on_the_largest_line():
    o = order(
        Item("new", 1, D("99.994")), items_subtotal=D("99.994"), shipping=D("0.004"), amount_paid_to_seller=D("100.00")
    )
    p = plan(o)
    assert amounts(p)["std_domestic"] == D("100.00") - amounts(p).get("shipping", D(0))
    assert p.total == D("100.00")


def test_amounts_that_do_not_add_up_are_held_not_invoiced():
    with pytest.raises(PlanError) as exc:
        plan(order(amount_paid_to_seller=D("25.00")))
    assert exc.value.code == "order_data_held" and "25.00" in exc.value.detail


def test_missing_slot_mapping_names_the_slot():
    mapping = {k: v for k, v in MAPPING.items() if k != "handling"}
    o = order(etc1=D("1.00"))
    with pytest.raises(PlanError) as exc:
        build_plan(o, o.items, SellerRules(), mapping)
    assert exc.value.code == "slot_not_mapped" and exc.value.params == {"slot": "handling"}


def test_descriptions_are_readable_italian_whatever_the_sellers_language():
    p = plan(
        order(
            Item("new", 100, D("15.00")), Item("new", 23, D("5.00")), marketplace="brickowl", marketplace_order_id="987"
        )
    )
    assert p.lines[0].description == "Mattoncini LEGO, 123 pz — ordine BrickOwl 987"


@pytest.mark.parametrize("policy,expected", [("payment_date", date(2026, 3, 2)), ("order_date", date(2026, 3, 1))])
def test_invoice_date_follows_the_sellers_policy(policy, expected):
    assert plan(order(), invoice_date_policy=policy).invoice_date == expected


def test_invoice_date_falls_back_to_order_date_without_payment_date():
    assert plan(order(paid_at=None), invoice_date_policy="payment_date").invoice_date == date(2026, 3, 1)


@pytest.mark.parametrize(
    "changes,rules,already,reason",
    [
        ({}, {}, False, None),
        ({"status": "shipped"}, {}, False, None),
        ({"status": "cancelled"}, {"invoiceable_statuses": ["cancelled", "paid"]}, False, "cancelled"),
        ({"status": "awaiting_payment"}, {}, False, "status"),
        ({"status": "on_hold"}, {}, False, "status"),
        ({"status": "pending"}, {"invoiceable_statuses": ["pending"]}, False, None),
        ({}, {}, True, "already invoiced"),
        ({"ordered_at": datetime(2025, 12, 31, 23, 0)}, {"cutoff_date": date(2026, 1, 1)}, False, "start date"),
        ({"ordered_at": datetime(2026, 1, 1, 0, 0)}, {"cutoff_date": date(2026, 1, 1)}, False, None),
    ],
)
def test_eligibility(changes, rules, already, reason):
    got = ineligibility_reason(replace(order(), **changes), SellerRules(**rules), already_invoiced=already)
    assert (got is None) if reason is None else (reason in got)
