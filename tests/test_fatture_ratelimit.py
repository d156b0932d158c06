"""The RateLimit-* header parser takes outside data: it never raises, and anything that is not a
plain non-negative integer counts as absent (None), so garbage can never raise our budget."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from requests.structures import CaseInsensitiveDict

from fatture.ratelimit import RateLimits, parse_count, rate_limits

HEADERS = ("RateLimit-HourlyRemaining", "RateLimit-HourlyLimit", "RateLimit-MonthlyRemaining", "RateLimit-MonthlyLimit")
anything = st.one_of(
    st.none(),
    st.text(),
    st.binary(),
    st.integers(),
    st.floats(allow_nan=True),
    st.lists(st.text()),
    st.dictionaries(st.text(), st.text()),
)


@given(anything)
def test_parse_count_never_raises_and_answers_a_non_negative_int_or_none(value):
    parsed = parse_count(value)
    assert parsed is None or (type(parsed) is int and parsed >= 0)


@given(st.text())
def test_only_ascii_digit_strings_are_numbers(text):
    parsed = parse_count(text)
    stripped = text.strip()
    is_number = bool(stripped) and len(stripped) <= 12 and all(c in "0123456789" for c in stripped)
    assert (parsed is not None) == is_number
    if is_number:
        assert parsed == int(stripped)


@given(st.integers(min_value=0, max_value=10**12 - 1), st.sampled_from(["", " ", "\t"]))
def test_real_counts_round_trip(count, padding):
    assert parse_count(f"{padding}{count}{padding}") == count


@given(st.dictionaries(st.sampled_from(HEADERS) | st.text(), anything | st.text(alphabet="0123456789-., xe")))
def test_rate_limits_never_raises_on_any_headers(headers):
    limits = rate_limits(headers)
    assert isinstance(limits, RateLimits)
    for value in (limits.hourly_remaining, limits.hourly_limit, limits.monthly_remaining, limits.monthly_limit):
        assert value is None or value >= 0


@pytest.mark.parametrize(
    "garbage", ["-1", "1.5", "1e3", "", "   ", "١٢", "１０", "²", "12 34", "0x10", "9" * 13, "NaN", "∞"]
)
def test_garbage_is_none(garbage):
    assert parse_count(garbage) is None


def test_headers_are_read_case_insensitively_like_requests_does():
    headers = CaseInsensitiveDict({"ratelimit-monthlyremaining": "1430", "RATELIMIT-MONTHLYLIMIT": "40000"})
    assert rate_limits(headers) == RateLimits(monthly_remaining=1430, monthly_limit=40000)
