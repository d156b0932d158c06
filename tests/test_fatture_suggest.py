"""Suggested products for the mapping slots (fatture/suggest.py): VAT first, then the words of the
name and code, over plain catalogue lists (no database, no call)."""

from decimal import Decimal as D

import pytest

from fatture.catalogue import Product
from fatture.mapping import ExpectedVat
from fatture.suggest import suggest_products
from invoicing.accounting import Slot

VAT22 = ExpectedVat(D(22))
EXPORT = ExpectedVat(D(0), frozenset({"N3.1"}))
MARGIN = ExpectedVat(D(0), frozenset({"N5"}))
MARGIN_EXPORT = ExpectedVat(D(0), frozenset({"N3.1", "N5"}))
REGISTERED = {
    Slot.STD_DOMESTIC: VAT22,
    Slot.STD_EU: VAT22,
    Slot.STD_EXPORT: EXPORT,
    Slot.MARGIN_DOMESTIC: MARGIN,
    Slot.MARGIN_EU: MARGIN,
    Slot.MARGIN_EXPORT: MARGIN_EXPORT,
    Slot.SHIPPING: VAT22,
    Slot.HANDLING: VAT22,
}


def p(pid, name, code="", vat=22, natura=""):
    return Product(id=pid, name=name, code=code, vat_id=pid, vat_value=D(vat), vat_ei_type=natura)


def _ids(suggestions):
    return {slot: s.product.id for slot, s in suggestions.items()}


ITALIAN = [
    p(1, "Mattoncini LEGO", "LEGO-STD"),
    p(2, "Mattoncini LEGO UE", "LEGO-UE"),
    p(3, "LEGO extra UE", "LEGO-EXTRA", 0, "N3.1"),
    p(4, "LEGO usato (margine)", "LEGO-MARG", 0, "N5"),
    p(5, "LEGO usato UE", "MARG-UE", 0, "N5"),
    p(6, "Spedizione", "SPED"),
    p(7, "Gestione ordine", "GEST"),
    p(8, "Libri", "BOOK", 4),
]


def test_a_complete_italian_catalogue_fills_every_slot():
    assert _ids(suggest_products(products=ITALIAN, expected=REGISTERED)) == {
        Slot.STD_DOMESTIC: 1,
        Slot.STD_EU: 2,
        Slot.STD_EXPORT: 3,
        Slot.MARGIN_DOMESTIC: 4,
        Slot.MARGIN_EU: 5,
        Slot.MARGIN_EXPORT: 3,  # the export product (N3.1) before the margin one (N5)
        Slot.SHIPPING: 6,
        Slot.HANDLING: 7,
    }


def test_an_english_catalogue_is_understood_too():
    products = [
        p(11, "New parts", "NEW"),
        p(12, "Used parts", "USED", 0, "N5"),
        p(13, "Export sales", "EXP", 0, "N3.1"),
        p(14, "Shipping", "SHIP"),
        p(15, "Handling fee", "HF"),
    ]
    assert _ids(suggest_products(products=products, expected=REGISTERED)) == {
        Slot.STD_DOMESTIC: 11,
        Slot.STD_EU: 11,  # no EU product: the standard one, whose VAT is the same
        Slot.STD_EXPORT: 13,
        Slot.MARGIN_DOMESTIC: 12,
        Slot.MARGIN_EU: 12,
        Slot.MARGIN_EXPORT: 13,
        Slot.SHIPPING: 14,
        Slot.HANDLING: 15,
    }


def test_the_vat_must_fit_whatever_the_name_says():
    products = [p(1, "Spedizione", "SHIP", 10), p(2, "LEGO usato", "", 22), p(3, "LEGO export", "", 0, "N5")]
    suggestions = suggest_products(products=products, expected=REGISTERED)
    assert Slot.SHIPPING not in suggestions  # 10 % is not the shipping VAT
    assert Slot.MARGIN_DOMESTIC not in suggestions  # "usato" at 22 % is no margin product
    assert Slot.STD_EXPORT not in suggestions  # N5 is not the export natura


def test_a_product_named_for_another_purpose_is_never_suggested():
    products = [p(1, "Spedizione", "SHIP"), p(2, "LEGO usato", "USATO"), p(3, "Gestione", "")]
    suggestions = suggest_products(products=products, expected=REGISTERED)
    assert Slot.STD_DOMESTIC not in suggestions and Slot.STD_EU not in suggestions
    assert suggestions[Slot.SHIPPING].product.id == 1 and suggestions[Slot.HANDLING].product.id == 3


def test_shipping_and_handling_need_their_words():
    suggestions = suggest_products(products=[p(1, "Mattoncini LEGO")], expected=REGISTERED)
    assert Slot.SHIPPING not in suggestions and Slot.HANDLING not in suggestions
    assert suggestions[Slot.STD_DOMESTIC].product.id == 1


def test_words_inside_other_words_do_not_count():
    # "eu" inside "queue" or "Europa" inside a code must not make a goods product an EU one wrongly.
    products = [p(1, "Queue bricks", "Q"), p(2, "Bricks for EU buyers", "EU-1")]
    suggestions = suggest_products(products=products, expected=REGISTERED)
    assert suggestions[Slot.STD_EU].product.id == 2 and suggestions[Slot.STD_DOMESTIC].product.id == 1


def test_the_why_names_the_vat_and_the_word():
    suggestions = suggest_products(products=ITALIAN, expected=REGISTERED)
    assert "spedizione" in suggestions[Slot.SHIPPING].why and "22" in suggestions[Slot.SHIPPING].why
    assert "N5" in suggestions[Slot.MARGIN_DOMESTIC].why and "usato" in suggestions[Slot.MARGIN_DOMESTIC].why


def test_a_flat_rate_seller_gets_the_n22_products():
    n22 = ExpectedVat(D(0), frozenset({"N2.2"}))
    products = [
        p(1, "Mattoncini LEGO", "", 22),
        p(2, "Mattoncini forfettario", "", 0, "N2.2"),
        p(3, "Spedizione", "", 0, "N2.2"),
    ]
    suggestions = suggest_products(products=products, expected={slot: n22 for slot in Slot.values})
    assert suggestions[Slot.STD_DOMESTIC].product.id == 2 and suggestions[Slot.SHIPPING].product.id == 3


@pytest.mark.parametrize("products", [[], [p(1, "Libri", "", 4)]])
def test_nothing_fits_nothing_is_suggested(products):
    assert suggest_products(products=products, expected=REGISTERED) == {}
