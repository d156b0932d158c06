"""The credit-note plan (invoicing/creditplan.py): pure, no database. Which lines a refund reverses,
with the original's VAT, pro rata within each part, never more than is left, to the cent."""

from datetime import date
from decimal import Decimal as D

import pytest

from invoicing.creditplan import (
    Basis,
    Credited,
    CreditPlanError,
    CreditRequest,
    OriginalLine,
    PartAmounts,
    check_credit_date,
    credit_date,
    credit_note_text,
    left_on_lines,
    left_per_part,
    plan_credit,
    pro_rata_proposal,
    refund_still_due,
)


def line(position, slot, gross, *, original=None, vat_id=0, rate="22", natura="", treatment="domestic"):
    return OriginalLine(
        position=position,
        slot=slot,
        product_id=1000 + position,
        product_name=f"Product {position}",
        description=f"{slot} line",
        vat_id=vat_id,
        vat_rate=D(rate),
        natura=natura,
        treatment=treatment,
        gross=D(gross),
        original_gross=D(original if original is not None else gross),
    )


# An invoice of a mixed order: standard and margin goods, shipping split over both treatments.
MIXED = [
    line(0, "std_domestic", "60.00"),
    line(1, "margin_domestic", "40.00", vat_id=66, rate="0", natura="N5", treatment="margin"),
    line(2, "shipping", "6.00"),
    line(3, "shipping", "4.00", vat_id=66, rate="0", natura="N5", treatment="margin"),
    line(4, "handling", "1.50"),
]


def amounts(**parts):
    return CreditRequest(Basis.AMOUNTS, PartAmounts(**{k: D(v) for k, v in parts.items()}))


def test_a_full_credit_reverses_every_line_with_its_own_vat_and_natura():
    plan = plan_credit(MIXED, {}, CreditRequest(Basis.FULL))

    assert [(cl.position, cl.gross, cl.vat_id, cl.natura, cl.treatment) for cl in plan.lines] == [
        (0, D("60.00"), 0, "", "domestic"),
        (1, D("40.00"), 66, "N5", "margin"),
        (2, D("6.00"), 0, "", "domestic"),
        (3, D("4.00"), 66, "N5", "margin"),
        (4, D("1.50"), 0, "", "domestic"),
    ]
    assert plan.total == D("111.50") and plan.full


def test_shipping_refund_is_shared_over_its_two_treatments_pro_rata():
    plan = plan_credit(MIXED, {}, amounts(shipping="5.00"))
    assert [(cl.position, cl.gross) for cl in plan.lines] == [(2, D("3.00")), (3, D("2.00"))]
    assert plan.total == D("5.00") and not plan.full


def test_shares_add_up_to_the_cent():
    lines = [line(0, "shipping", "3.33"), line(1, "shipping", "3.33"), line(2, "shipping", "3.34")]
    plan = plan_credit(lines, {}, amounts(shipping="1.00"))
    assert sum(cl.gross for cl in plan.lines) == D("1.00")
    assert all(cl.gross <= D("0.34") for cl in plan.lines)


def test_goods_follow_the_refunded_items_kind_when_known():
    request = CreditRequest(Basis.AMOUNTS, PartAmounts(goods=D("10.00")), goods_weights={"margin": D("10")})
    plan = plan_credit(MIXED, {}, request)
    assert [(cl.position, cl.gross) for cl in plan.lines] == [(1, D("10.00"))]


def test_goods_weights_never_take_more_than_is_left_on_a_kind():
    request = CreditRequest(Basis.AMOUNTS, PartAmounts(goods=D("50.00")), goods_weights={"margin": D("50")})
    plan = plan_credit(MIXED, {}, request)
    assert [(cl.position, cl.gross) for cl in plan.lines] == [(0, D("30.00")), (1, D("20.00"))]


def test_what_earlier_credit_notes_took_is_not_left():
    credited = {2: Credited(D("6.00"), D("6.00")), 3: Credited(D("1.00"), D("1.00"))}
    left = left_on_lines(MIXED, credited)
    assert left_per_part(left) == PartAmounts(goods=D("100.00"), shipping=D("3.00"), handling=D("1.50"))
    plan = plan_credit(MIXED, credited, amounts(shipping="3.00"))
    assert [(cl.position, cl.gross) for cl in plan.lines] == [(3, D("3.00"))]


