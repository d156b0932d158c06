"""The VAT decision table (taxes/treatment.py, docs/tax.md §0): every row, the mistakes of §0.1,
accessory charges following their goods (§10), the OSS threshold (§3.2) and stamp duty (§8)."""

import itertools
from datetime import date
from decimal import Decimal as D

import pytest

from taxes import wording
from taxes.errors import TreatmentUnsupported
from taxes.thresholds import oss_applies, oss_crossing_sale, stamp_duty_due
from taxes.treatment import OssAmounts, Treatment, TreatmentCode, decide_treatment, split_accessory

ON = date(2026, 3, 5)


def decide(goods="ordinary", region="domestic", buyer="consumer", vies=False, dest="IT", regime="ordinary",
           oss=False, natura="N3.2", on=ON, crossing=False) -> Treatment:  # fmt: skip
    return decide_treatment(
        goods=goods,
        region=region,
        buyer=buyer,
        vies_verified=vies,
        destination_country=dest,
        seller_regime=regime,
        oss=oss,
        oss_natura=natura,
        on=on,
        oss_by_crossing=crossing,
    )


# (facts, code, rate, natura, note, counts for stamp duty, rule)
ROWS = [
    ({}, "domestic", "22", None, "", False, "§0 row 1"),
    ({"buyer": "business"}, "domestic", "22", None, "", False, "§0 row 2"),
    ({"goods": "margin"}, "margin", "0", "N5", wording.MARGIN, False, "§0 row 3"),
    ({"goods": "margin", "buyer": "business"}, "margin", "0", "N5", wording.MARGIN, False, "§0 row 3"),
    ({"region": "eu", "dest": "DE", "buyer": "business", "vies": True}, "eu_b2b", "0", "N3.2", wording.EU_B2B, False,
     "§0 row 4"),
    ({"region": "eu", "dest": "DE"}, "eu_b2c_italian_vat", "22", None, "", False, "§0 row 5"),
    ({"region": "eu", "dest": "DE", "buyer": "business"}, "eu_b2c_italian_vat", "22", None, "", False, "§0 row 5"),
    ({"region": "eu", "dest": "DE", "oss": True}, "oss", "0", "N3.2",
     "Operazione soggetta a IVA nello Stato di destinazione – regime OSS, aliquota 19 %", False, "§0 row 6"),
    ({"region": "eu", "dest": "FR", "oss": True, "natura": "N7"}, "oss", "0", "N7",
     "Operazione soggetta a IVA nello Stato di destinazione – regime OSS, aliquota 20 %", False, "§0 row 6"),
    ({"region": "eu", "dest": "AT", "buyer": "business", "oss": True}, "oss", "0", "N3.2",
     "Operazione soggetta a IVA nello Stato di destinazione – regime OSS, aliquota 20 %", False, "§0 row 6"),
    ({"goods": "margin", "region": "eu", "dest": "DE"}, "margin", "0", "N5", wording.MARGIN, False, "§0 row 7"),
    ({"goods": "margin", "region": "eu", "dest": "DE", "buyer": "business", "vies": True, "oss": True}, "margin", "0",
     "N5", wording.MARGIN, False, "§0 row 7"),
    ({"region": "export", "dest": "GB"}, "export", "0", "N3.1", wording.EXPORT, False, "§0 row 8"),
    ({"region": "export", "dest": "US", "buyer": "business"}, "export", "0", "N3.1", wording.EXPORT, False, "§0 row 8"),
    ({"goods": "margin", "region": "export", "dest": "CH"}, "export", "0", "N3.1", wording.EXPORT, False, "§0 row 9"),
    ({"region": "export", "dest": "IT"}, "export", "0", "N3.1", wording.EXPORT, False, "§0 row 8"),  # Livigno
    ({"regime": "forfettario"}, "forfettario", "0", "N2.2", wording.FORFETTARIO, True, "§13"),
    ({"regime": "forfettario", "region": "eu", "dest": "DE", "oss": True}, "forfettario", "0", "N2.2",
     wording.FORFETTARIO, True, "§13"),
    ({"regime": "forfettario", "region": "export", "dest": "US", "goods": "margin"}, "forfettario", "0", "N2.2",
     wording.FORFETTARIO, True, "§13"),
]  # fmt: skip


