"""Property-based tests (Hypothesis): malformed order payloads, made by mutating the example
fixtures of docs/providers/bricklink.md §11 and docs/providers/brickowl.md §8 (wrong types, huge
and odd numbers, control characters, lone surrogates, missing keys),
never raise in the normalisers nor in the import loop; whatever they produce fits the database;
every flagged order says why; the well-formed orders of the same listing are imported clean."""

import copy
import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import responses
from django.db import models, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.choices import OrderStatus
from marketplaces.boundary import MAX_AMOUNT
from marketplaces.bricklink.normalise import normalise_order as bl_normalise
from marketplaces.brickowl.normalise import normalise_order as bo_normalise
from marketplaces.models import Order, OrderItem
from marketplaces.moments import EARLIEST
from marketplaces.normalised import NormalisedOrder
from marketplaces.services import store_import_orders
from tests.data.marketplace_payloads import FakeBrickLink, bl_batches, bl_order, bo_items, bo_order
from tests.factories import BrickLinkStoreFactory

# -- strategies ------------------------------------------------------------------------------------

# Everything JSON can carry once decoded: lone surrogates ("\ud800" escapes), NUL and other
# control characters, ints of hundreds of digits, infinity and NaN (json accepts them), plus the
# tester's own triggers.
ODD_VALUES = [
    "1e400",
    "NaN",
    "-Infinity",
    10**10,
    10**400,
    -1,
    0,
    "ITA",
    "UK",
    "0001-01-01T00:00:00+05:00",
    "9999-12-31T23:59:59Z",
    "99999999999999",
    "\x00",
    "",
    " ",
    "Via\x00Roma\u202e",
]
# Text made mostly of what breaks things: control characters, bidi overrides, lone surrogates.
nasty_text = st.text(alphabet=st.sampled_from(list("\x00\x07\x1b\x7f\x85\u202e\ud800\udfff\n\r\ta1 &#;")), max_size=30)
leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(alphabet=st.characters(exclude_categories=()), max_size=60),
    nasty_text,
    st.sampled_from(ODD_VALUES),
)
trees = st.recursive(
    leaves,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
# Amounts around every bound (the 10^8 limit, the columns' 10 integer digits, 4 places), as the
# marketplaces send them (strings) and as JSON numbers.
numbers = st.one_of(
    st.from_regex(r"-?\d{1,14}(\.\d{1,8})?([eE][+-]?\d{1,3})?", fullmatch=True),
    st.integers(min_value=-(10**16), max_value=10**16),
    st.decimals(allow_nan=False, allow_infinity=False, places=6).map(float),
)
# Mostly one of the tester's triggers, a number or nasty text, else any JSON at all.
values = st.one_of(st.sampled_from(ODD_VALUES), numbers, nasty_text, trees)


def paths(tree, prefix=()):
    """Every place in a JSON tree, as a tuple of keys and indexes (the root is ``()``)."""
    yield prefix
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from paths(value, (*prefix, key))
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            yield from paths(value, (*prefix, index))


def mutate(data, payload: dict, *, max_mutations: int = 4) -> dict:
    """A copy of ``payload`` ({"order", "items"}) with a few random places replaced by random JSON,
    deleted, wrapped in a list or turned into text."""
    payload = copy.deepcopy(payload)
    for _ in range(data.draw(st.integers(1, max_mutations), label="mutations")):
        places = [p for p in paths(payload) if p]
        # Mostly a field (a leaf), where the parsers' checks live; sometimes a whole object or list.
        fields = [p for p in places if not isinstance(_at(payload, p), dict | list)] or places
        place = data.draw(st.sampled_from(fields) | st.sampled_from(places), label="place")
        *parent_path, key = place
        parent = payload
        for step in parent_path:
            parent = parent[step]
        action = data.draw(st.sampled_from(["replace", "delete", "wrap", "text"]), label="action")
        if action == "delete" and isinstance(parent, dict) and len(parent_path) > 0:
            del parent[key]
        elif action == "wrap":
            parent[key] = [parent[key]]
        elif action == "text":
            parent[key] = json.dumps(parent[key], default=str)
        else:
            parent[key] = data.draw(values, label="value")
    return payload


def _at(tree, place):
    for step in place:
        tree = tree[step]
    return tree


# -- what "fits the database" means ------------------------------------------------------------------

# No control characters in any stored text except the line breaks of multi-line text.
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def assert_storable(result: NormalisedOrder) -> None:
    """Every value is typed and fits its column; every problem is a sentence; a quarantined order
    says why."""
    assert isinstance(result, NormalisedOrder)
    assert all(isinstance(e, str) and e.strip() and "\x00" not in e for e in result.data_errors)
    if result.quarantined:
        assert result.data_errors
    assert result.status in OrderStatus.values
    assert result.ordered_at is None or EARLIEST <= result.ordered_at <= datetime.now(UTC) + timedelta(days=2)
    assert len(result.ship_country) in (0, 2) and result.ship_country == result.ship_country.upper()
    json.dumps(result.raw, allow_nan=False, ensure_ascii=False).encode("utf-8")  # no NaN, no lone surrogate
    assert not any("\x00" in text for text in strings(result.raw))  # jsonb refuses NUL
    assert_fits(Order, vars(result))
    for item in result.items:
        assert_fits(OrderItem, vars(item))
        assert 0 <= item.quantity <= 1_000_000


def strings(tree):
    """Every string in a JSON tree, keys included."""
    if isinstance(tree, str):
        yield tree
    elif isinstance(tree, dict):
        for key, value in tree.items():
            yield key
            yield from strings(value)
    elif isinstance(tree, list):
        for value in tree:
            yield from strings(value)


def assert_fits(model, values: dict) -> None:
    for name, value in values.items():
        try:
            column = model._meta.get_field(name)
        except Exception:  # noqa: BLE001 - not a column (items, raw...)
            continue
        if isinstance(column, models.CharField | models.TextField) and isinstance(value, str):
            assert column.max_length is None or len(value) <= column.max_length, name
            value.encode("utf-8")  # no lone surrogates
            assert not CONTROL.search(value), (name, value)
        if isinstance(column, models.DecimalField):
            assert isinstance(value, Decimal) and value.is_finite(), name
            # The boundary's own bound (10^8) is tighter than the column's (10^10).
            assert abs(value) < MAX_AMOUNT <= 10 ** (column.max_digits - column.decimal_places), name
            assert value.as_tuple().exponent >= -column.decimal_places, name


# -- the normalisers (no database) ---------------------------------------------------------------


def test_the_reference_payloads_have_no_problems():
    assert bl_normalise(bl_order(), bl_batches()).data_errors == []
    assert bo_normalise(bo_order(), bo_items()).data_errors == []


@settings(max_examples=150, deadline=None, database=None)
@given(data=st.data())
def test_bricklink_normaliser_never_raises_on_a_mutated_order(data):
    payload = mutate(data, {"order": bl_order(), "items": bl_batches()})

    assert_storable(bl_normalise(payload.get("order"), payload.get("items")))


@settings(max_examples=150, deadline=None, database=None)
@given(data=st.data())
def test_brickowl_normaliser_never_raises_on_a_mutated_order(data):
    payload = mutate(data, {"order": bo_order(), "items": bo_items()})

    assert_storable(bo_normalise(payload.get("order"), payload.get("items")))


@settings(max_examples=150, deadline=None, database=None)
@given(price=numbers | leaves, quantity=numbers | leaves)
def test_item_prices_and_quantities_never_overflow_a_line_total(price, quantity):
    batches = bl_batches()
    batches[0][0].update(unit_price_final=price, quantity=quantity)
    items = bo_items()
    items[0].update(base_price=price, ordered_quantity=quantity)

    assert_storable(bl_normalise(bl_order(), batches))
    assert_storable(bo_normalise(bo_order(), items))


@settings(max_examples=100, deadline=None, database=None)
@given(order=trees, items=trees)
def test_normalisers_never_raise_on_any_json_at_all(order, items):
    assert_storable(bl_normalise(order, items))
    assert_storable(bo_normalise(order, items))


# -- the import loop (database, fake HTTP) ---------------------------------------------------------


class _Rollback(Exception):
    """Ends an example's transaction so the next one starts from an empty store."""


T0 = datetime(2024, 3, 14, 9, 0, tzinfo=UTC)


@pytest.mark.django_db
@pytest.mark.usefixtures("no_marketplace_backoff")
@settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_an_import_with_a_mutated_order_imports_the_good_ones_and_flags_the_bad_one(tenant, data):
    mutated = mutate(
        data, {"order": bl_order(2001, ordered=T0 + timedelta(hours=1), status="PAID"), "items": bl_batches()}
    )
    extra_rows = data.draw(st.lists(trees, max_size=2), label="extra listing rows")
    try:
        with transaction.atomic(), responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            store = BrickLinkStoreFactory(tenant=tenant)
            fake = FakeBrickLink(rsps)
            fake.add(bl_order(1001, ordered=T0, status="PAID"))
            fake.add(bl_order(2001, ordered=T0 + timedelta(hours=1), status="PAID"))
            fake.add(bl_order(3001, ordered=T0 + timedelta(hours=2), status="PAID"))
            fake.raw_bodies["2001"] = json.dumps(mutated["order"])
            fake.items["2001"] = mutated["items"]
            fake.extra_rows = extra_rows

            result = store_import_orders(store_id=store.id)

            assert result.complete, result.stopped_reason
            for good in ("1001", "3001"):
                order = Order.objects.get(store=store, marketplace_order_id=good)
                assert order.data_errors == [] and not order.quarantined and order.items.count() == 4
            bad = Order.objects.filter(store=store, marketplace_order_id="2001").first()
            if bad is None:  # only a failed fetch leaves no row, and it is said
                assert "2001" in result.fetch_failed_ids and any("2001" in p for p in result.problems)
            elif bad.quarantined or bad.pk in result.flagged_ids:
                assert bad.data_errors
            raise _Rollback
    except _Rollback:
        pass
