"""Dated EU standard VAT rates (taxes/vat_rates.py, docs/tax.md §11): every change pinned on both
sides of its date, and every member state plus Northern Ireland present."""

from datetime import date
from decimal import Decimal as D

import pytest

from taxes.errors import TreatmentUnsupported
from taxes.vat_rates import STANDARD_RATES, standard_rate

EU_27 = {
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
    "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
}  # fmt: skip


def test_every_member_state_and_northern_ireland_has_a_rate():
    assert set(STANDARD_RATES) == EU_27 | {"XI"}


@pytest.mark.parametrize(
    ("country", "day", "rate"),
    [
        # Estonia 20 → 22 on 2024-01-01 → 24 on 2025-07-01
        ("EE", date(2023, 12, 31), "20"),
        ("EE", date(2024, 1, 1), "22"),
        ("EE", date(2025, 6, 30), "22"),
        ("EE", date(2025, 7, 1), "24"),
        # Finland 24 → 25.5 on 2024-09-01
        ("FI", date(2024, 8, 31), "24"),
        ("FI", date(2024, 9, 1), "25.5"),
        # Slovakia 20 → 23 on 2025-01-01
        ("SK", date(2024, 12, 31), "20"),
        ("SK", date(2025, 1, 1), "23"),
        # Romania 19 → 21 on 2025-08-01
        ("RO", date(2025, 7, 31), "19"),
        ("RO", date(2025, 8, 1), "21"),
        # Luxembourg 16 during 2023 only
        ("LU", date(2022, 12, 31), "17"),
        ("LU", date(2023, 1, 1), "16"),
        ("LU", date(2023, 12, 31), "16"),
        ("LU", date(2024, 1, 1), "17"),
        # Ireland 21 from 2020-09-01 to 2021-02-28
        ("IE", date(2020, 8, 31), "23"),
        ("IE", date(2020, 9, 1), "21"),
        ("IE", date(2021, 2, 28), "21"),
        ("IE", date(2021, 3, 1), "23"),
    ],
)
def test_each_rate_change_on_both_sides_of_its_date(country, day, rate):
    assert standard_rate(country, day) == D(rate)


@pytest.mark.parametrize(
    ("country", "rate"),
    [("DE", "19"), ("FR", "20"), ("IT", "22"), ("HU", "27"), ("EL", "24"), ("gr", "24"), ("XI", "20"), ("MC", "20")],
)
def test_current_rates_and_aliases(country, rate):
    assert standard_rate(country, date(2026, 11, 30)) == D(rate)


@pytest.mark.parametrize("country", ["GB", "CH", "US", "", "SM"])
def test_countries_outside_the_eu_vat_area_have_no_destination_rate(country):
    with pytest.raises(TreatmentUnsupported):
        standard_rate(country, date(2026, 1, 1))


def test_periods_of_each_country_do_not_overlap_or_leave_gaps():
    for country, periods in STANDARD_RATES.items():
        assert periods[0][0] is None and periods[-1][1] is None, country
        for (_, end, _), (start, _, _) in zip(periods, periods[1:], strict=False):
            assert end is not None and start is not None
            assert (start - end).days == 1, country
