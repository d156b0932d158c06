"""Pure e-invoice data: the buyer as SDI needs it (foreign, Italian business, Italian consumer),
ei_data for invoices and credit notes, payment methods as MP codes, and SDI-safe text (with
Hypothesis generating the text)."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fatture.documents import entity_fields
from fatture.einvoice_data import (
    BuyerKind,
    credit_note_date_problem,
    ei_data_credit_note,
    ei_data_invoice,
    einvoice_entity,
    foreign_tax_id,
    sdi_entity_text,
    sdi_text,
)
from taxes.payments import DEFAULT_MP_CODES, PaymentKind, payment_kind, payment_method_code

VALID_PIVA = "00743110157"
VALID_CF = "RSSMRA85T10A562S"


def buyer(**extra) -> dict:
    return {"code": "BL:x", "name": "Anna Müller", "address_street": "Hauptstraße 12", **extra}


# --- foreign buyers -------------------------------------------------------------------------------


def test_foreign_consumer_gets_xxxxxxx_its_country_a_placeholder_id_and_no_codice_fiscale():
    built = einvoice_entity(buyer(country_iso="de", address_postal_code="10115", address_city="Berlin", tax_code="X1"))

    assert built.ok and built.kind == BuyerKind.FOREIGN
    assert built.fields["ei_code"] == "XXXXXXX" and built.fields["country_iso"] == "DE"
    assert built.fields["vat_number"] == "DEX1"  # a foreign tax number goes in the VAT field (FH-305)
    assert built.fields["tax_code"] == "" and built.fields["address_province"] == ""
    assert built.fields["address_postal_code"] == "00000"
    assert built.fields["address_city"] == "10115 Berlin"  # the real postal code stays printed


def test_foreign_buyer_without_any_id_gets_the_placeholder_never_a_bare_prefix():
    for typed in ("", "US", " us ", None):
        built = einvoice_entity(buyer(country_iso="US", vat_number=typed, address_city="Austin"))
        assert built.fields["vat_number"] == "US0000000"
        assert [w.code for w in built.warnings] == ["placeholder_id"]


def test_foreign_vat_numbers_keep_or_gain_their_prefix():
    assert foreign_tax_id("DE", "de 136.695.976") == "DE136695976"
    assert foreign_tax_id("DE", "136695976") == "DE136695976"
    assert foreign_tax_id("GR", "EL094014201") == "EL094014201"  # VIES writes Greece as EL
    assert foreign_tax_id("CH", "CHE-123.456.789") == "CHE123456789"
    assert len(foreign_tax_id("FR", "X" * 60)) == 30


def test_foreign_fields_override_what_entity_fields_keeps():
    data = buyer(country_iso="FR", tax_code="RSSMRA85T10A562S", address_postal_code="69002", address_city="Lyon")

    merged = {**entity_fields(data), **einvoice_entity(data).fields}

    assert merged["tax_code"] == "" and merged["country"] == "Francia" and merged["ei_code"] == "XXXXXXX"


# --- Italian buyers -------------------------------------------------------------------------------


def italian(**extra) -> dict:
    return buyer(country_iso="IT", address_postal_code="20121", address_city="Milano", **extra)


def test_italian_business_with_valid_vat_and_sdi_code():
    built = einvoice_entity(italian(vat_number=f"IT {VALID_PIVA}", ei_code="abc1234", certified_email="a@pec.it"))

    assert built.ok and built.kind == BuyerKind.ITALIAN_BUSINESS
    assert built.fields["vat_number"] == VALID_PIVA and built.fields["ei_code"] == "ABC1234"
    assert built.fields["tax_code"] == ""


def test_italian_business_with_a_pec_only_or_nothing_gets_0000000():
    with_pec = einvoice_entity(italian(vat_number=VALID_PIVA, certified_email="ditta@pec.it"))
    bare = einvoice_entity(italian(vat_number=VALID_PIVA))

    assert (with_pec.fields["ei_code"], with_pec.fields["certified_email"]) == ("0000000", "ditta@pec.it")
    assert not with_pec.warnings
    assert bare.ok and bare.fields["ei_code"] == "0000000" and [w.code for w in bare.warnings] == ["no_channel"]


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({"vat_number": "01234567890"}, "00305"),
        ({"vat_number": VALID_PIVA, "ei_code": "XXXXXXX"}, "00313"),
        ({"vat_number": VALID_PIVA, "ei_code": "UFABCD"}, "00311"),
        ({"vat_number": VALID_PIVA, "ei_code": "AB-12"}, "00311"),
        ({}, "00417"),
        ({"tax_code": "RSSMRA85T10A562X"}, "00306"),
        ({"tax_code": VALID_CF, "address_postal_code": "2012"}, "postal_code"),
    ],
)
def test_italian_buyers_that_sdi_would_reject_are_problems(extra, code):
    built = einvoice_entity({**italian(), **extra})

    assert not built.ok and code in [p.code for p in built.problems]


def test_italian_consumer_with_codice_fiscale():
    built = einvoice_entity(italian(tax_code=VALID_CF.lower()))

    assert built.ok and built.kind == BuyerKind.ITALIAN_CONSUMER
    assert built.fields == {
        "e_invoice": True,
        "country_iso": "IT",
        "ei_code": "0000000",
        "certified_email": "",
        "vat_number": "",
        "tax_code": VALID_CF,
    }


def test_italian_business_drops_a_wrong_codice_fiscale_instead_of_risking_00324():
    built = einvoice_entity(italian(vat_number=VALID_PIVA, tax_code="IT00743110157", ei_code="ABC1234"))
    kept = einvoice_entity(italian(vat_number=VALID_PIVA, tax_code=VALID_PIVA, ei_code="ABC1234"))

    assert built.ok and built.fields["tax_code"] == "" and [w.code for w in built.warnings] == ["00324"]
    assert kept.fields["tax_code"] == VALID_PIVA


def test_missing_country_or_name_is_a_problem():
    assert [p.code for p in einvoice_entity({"name": "X"}).problems] == ["country"]
    assert "name" in [p.code for p in einvoice_entity({"country_iso": "DE"}).problems]


# --- ei_data and payment methods ------------------------------------------------------------------


def test_ei_data_for_invoices_and_credit_notes():
    assert ei_data_invoice(payment_method="mp08") == {"payment_method": "MP08"}
    assert ei_data_credit_note(payment_method="MP05", invoice_number="12/A", invoice_date=date(2025, 3, 5)) == {
        "payment_method": "MP05",
        "invoice_number": "12/A",
        "invoice_date": "2025-03-05",
    }
    with pytest.raises(ValueError):
        ei_data_invoice(payment_method="MP24")
    with pytest.raises(ValueError):
        ei_data_credit_note(payment_method="MP05", invoice_number="", invoice_date=date(2025, 3, 5))


def test_a_credit_note_dated_before_its_invoice_is_00418():
    assert credit_note_date_problem(credit_note_date=date(2025, 3, 4), invoice_date=date(2025, 3, 5)).code == "00418"
    assert credit_note_date_problem(credit_note_date=date(2025, 3, 5), invoice_date=date(2025, 3, 5)) is None


@pytest.mark.parametrize(
    ("text", "kind", "code"),
    [
        ("PayPal (Onsite)", PaymentKind.PAYPAL, "MP08"),
        ("paypal_standard", PaymentKind.PAYPAL, "MP08"),
        ("Credit/Debit (Powered by Stripe)", PaymentKind.CARD, "MP08"),
        ("IBAN", PaymentKind.BANK_TRANSFER, "MP05"),
        ("Bank Transfer", PaymentKind.BANK_TRANSFER, "MP05"),
        ("Cash on Delivery", PaymentKind.CASH_ON_DELIVERY, "MP01"),
        ("COD", PaymentKind.CASH_ON_DELIVERY, "MP01"),
        ("Cash", PaymentKind.CASH, "MP01"),
        ("Check / Money Order", PaymentKind.CHEQUE, "MP02"),
        ("Bitcoin", PaymentKind.OTHER, "MP08"),
        ("", PaymentKind.OTHER, "MP08"),
    ],
)
def test_marketplace_payment_methods_map_to_mp_codes(text, kind, code):
    assert payment_kind(text) == kind
    assert payment_method_code(text) == code


def test_the_mp_table_can_be_overridden_per_tenant():
    assert set(DEFAULT_MP_CODES) == set(PaymentKind.values)
    assert payment_method_code("Bitcoin", table={PaymentKind.OTHER: "MP05"}) == "MP05"
    # A stored table that holds something else than a code never breaks an invoice: the default applies.
    assert payment_method_code("PayPal", table={PaymentKind.PAYPAL: "PayPal"}) == "MP08"


# --- SDI-safe text --------------------------------------------------------------------------------


def _latin1_printable(text: str) -> bool:
    return all(0x20 <= ord(c) <= 0x7E or 0xA0 <= ord(c) <= 0xFF for c in text)


@given(st.text())
def test_sdi_text_is_always_latin1_printable_and_trimmed(value):
    result = sdi_text(value)

    assert _latin1_printable(result)
    result.encode("latin-1")
    assert result == result.strip() and "  " not in result


@given(st.text())
def test_sdi_text_is_idempotent(value):
    assert sdi_text(sdi_text(value)) == sdi_text(value)


@given(st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0xFF, exclude_categories=("Cc", "Zs"))))
def test_latin1_words_pass_unchanged(value):
    assert sdi_text(value) == value


@given(st.text(), st.integers(min_value=1, max_value=80))
def test_sdi_text_respects_a_maximum_length(value, limit):
    assert len(sdi_text(value, max_length=limit)) <= limit


def test_sdi_text_transliterates_other_scripts_and_keeps_italian_letters():
    assert sdi_text("Łódź  Иван\tПетров") == "Lódz Ivan Petrov"  # ó is Latin-1, Ł and ź are not
    assert sdi_text("Perché però così ß Ø") == "Perché però così ß Ø"
    assert sdi_text("Ελληνικά\x00") == "Ellinika"
    assert sdi_text(None) == ""


def test_sdi_entity_text_cleans_names_and_addresses_only():
    fields = {"name": "Дмитрий", "address_city": "Київ", "vat_number": "UA123", "e_invoice": True}

    cleaned = sdi_entity_text(fields)

    assert cleaned == {"name": "Dmitriy", "address_city": "Kiiv", "vat_number": "UA123", "e_invoice": True}
