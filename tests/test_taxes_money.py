"""Cent-exact splits (taxes/money.py) and conversion of invoice lines to EUR (taxes/ecb.py):
every split adds up to its total to the cent, and no line moves more than a cent from its exact
value."""

from datetime import date
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taxes.ecb import RateQuote, amounts_to_eur, to_eur
from taxes.money import allocate_cents, cents, split_pro_rata

USD = RateQuote("USD", D("1.0850"), date(2026, 3, 5), "ECB reference rate of 2026-03-05 (daily feed)")

money_values = st.decimals(min_value=D("-5000"), max_value=D("50000"), places=2, allow_nan=False)
positive_money = st.decimals(min_value=D("0"), max_value=D("50000"), places=2, allow_nan=False)
rates = st.decimals(min_value=D("0.0001"), max_value=D("30000"), places=4, allow_nan=False).filter(lambda r: r > 0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(D("1.005"), D("1.01")), (D("1.004"), D("1.00")), (D("-1.005"), D("-1.01")), (D("2.5"), D("2.50"))],
)
def test_cents_round_half_up(value, expected):
    assert cents(value) == expected


def test_to_eur_divides_by_the_rate_half_up():
    assert to_eur(D("100.00"), USD) == D("92.17")  # 92.1658...
    assert to_eur(D("0.01"), USD) == D("0.01")


def test_eur_quote_leaves_amounts_unchanged():
    eur = RateQuote("EUR", D("1"), date(2026, 3, 5), "EUR")
    assert amounts_to_eur([D("10.00"), D("2.35")], eur) == [D("10.00"), D("2.35")]


def test_converted_lines_add_up_to_the_converted_total():
    lines = [D("33.33"), D("33.33"), D("33.34"), D("4.99")]
    converted = amounts_to_eur(lines, USD)
    assert sum(converted) == to_eur(sum(lines), USD)


def test_split_pro_rata_gives_the_largest_remainder_the_extra_cent():
    assert split_pro_rata(D("10.00"), [D("1"), D("1"), D("1")]) == [D("3.34"), D("3.33"), D("3.33")]
    assert split_pro_rata(D("5.00"), [D("0"), D("0")]) == [D("2.50"), D("2.50")]


@pytest.mark.parametrize("weights", [[], [D("-1"), D("2")]])
def test_split_pro_rata_refuses_nonsense_weights(weights):
    with pytest.raises(ValueError):
        split_pro_rata(D("1.00"), weights)


def test_allocate_refuses_a_total_that_is_not_cents():
    with pytest.raises(ValueError):
        allocate_cents(D("1.001"), [D("1.001")])


@settings(database=None, deadline=None)
@given(lines=st.lists(money_values, min_size=1, max_size=12), rate=rates)
def test_converted_lines_always_sum_to_the_converted_total(lines, rate):
    quote = RateQuote("XXX", rate, date(2026, 3, 5), "test")
    converted = amounts_to_eur(lines, quote)
    assert sum(converted) == to_eur(sum(lines), quote)
    for original, line in zip(lines, converted, strict=True):
        assert abs(line - original / rate) < D("0.01") + D("0.005")
        assert line == cents(line)


@settings(database=None, deadline=None)
@given(amount=money_values, weights=st.lists(positive_money, min_size=1, max_size=10))
def test_pro_rata_split_always_sums_to_the_amount(amount, weights):
    shares = split_pro_rata(amount, weights)
    assert sum(shares) == amount
    total = sum(weights)
    for weight, share in zip(weights, shares, strict=True):
        exact = amount * weight / total if total else amount / len(weights)
        assert abs(share - exact) < D("0.01")


def test_the_conversion_note_states_the_original_total_and_the_rate_in_italian():
    from taxes.wording import conversion_note

    assert conversion_note(D("1234.5"), "USD", USD.rate, USD.rate_date) == (
        "Importo originale 1.234,50 USD, convertito al cambio BCE del 05/03/2026: 1 EUR = 1,0850 USD"
    )