@pytest.mark.parametrize(("facts", "code", "rate", "natura", "note", "stamp", "rule"), ROWS)
def test_decision_table(facts, code, rate, natura, note, stamp, rule):
    treatment = decide(**facts)
    assert (treatment.code, treatment.vat_rate, treatment.natura) == (code, D(rate), natura)
    assert (treatment.legal_note, treatment.counts_for_stamp_duty, treatment.rule) == (note, stamp, rule)


@pytest.mark.parametrize(
    ("facts", "doubt"),
    [
        ({"region": "eu", "dest": "DE", "buyer": "business", "vies": True}, "§8 (Q5)"),
        ({"goods": "margin", "region": "export", "dest": "CH"}, "§5.4"),
        ({"region": "export", "dest": "CH"}, "§4.1"),
        ({"goods": "margin"}, "§5.2"),
        ({"regime": "forfettario", "region": "eu", "dest": "DE"}, "§13 (Q10)"),
        ({"region": "eu", "dest": "DE", "oss": True, "crossing": True}, "§3.2"),
    ],
)
def test_unconfirmed_points_are_flagged_on_the_treatment(facts, doubt):
    assert any(doubt in point for point in decide(**facts).unconfirmed)


def test_settled_rows_carry_no_doubt():
    assert decide().unconfirmed == ()
    assert decide(region="eu", dest="DE", oss=True).unconfirmed == ()
    assert decide(regime="forfettario").unconfirmed == (
        "docs/tax.md §12.2: the forfettario wording",
    )  # domestic forfettario: only the wording is to confirm


# --- the mistakes to look for (docs/tax.md §0.1) ----------------------------------------------


@pytest.mark.parametrize(
    ("buyer", "vies", "oss", "natura"), list(itertools.product(["consumer", "business"], [False, True], [False, True],
                                                                ["N3.2", "N7"]))
)  # fmt: skip
def test_mistake_1_margin_goods_to_the_eu_are_always_n5_never_oss_or_art_41(buyer, vies, oss, natura):
    treatment = decide(goods="margin", region="eu", dest="FR", buyer=buyer, vies=vies, oss=oss, natura=natura)
    assert (treatment.code, treatment.natura, treatment.destination_rate) == (TreatmentCode.MARGIN, "N5", None)


def test_mistake_4_no_zero_rating_without_a_vies_valid_number():
    assert decide(region="eu", dest="DE", buyer="business", vies=False).vat_rate == D("22")
    assert decide(region="eu", dest="DE", buyer="consumer", vies=True).code == TreatmentCode.EU_B2C_ITALIAN_VAT


@pytest.mark.parametrize("facts", [{"region": "export", "dest": "US"}, {"region": "eu", "dest": "DE", "buyer":
                                   "business", "vies": True}])  # fmt: skip
def test_mistake_5_shipping_follows_exports_and_eu_b2b_goods_never_22(facts):
    goods = decide(**facts)
    ((shipping, amount),) = split_accessory(D("12.50"), [(goods, D("40.00"))])
    assert shipping is goods and shipping.vat_rate == 0 and amount == D("12.50")


# --- OSS --------------------------------------------------------------------------------------


def test_oss_uses_the_destination_rate_of_the_sale_date():
    assert decide(region="eu", dest="FI", oss=True, on=date(2024, 8, 31)).destination_rate == D("24")
    assert decide(region="eu", dest="FI", oss=True, on=date(2024, 9, 1)).destination_rate == D("25.5")


def test_oss_states_the_destination_vat_inside_the_gross_amount():
    treatment = decide(region="eu", dest="DE", oss=True)
    assert treatment.oss_amounts(D("119.00")) == OssAmounts(taxable=D("100.00"), vat=D("19.00"))
    assert treatment.oss_amounts(D("10.00")) == OssAmounts(taxable=D("8.40"), vat=D("1.60"))
    assert treatment.note_for(D("10.00")) == (
        "Operazione soggetta a IVA nello Stato di destinazione – regime OSS, aliquota 19 % (IVA € 1,60)"
    )
    finnish = decide(region="eu", dest="FI", oss=True)
    assert "aliquota 25,5 %" in finnish.note_for(D("1255.00"))
    assert "(IVA € 255,00)" in finnish.note_for(D("1255.00"))


