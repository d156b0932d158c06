"""The ECB feed parser (taxes/ecb_feed.py): typed days or a list of problems, never an exception,
and never a partial publication (a day with a bad value is dropped whole)."""

from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taxes.ecb_feed import MAX_FEED_BYTES, parse_ecb_feed

DATA = Path(__file__).parent / "data" / "ecb"
HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" '
    'xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref"><gesmes:subject>Reference rates</gesmes:subject>'
    "<Cube>"
)
TAIL = "</Cube></gesmes:Envelope>"


def feed(days: dict[str, dict[str, str]]) -> bytes:
    """An ECB feed in the published shape: newest publication first."""
    body = "".join(
        f"<Cube time='{day}'>" + "".join(f"<Cube currency='{c}' rate='{r}'/>" for c, r in rates.items()) + "</Cube>"
        for day, rates in sorted(days.items(), reverse=True)
    )
    return (HEAD + body + TAIL).encode()


def test_daily_feed_fixture_parses_into_one_publication():
    parsed = parse_ecb_feed((DATA / "eurofxref-daily.xml").read_bytes())
    assert parsed.problems == ()
    (day,) = parsed.days
    assert day.day == date(2026, 11, 27)
    assert day.previous_day is None
    assert day.rates["USD"] == D("1.1172")
    assert day.rates["ISK"] == D("136.00")
    assert len(day.rates) == 29


def test_history_feed_days_come_oldest_first_each_linked_to_the_one_before():
    parsed = parse_ecb_feed(
        feed({"2026-03-06": {"USD": "1.09"}, "2026-03-04": {"USD": "1.08"}, "2026-03-09": {"USD": "1.10"}})
    )
    assert [(d.day.isoformat(), d.previous_day) for d in parsed.days] == [
        ("2026-03-04", None),
        ("2026-03-06", date(2026, 3, 4)),
        ("2026-03-09", date(2026, 3, 6)),
    ]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "not XML"),
        (b"<html><body>Service unavailable</body></html>", "no publication found"),
        (b"\xff\xfe garbage", "not XML"),
        (feed({"2026-03-05": {"USD": "abc"}}), "unreadable rate 'abc' for USD"),
        (feed({"2026-03-05": {"USD": "-1.08"}}), "unreadable rate '-1.08'"),
        (feed({"2026-03-05": {"USD": "0"}}), "unreadable rate '0'"),
        (feed({"2026-03-05": {"USD": "NaN"}}), "unreadable rate 'NaN'"),
        (feed({"2026-03-05": {"USD": "Infinity"}}), "unreadable rate 'Infinity'"),
        (feed({"2026-03-05": {"usd": "1.08"}}), "unreadable currency code 'usd'"),
        (feed({"2026-03-05": {}}), "no rates"),
        (feed({"2026-13-05": {"USD": "1.08"}}), "unreadable date '2026-13-05'"),
        (feed({"05/03/2026": {"USD": "1.08"}}), "unreadable date '05/03/2026'"),
        (b"x" * (MAX_FEED_BYTES + 1), "larger than"),
    ],
)
def test_malformed_feeds_give_problems_not_exceptions(content, problem):
    parsed = parse_ecb_feed(content)
    assert parsed.days == ()
    assert any(problem in p for p in parsed.problems), parsed.problems


def test_a_day_with_one_bad_rate_is_dropped_whole_and_its_neighbours_are_not_linked_across_it():
    parsed = parse_ecb_feed(
        feed(
            {
                "2026-03-04": {"USD": "1.08", "GBP": "0.85"},
                "2026-03-05": {"USD": "1.09", "GBP": "oops"},
                "2026-03-06": {"USD": "1.10", "GBP": "0.86"},
            }
        )
    )
    assert [d.day.day for d in parsed.days] == [4, 6]
    assert parsed.days[1].previous_day == date(2026, 3, 5)  # the dropped day still sits between
    assert parsed.problems == ("2026-03-05: unreadable rate 'oops' for GBP",)


def test_a_currency_listed_twice_or_a_day_listed_twice_drops_that_day():
    twice = HEAD + "<Cube time='2026-03-05'><Cube currency='USD' rate='1.08'/><Cube currency='USD' rate='1.09'/></Cube>"
    assert parse_ecb_feed((twice + TAIL).encode()).days == ()
    dup_day = HEAD + "<Cube time='2026-03-05'><Cube currency='USD' rate='1.08'/></Cube>" * 2 + TAIL
    parsed = parse_ecb_feed(dup_day.encode())
    assert parsed.days == ()
    assert "2026-03-05: listed twice" in parsed.problems


def test_an_unreadable_date_breaks_every_link_of_the_feed():
    parsed = parse_ecb_feed(
        feed({"2026-03-04": {"USD": "1.08"}, "garbage": {"USD": "1.09"}, "2026-03-06": {"USD": "1.10"}})
    )
    assert [d.previous_day for d in parsed.days] == [None, None]


def test_entities_are_not_expanded():
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "1.0850"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b"<r><Cube><Cube time='2026-03-05'><Cube currency='USD' rate='&b;'/></Cube></Cube></r>"
    )
    parsed = parse_ecb_feed(bomb)
    assert all(rate != D("1.0850") for d in parsed.days for rate in d.rates.values())


# --- properties --------------------------------------------------------------------------------

currencies = st.from_regex(r"[A-Z]{3}", fullmatch=True)
good_rates = st.decimals(min_value=D("0.0001"), max_value=D("99999"), places=4, allow_nan=False).filter(lambda r: r > 0)
days = st.dates(min_value=date(1999, 1, 4), max_value=date(2099, 12, 31))
junk_text = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=12).map(
    lambda s: s.replace("'", "").replace("&", "").replace("<", "")
)


@settings(database=None, deadline=None)
@given(content=st.binary(max_size=2000))
def test_any_bytes_never_raise(content):
    parsed = parse_ecb_feed(content)
    assert parsed.days or parsed.problems


@settings(database=None, deadline=None)
@given(
    publications=st.dictionaries(
        days.map(date.isoformat), st.dictionaries(currencies, good_rates, min_size=1, max_size=5), max_size=6
    )
)
def test_well_formed_feeds_round_trip_exactly(publications):
    parsed = parse_ecb_feed(feed({d: {c: str(r) for c, r in rates.items()} for d, rates in publications.items()}))
    assert parsed.problems == () or not publications
    assert {d.day.isoformat(): dict(d.rates) for d in parsed.days} == publications
    for earlier, later in zip(parsed.days, parsed.days[1:], strict=False):
        assert later.previous_day == earlier.day


@settings(database=None, deadline=None)
@given(
    publications=st.dictionaries(
        st.one_of(days.map(date.isoformat), junk_text),
        st.dictionaries(st.one_of(currencies, junk_text), st.one_of(good_rates.map(str), junk_text), max_size=4),
        max_size=5,
    )
)
def test_malformed_values_never_raise_and_never_yield_a_bad_rate(publications):
    parsed = parse_ecb_feed(feed(publications))
    for day in parsed.days:
        assert day.rates
        for currency, rate in day.rates.items():
            assert len(currency) == 3 and currency.isupper()
            assert rate.is_finite() and rate > 0
        assert day.day.isoformat() in {key.strip() for key in publications}