def test_asking_more_than_is_left_on_a_part_is_refused():
    with pytest.raises(CreditPlanError) as refused:
        plan_credit(MIXED, {}, amounts(shipping="10.01"))
    assert refused.value.code == "credit_note_exceeds_invoice"
    assert refused.value.params["left"] == "10.00"


def test_a_full_credit_after_a_partial_one_takes_the_rest_and_is_not_a_total_storno():
    credited = {0: Credited(D("20.00"), D("20.00"))}
    plan = plan_credit(MIXED, credited, CreditRequest(Basis.FULL))
    assert plan.total == D("91.50") and not plan.full
    assert [cl.gross for cl in plan.lines if cl.position == 0] == [D("40.00")]


def test_nothing_left_is_its_own_outcome():
    credited = {ln.position: Credited(ln.gross, ln.original_gross) for ln in MIXED}
    with pytest.raises(CreditPlanError) as nothing:
        plan_credit(MIXED, credited, CreditRequest(Basis.FULL))
    assert nothing.value.code == "credit_note_nothing_left"


def test_a_cumulative_refund_credits_only_what_earlier_credit_notes_did_not():
    credited = {0: Credited(D("10.00"), D("10.00"))}
    request = CreditRequest(Basis.CUMULATIVE, PartAmounts(goods=D("25.00"), shipping=D("2.00")))
    plan = plan_credit(MIXED, credited, request)
    assert plan.total == D("17.00")
    assert sum(cl.gross for cl in plan.lines if cl.slot == "shipping") == D("2.00")


def test_a_cumulative_refund_split_otherwise_than_earlier_credits_is_a_question():
    with pytest.raises(CreditPlanError) as question:
        refund_still_due(PartAmounts(shipping=D("5.00")), PartAmounts(goods=D("5.00")))
    assert question.value.code == "credit_note_split_unknown"


def test_a_non_eur_invoice_is_credited_at_its_own_rate_and_a_full_refund_is_exact():
    # 100.00 USD invoiced as 92.59 EUR (rate 1.08), shipping 10.00 USD as 9.26 EUR.
    lines = [line(0, "std_export", "83.33", original="90.00"), line(1, "shipping", "9.26", original="10.00")]
    partial = plan_credit(lines, {}, amounts(goods="45.00"), fx_rate=D("1.08"))
    assert partial.total == D("41.67") and partial.original_total == D("45.00")

    everything = plan_credit(lines, {}, amounts(goods="90.00", shipping="10.00"), fx_rate=D("1.08"))
    assert everything.total == D("92.59") and everything.full


def test_negative_amounts_are_refused():
    with pytest.raises(CreditPlanError) as refused:
        plan_credit(MIXED, {}, amounts(goods="-1.00", shipping="2.00"))
    assert refused.value.code == "credit_note_amount_invalid"


def test_an_invoice_without_lines_cannot_be_planned():
    with pytest.raises(CreditPlanError) as refused:
        plan_credit([], {}, CreditRequest(Basis.FULL))
    assert refused.value.code == "credit_note_no_lines"


def test_pro_rata_proposal_follows_what_is_left_and_never_exceeds_it():
    left = PartAmounts(goods=D("80.00"), shipping=D("20.00"))
    assert pro_rata_proposal(D("10.00"), left) == PartAmounts(goods=D("8.00"), shipping=D("2.00"))
    assert pro_rata_proposal(D("500.00"), left) == left


def test_a_credit_note_is_dated_today_and_never_before_its_invoice():
    assert credit_date(today=date(2026, 4, 1), invoice_date=date(2026, 3, 2)) == date(2026, 4, 1)
    assert credit_date(today=date(2026, 3, 1), invoice_date=date(2026, 3, 2)) == date(2026, 3, 2)
    with pytest.raises(CreditPlanError) as refused:
        check_credit_date(credit_note_date=date(2026, 3, 1), invoice_date=date(2026, 3, 2))
    assert refused.value.code == "credit_note_date_before_invoice"


def test_the_notes_name_the_original_invoice():
    assert (
        credit_note_text(invoice_number="12/A", invoice_day="02/03/2026", full=True)
        == "Nota di credito a storno totale della fattura n. 12/A del 02/03/2026."
    )
    assert "storno parziale" in credit_note_text(invoice_number="1", invoice_day="02/03/2026", full=False)