def test_non_oss_treatments_print_their_fixed_note():
    export = decide(region="export", dest="US")
    assert export.note_for(D("99.00")) == wording.EXPORT
    with pytest.raises(ValueError):
        export.oss_amounts(D("1.00"))


@pytest.mark.parametrize(("country", "destination"), [("GB", "XI"), ("XI", "XI"), ("EL", "GR"), ("MC", "FR")])
def test_destination_codes_are_normalised(country, destination):
    assert decide(region="eu", dest=country, oss=True).destination_country == destination


def test_greek_and_northern_irish_oss_rates():
    assert decide(region="eu", dest="EL", oss=True).destination_rate == D("24")
    assert decide(region="eu", dest="GB", oss=True).destination_rate == D("20")


# --- out of the table -------------------------------------------------------------------------


@pytest.mark.parametrize("country", ["SM", "VA"])
def test_san_marino_and_the_vatican_are_held_not_guessed(country):
    with pytest.raises(TreatmentUnsupported) as raised:
        decide(region="export", dest=country, buyer="business")
    assert "art. 71" in raised.value.message


@pytest.mark.parametrize(
    "facts",
    [{"region": "nowhere"}, {"goods": "new"}, {"buyer": "robot"}, {"regime": "minimi"}, {"natura": "N6.1"},
     {"region": "eu", "dest": "IT"}],
)  # fmt: skip
def test_values_outside_the_vocabulary_are_refused(facts):
    with pytest.raises(ValueError):
        decide(**facts)


# --- accessory charges (§10) --------------------------------------------------------------------


def test_shipping_of_a_mixed_order_is_split_pro_rata_to_the_cent():
    standard, margin = decide(), decide(goods="margin")
    shares = split_accessory(D("10.00"), [(standard, D("20.00")), (margin, D("10.00")), (standard, D("5.00"))])
    assert shares == [(standard, D("7.14")), (margin, D("2.86"))]  # goods of one treatment pooled: 25 and 10


def test_a_zero_share_is_left_out_and_goods_are_required():
    standard, margin = decide(), decide(goods="margin")
    assert split_accessory(D("5.00"), [(standard, D("30.00")), (margin, D("0"))]) == [(standard, D("5.00"))]
    with pytest.raises(ValueError):
        split_accessory(D("5.00"), [])


# --- the OSS threshold (§3.2) -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("opted_in", "current", "previous", "sale", "applies", "crossing"),
    [
        (False, "0", "0", "50", False, False),
        (False, "9950.00", "0", "50.00", False, False),  # exactly 10,000 is not over it
        (False, "9950.00", "0", "50.01", True, True),  # the crossing sale [UNCONFIRMED]
        (False, "10000.01", "0", "1", True, False),
        (False, "0", "10000.01", "1", True, False),  # last year counts too
        (False, "0", "10000.00", "1", False, False),
        (True, "0", "0", "1", True, False),  # opted in
    ],
)
def test_oss_threshold(opted_in, current, previous, sale, applies, crossing):
    facts = {
        "opted_in": opted_in,
        "eu_b2c_current_year": D(current),
        "eu_b2c_previous_year": D(previous),
        "this_sale": D(sale),
    }
    assert oss_applies(**facts) is applies
    assert oss_crossing_sale(**facts) is crossing


# --- stamp duty (§8) ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "due"),
    [
        ([({"regime": "forfettario"}, "77.48")], True),
        ([({"regime": "forfettario"}, "77.47")], False),
        ([({"regime": "forfettario"}, "50.00"), ({"regime": "forfettario"}, "27.48")], True),
        ([({"region": "export", "dest": "US"}, "500.00")], False),  # exports exempt
        ([({"goods": "margin"}, "500.00")], False),  # margin exempt
        ([({"region": "eu", "dest": "DE", "oss": True}, "500.00")], False),  # OSS exempt
        ([({"region": "eu", "dest": "DE", "buyer": "business", "vies": True}, "500.00")], False),  # art. 41
        ([({}, "500.00")], False),  # VAT applied
        ([({}, "500.00"), ({"goods": "margin"}, "100.00")], False),
    ],
)
def test_stamp_duty(lines, due):
    assert stamp_duty_due([(decide(**facts), D(amount)) for facts, amount in lines]) is due
