"""The boundary parsers on their own: typed value or a problem naming the field and the value,
never an exception (no HTTP, no database)."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from freezegun import freeze_time

from marketplaces.boundary import Problems, country, currency, excerpt, integer, money, obj, order_ref, seq, text
from marketplaces.moments import epoch_moment, iso_moment
from marketplaces.rawpayload import bounded_raw, json_safe

D = Decimal


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10.1210", D("10.1210")),
        (" 6.90 ", D("6.9000")),
        ("0.12345", D("0.1235")),  # 4 places, half up
        (12, D("12.0000")),
        (0.15425, D("0.1543")),  # a JSON number, read through its text
        ("-3.00", D("-3.0000")),
        ("99999999.9999", D("99999999.9999")),
        (None, D("0")),
        ("", D("0")),
    ],
)
def test_money_reads_amounts_as_decimal(value, expected):
    problems = Problems()

    assert money(value, "cost.subtotal", problems) == expected
    assert problems.messages == [] and not problems.blocking


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("1e400", "cost.subtotal is out of range ('1e400')"),
        (float("inf"), "cost.subtotal is not a number (Infinity)"),
        (float("nan"), "cost.subtotal is not a number (NaN)"),
        (10**10, "cost.subtotal is out of range (10000000000)"),
        ("100000000", "cost.subtotal is out of range ('100000000')"),
        (10**400, "cost.subtotal is not a number (1000000000000000000000000000000000000000…)"),
        ("NaN", "cost.subtotal is not a number ('NaN')"),
        ("Infinity", "cost.subtotal is not a number ('Infinity')"),
        ("1_000", "cost.subtotal is not a number ('1_000')"),
        ("1,50", "cost.subtotal is not a number ('1,50')"),
        ("€ 12", "cost.subtotal is not a number ('€ 12')"),
        (True, "cost.subtotal is not a number (true)"),
        ({"amount": "1"}, 'cost.subtotal is not a number ({"amount": "1"})'),
        (["1"], 'cost.subtotal is not a number (["1"])'),
        ("1e-99999", "cost.subtotal is not a number ('1e-99999')"),
    ],
)
def test_money_refuses_what_is_no_sane_amount_with_a_blocking_problem(value, said):
    problems = Problems()

    assert money(value, "cost.subtotal", problems) == 0
    assert problems.blocking and said in problems.messages[0]


@pytest.mark.parametrize(
    ("value", "expected", "blocking"),
    [("20", 20, False), (20, 20, False), (20.0, 20, False), ("-1", 0, True), ("2.5", 0, True), (10**7, 0, True)],
)
def test_integer_reads_quantities_within_range(value, expected, blocking):
    problems = Problems()

    assert integer(value, "Lot 1 quantity", problems) == expected
    assert problems.blocking is blocking


def test_text_removes_control_characters_and_says_so_keeping_newlines_only_where_asked():
    problems = Problems()

    street = text("Via\x00 Roma\x07 1\u202e", "ship_street_1", problems)
    full = text("Via Roma 1\r\n00184 Roma\x00\rItaly", "shipping.address.full", problems, multiline=True)
    single = text("Via Roma 1\nScala B", "address1", problems)

    assert street == "Via Roma 1" and full == "Via Roma 1\n00184 Roma\nItaly" and single == "Via Roma 1 Scala B"
    assert "ship_street_1 contained control characters, which were removed: 'Via\\x00 Roma\\x07 1\\u202e'." in (
        problems.messages
    )
    assert not problems.blocking


def test_text_decodes_entities_cuts_long_values_and_refuses_objects():
    problems = Problems()

    assert text("Cat &amp; Mouse &#40;40570&#41;", "item.name", problems) == "Cat & Mouse (40570)"
    assert text(10115, "postal_code", problems) == "10115"
    assert text("x" * 300, "address1", problems) == "x" * 255
    assert text({"street": "Via Roma"}, "address1", problems) == ""
    assert text("\ud800lone surrogate", "name", problems) == "lone surrogate"
    said = " ".join(problems.messages)
    assert "address1 is longer than 255 characters and was cut" in said
    assert 'address1 is not text (got an object: {"street": "Via Roma"}); left empty.' in said
    assert "name contained control characters" in said


@freeze_time("2024-04-01 10:00:00")
@pytest.mark.parametrize(
    ("value", "expected", "said"),
    [
        ("2024-03-14T09:21:37.153Z", datetime(2024, 3, 14, 9, 21, 37, 153000, tzinfo=UTC), ""),
        ("2024-03-01T10:00:00+01:00", datetime(2024, 3, 1, 9, tzinfo=UTC), ""),
        ("2024-03-14T09:21:37", datetime(2024, 3, 14, 9, 21, 37, tzinfo=UTC), ""),
        ("0001-01-01T00:00:00+05:00", None, "date_ordered is not a date"),  # astimezone overflows
        ("9999-12-31T23:59:59Z", None, "date_ordered is out of range"),
        ("1999-12-31T23:59:59Z", None, "date_ordered is out of range"),
        ("2024-04-04T00:00:00Z", None, "date_ordered is out of range"),  # more than 2 days ahead
        ("yesterday", None, "date_ordered is not a date ('yesterday')"),
        (1710408097, None, "date_ordered is not a date (1710408097)"),
        ("1970-01-01T01:00:00+01:00", None, "date_ordered is missing."),
        (None, None, "date_ordered is missing."),
    ],
)
def test_iso_dates_are_read_within_a_sane_range(value, expected, said):
    problems = Problems()

    assert iso_moment(value, "date_ordered", problems, required=True) == expected
    assert (said in " ".join(problems.messages)) and (problems.blocking is bool(said))


@freeze_time("2024-04-01 10:00:00")
@pytest.mark.parametrize(
    ("value", "expected", "said"),
    [
        ("1710408097", datetime(2024, 3, 14, 9, 21, 37, tzinfo=UTC), ""),
        (1710408097, datetime(2024, 3, 14, 9, 21, 37, tzinfo=UTC), ""),
        ("0", None, ""),  # BrickOwl's "unset"
        ("99999999999", None, "updated_time is out of range ('99999999999')"),
        ("-62135596800", None, "updated_time is out of range"),
        ("9" * 40, None, "updated_time is not a date"),
        ("1.7e9", None, "updated_time is not a date ('1.7e9')"),
    ],
)
def test_epoch_dates_never_overflow(value, expected, said):
    problems = Problems()

    assert epoch_moment(value, "updated_time", problems) == expected
    assert said in " ".join(problems.messages) and not problems.blocking  # optional: a note


@pytest.mark.parametrize(
    ("value", "expected", "note", "blocking"),
    [
        ("DE", "DE", "", False),
        (" it ", "IT", "", False),
        ("UK", "GB", "", False),
        ("EL", "GR", "", False),
        ("XI", "GB", "is not an ISO code; read as GB", False),
        ("ITA", "IT", "'ITA' (country_code) is a three-letter code; read as IT (Italy)", False),
        ("DEU", "DE", "read as DE (Germany)", False),
        ("ZZ", "", "Unknown shipping country code 'ZZ' (country_code)", True),
        ("380", "", "Unknown shipping country code '380'", True),
        ("Italy", "", "Unknown shipping country code 'Italy'", True),
        (39, "", "Unknown shipping country code 39", True),
        ("", "", "The shipping address has no country (country_code).", True),
    ],
)
def test_country_is_iso_alpha2_with_the_marketplaces_aliases(value, expected, note, blocking):
    problems = Problems()

    assert country(value, "country_code", problems) == expected
    assert note in " ".join(problems.messages) and problems.blocking is blocking


def test_currency_codes_and_json_shapes():
    problems = Problems()

    assert currency(" eur ", "base_currency", problems) == "EUR"
    assert currency("EURO", "base_currency", problems) == ""
    assert obj([1], "cost", problems, required=True) == {}
    assert obj(None, "payment", problems) == {}
    assert seq("abc", "items", problems) == []
    said = " ".join(problems.messages)
    assert "The order has no valid currency (base_currency: 'EURO')." in said
    assert "cost is not an object (got a list: [1])." in said
    assert "items is not a list (got text: 'abc')." in said
    assert problems.blocking


@pytest.mark.parametrize(
    ("value", "expected"),
    [(24680135, "24680135"), ("7654321", "7654321"), (" 42 ", "42"), (None, ""), (0, ""), (True, "")],
)
def test_order_ids_are_plausible_ids_or_nothing(value, expected):
    assert order_ref(value) == expected


@pytest.mark.parametrize("value", [{"id": 1}, [1], "x" * 41, "../orders", "1 2", 10**18, 1.5])
def test_order_ids_that_would_overflow_or_travel_into_a_url_are_refused(value):
    assert order_ref(value) == ""


def test_raw_payloads_are_stored_json_safe_and_bounded():
    nested: dict = {}
    deepest = nested
    for _ in range(40):
        deepest["x"] = {}
        deepest = deepest["x"]

    safe = json_safe({"a\x00": "b\x00c", "n": float("inf"), "s": "\udc80", "deep": nested})

    assert safe["a"] == "bc" and safe["n"] == "inf" and safe["s"] == "?"
    assert "…" in str(safe["deep"])
    big = bounded_raw({"rows": ["x" * 1000] * 3000})
    assert big["truncated"] is True and len(big["excerpt"]) == 20_000


def test_problems_are_bounded_and_excerpts_short():
    problems = Problems()
    for n in range(80):
        problems.note(f"problem {n}")

    assert len(problems.messages) == 51 and problems.messages[-1].startswith("More problems")
    assert excerpt("y" * 100) == repr("y" * 40) + "…"
