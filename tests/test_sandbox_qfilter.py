"""The Fatture ``q`` grammar of the sandbox (docs/providers/fatture-in-cloud.md §3.1), table-driven, no database."""

import pytest

from sandbox.qfilter import QueryError, matches, parse, required_equalities

DOC = {
    "id": 7,
    "name": "Seán O'Brien",
    "code": "BL:obrien_bricks",
    "vat_number": None,
    "amount_gross": 29.19,
    "in_stock": True,
    "entity": {"id": 16451, "name": "Rossi S.r.l."},
    "subject": "BrickInvoice order BL-24680135",
}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("name = 'Seán O''Brien'", True),
        ("name = 'seán o''brien'", True),  # letter case is ignored
        ("name = 'O''Brien'", False),
        ("code = 'X' or name = 'Seán O''Brien'", True),
        ("code = 'X' and name = 'Seán O''Brien'", False),
        ("(code = 'X' or code = 'BL:obrien_bricks') and id = 7", True),
        ("entity.id = 16451 and entity.name contains 'rossi'", True),
        ("amount_gross > 29 AND amount_gross <= 29.19", True),
        ("amount_gross <> 29.19", False),
        ("amount_gross != 1", True),
        ("subject like '%BL-2468%'", True),
        ("subject not like 'x%'", True),
        ("subject starts with 'brickinvoice'", True),
        ("subject ends with '0135'", True),
        ("subject not contains 'BL-1'", True),
        ("vat_number is null", True),
        ("vat_number = null", True),
        ("vat_number is not null", False),
        ("name != null", True),
        ("in_stock = true", True),
        ("in_stock = false", False),
    ],
)
def test_expressions_match_like_the_api(query, expected):
    assert matches(parse(query), DOC) is expected


@pytest.mark.parametrize(
    "query", ["name = 'open", "name ~ 'x'", "name = ", "(name = 'x'", "name = 'x' extra", "amount contains 5"]
)
def test_malformed_expressions_are_refused(query):
    with pytest.raises(QueryError):
        parse(query)


def test_fields_outside_the_allowed_set_are_refused():
    with pytest.raises(QueryError, match="cannot be used"):
        parse("password = 'x'", fields=frozenset({"name"}))


def test_required_equalities_are_the_top_level_and_conditions():
    assert required_equalities(parse("entity.id = 5 and date = '2025-03-05' and subject contains 'x'")) == {
        "entity.id": 5,
        "date": "2025-03-05",
    }
    assert required_equalities(parse("code = 'a' or name = 'b'")) == {}
