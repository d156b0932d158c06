"""Normalising BrickLink and BrickOwl payloads into one Order shape (no HTTP, no database)."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from accounts.choices import OrderStatus
from marketplaces.bricklink.normalise import normalise_order as bl_normalise
from marketplaces.bricklink.normalise import normalise_status as bl_status
from marketplaces.brickowl.normalise import normalise_order as bo_normalise
from marketplaces.brickowl.normalise import normalise_status as bo_status
from tests.data.marketplace_payloads import bl_batches, bl_order, bo_items, bo_order

D = Decimal


def money_identity(order) -> Decimal:
    return (
        order.items_subtotal
        + order.shipping
        + order.insurance
        + order.etc1
        + order.etc2
        + order.additional_charges
        - order.credit
        - order.coupon
    )


# -- BrickLink ---------------------------------------------------------------------------------


def test_bricklink_reference_order_is_normalised_with_decimals_from_4_decimal_strings():
    order = bl_normalise(bl_order(), bl_batches())

    assert order.data_errors == []
    assert order.marketplace_order_id == "24680135"
    assert order.buyer_username == "brickfan_berlin"
    assert order.buyer_name == order.ship_name == "Anna Müller"
    assert (order.ship_address1, order.ship_postal_code, order.ship_city, order.ship_country) == (
        "Hauptstraße 12",
        "10115",
        "Berlin",
        "DE",
    )
    assert order.ordered_at == datetime(2024, 3, 14, 9, 21, 37, 153000, tzinfo=UTC)
    assert order.paid_at == datetime(2024, 3, 14, 9, 24, 5, tzinfo=UTC)
    assert order.status == OrderStatus.SHIPPED and order.raw_status == "SHIPPED"
    assert order.currency == "EUR"
    assert order.items_subtotal == D("22.2900") and isinstance(order.items_subtotal, Decimal)
    assert order.shipping == D("6.9000")
    assert order.grand_total == order.amount_paid_to_seller == D("29.1900")
    assert order.marketplace_tax == 0
    assert money_identity(order) == order.amount_paid_to_seller


def test_bricklink_item_batches_are_flattened_with_html_entities_decoded_and_tier_prices():
    items = bl_normalise(bl_order(), bl_batches()).items

    assert [(i.lot_id, i.batch, i.position) for i in items] == [
        ("387654321", 1, 0),
        ("387654322", 1, 1),
        ("387654323", 1, 2),
        ("387699001", 2, 3),
    ]
    assert items[2].name == "Stormtrooper (Dotted Mouth)"
    assert items[3].name == "Halloween Cat & Mouse"
    # unit_price_final (after tiered pricing) is the price charged.
    assert items[1].unit_price == D("0.0360") and items[1].line_total == D("1.8000")
    assert [i.condition for i in items] == ["new", "used", "used", "new"]
    assert items[0].color == "Red" and items[2].color == ""
    assert sum(i.line_total for i in items) == D("22.2900")


def test_bricklink_uk_country_code_becomes_gb():
    order = bl_normalise(bl_order(shipping__address__country_code="UK"), bl_batches())

    assert order.ship_country == "GB"
    assert order.data_errors == []


def test_bricklink_us_sales_tax_collected_by_bricklink_is_not_paid_to_the_seller():
    order = bl_normalise(
        bl_order(
            salesTax_collected_by_bl=True,
            cost__salesTax="2.0400",
            cost__grand_total="31.2300",
            cost__final_total="29.1900",
            shipping__address__country_code="US",
        ),
        bl_batches(),
    )

    assert order.marketplace_tax == D("2.0400")
    assert order.grand_total == D("31.2300")
    assert order.amount_paid_to_seller == D("29.1900")
    assert money_identity(order) == order.amount_paid_to_seller
    assert order.data_errors == []


def test_bricklink_collected_vat_without_vat_field_falls_back_to_the_final_total_gap():
    order = bl_normalise(
        bl_order(vat_collected_by_bl=True, cost__grand_total="35.0300", cost__final_total="29.1900", cost__vat=None),
        bl_batches(),
    )

    assert order.marketplace_tax == D("5.8400")
    assert order.amount_paid_to_seller == D("29.1900")
    assert order.data_errors == []


def test_bricklink_free_text_address_is_used_when_structured_fields_are_empty():
    order = bl_normalise(
        bl_order(
            shipping__address__address1="",
            shipping__address__city="",
            shipping__address__postal_code="",
            shipping__address__full="Via dei Mattoni 3\nScala B\n00184 Roma RM\nItaly",
            shipping__address__country_code="IT",
        ),
        bl_batches(),
    )

    assert (order.ship_address1, order.ship_address2) == ("Via dei Mattoni 3", "Scala B")
    assert (order.ship_postal_code, order.ship_city, order.ship_country) == ("00184", "Roma RM", "IT")
    assert order.data_errors == []


def test_bricklink_malformed_order_keeps_going_with_readable_errors():
    order = bl_normalise(
        bl_order(
            status="TELEPORTED",
            cost__shipping="six-ninety",
            shipping__address__country_code="XX",
            shipping__address__address1="",
            shipping__address__full="",
        ),
        bl_batches(),
    )

    assert order.status == OrderStatus.ON_HOLD
    assert order.shipping == 0
    assert order.ship_country == ""
    errors = " ".join(order.data_errors)
    assert "Unexpected BrickLink status 'TELEPORTED'" in errors
    assert "cost.shipping is not a number ('six-ninety')" in errors
    assert "Unknown shipping country code 'XX'" in errors
    assert "no shipping address" in errors
    assert "do not add up" in errors  # 22.29 + 0 shipping != 29.19


def test_bricklink_totals_that_do_not_match_the_items_are_flagged():
    batches = bl_batches()
    batches[1][0]["unit_price_final"] = "14.9900"

    order = bl_normalise(bl_order(), batches)

    assert any("items add up to 24.29" in e for e in order.data_errors)


@pytest.mark.parametrize(
    ("status", "payment", "expected"),
    [
        ("PENDING", {"status": "None"}, OrderStatus.PENDING),
        ("UPDATED", {"status": "None"}, OrderStatus.PENDING),
        ("PROCESSING", {"status": "None"}, OrderStatus.AWAITING_PAYMENT),
        ("READY", {"status": "Sent"}, OrderStatus.AWAITING_PAYMENT),
        ("READY", {"status": "Received", "date_paid": "2024-03-14T09:24:05.000Z"}, OrderStatus.PAID),
        ("PROCESSING", {"status": "Completed", "date_paid": "2024-03-14T09:24:05.000Z"}, OrderStatus.PAID),
        ("READY", {"status": "Received"}, OrderStatus.AWAITING_PAYMENT),  # no date_paid: not proven
        ("PAID", {"status": "Received"}, OrderStatus.PAID),
        ("PACKED", {}, OrderStatus.PAID),
        ("SHIPPED", {}, OrderStatus.SHIPPED),
        ("RECEIVED", {}, OrderStatus.COMPLETED),
        ("COMPLETED", {}, OrderStatus.COMPLETED),
        ("OCR", {"status": "Received"}, OrderStatus.ON_HOLD),
        ("NPB", {}, OrderStatus.ON_HOLD),
        ("NRS", {}, OrderStatus.ON_HOLD),
        ("NSS", {}, OrderStatus.ON_HOLD),
        ("PAID", {"status": "Bounced"}, OrderStatus.ON_HOLD),
        ("SHIPPED", {"status": "Returned"}, OrderStatus.ON_HOLD),
        ("NPX", {}, OrderStatus.CANCELLED),
        ("CANCELLED", {"status": "Received"}, OrderStatus.CANCELLED),
        ("PURGED", {}, OrderStatus.CANCELLED),
        ("shipped", {}, OrderStatus.SHIPPED),
    ],
)
def test_bricklink_status_follows_the_is_it_paid_rule(status, payment, expected):
    assert bl_status(status, payment) == (expected, None)


# -- BrickOwl ----------------------------------------------------------------------------------


def test_brickowl_reference_order_is_parsed_from_strings():
    order = bo_normalise(bo_order(), bo_items())

    assert order.data_errors == []
    assert order.marketplace_order_id == "7654321"
    assert order.buyer_username == "brickfan_berlin" and order.buyer_name == "Anna Müller"
    assert order.ordered_at == datetime(2024, 3, 14, 9, 21, 37, tzinfo=UTC)
    assert order.paid_at is None
    assert order.status == OrderStatus.SHIPPED and order.raw_status == "Shipped"
    assert (order.items_subtotal, order.shipping, order.grand_total) == (D("22.29"), D("6.90"), D("29.19"))
    assert order.amount_paid_to_seller == D("29.19") == money_identity(order)
    assert order.ship_country == "DE" and order.ship_postal_code == "10115"
    items = order.items
    assert [i.quantity for i in items] == [20, 50, 1, 1]
    assert items[1].unit_price == D("0.036") and items[1].line_total == D("1.8000")
    assert [i.condition for i in items] == ["new", "used", "used", "new"]
    assert items[3].name == "LEGO Halloween Cat & Mouse Set 40570"
    assert items[2].color == ""


def test_brickowl_1970_dates_are_unset():
    order = bo_normalise(
        bo_order(processed_time=None, iso_processed_time="1970-01-01T01:00:00+01:00", updated_time="0"), bo_items()
    )

    assert order.status_changed_at is None
    assert order.data_errors == []


def test_brickowl_order_time_falls_back_to_the_london_iso_time():
    order = bo_normalise(bo_order(order_time=None, iso_order_time="2024-07-01T10:00:00+01:00"), bo_items())

    assert order.ordered_at == datetime(2024, 7, 1, 9, 0, tzinfo=UTC)


def test_brickowl_uk_is_normalised_tax_is_flagged_and_refunds_are_data_not_problems():
    order = bo_normalise(
        bo_order(ship_country_code="uk", tax_amount="4.87", tax_rate="20.00", refund_total="3.00"), bo_items()
    )

    assert order.ship_country == "GB"
    assert order.marketplace_tax == 0
    errors = " ".join(order.data_errors)
    assert "tax of 4.87 EUR (rate 20.00%)" in errors
    # Refunds become credit notes on the invoicing side: typed fields, not a warning.
    assert order.refund_total == D("3.00") and "refund" not in errors


def test_brickowl_unknown_status_and_garbage_are_flagged():
    order = bo_normalise(bo_order(status_id="42", sub_total="lots", ship_country_code=""), bo_items())

    assert order.status == OrderStatus.ON_HOLD
    errors = " ".join(order.data_errors)
    assert "Unexpected BrickOwl status id '42'" in errors
    assert "sub_total is not a number" in errors
    assert "no country" in errors


@pytest.mark.parametrize(
    ("status_id", "expected"),
    [
        ("0", OrderStatus.PENDING),
        ("1", OrderStatus.AWAITING_PAYMENT),
        ("2", OrderStatus.PAID),
        ("3", OrderStatus.PAID),
        ("4", OrderStatus.PAID),
        ("5", OrderStatus.SHIPPED),
        ("6", OrderStatus.COMPLETED),
        ("7", OrderStatus.ON_HOLD),
        ("8", OrderStatus.CANCELLED),
        (5, OrderStatus.SHIPPED),
    ],
)
def test_brickowl_status_is_keyed_on_status_id(status_id, expected):
    assert bo_status(status_id) == (expected, None)
