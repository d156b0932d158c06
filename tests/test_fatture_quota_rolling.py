"""Fatture's 5-minute limit is rolling (the fake checks it so, sandbox.rolling); the product's fixed
5-minute buckets at half the limit keep every rolling 5 minutes at or under 300 calls, whatever the
arrival pattern, so the fake never refuses a product that follows its budgets."""

import itertools
from datetime import UTC, datetime

import pytest
from django.core.cache import cache
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from fatture.errors import FattureBudgetSpent
from fatture.quota import quota_take
from sandbox.rolling import rolling_count, rolling_hit

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC).timestamp()


def test_the_rolling_log_frees_a_place_exactly_when_the_oldest_call_leaves():
    key = "test:rolling"
    assert [rolling_hit(key, limit=2, window=10, now=t) for t in (0.0, 1.0)] == [None, None]
    assert rolling_hit(key, limit=2, window=10, now=9.5) == pytest.approx(0.5)
    assert rolling_hit(key, limit=2, window=10, now=10.0) is None
    assert rolling_count(key, window=10, now=10.0) == 2


# --- the product's fixed buckets under a rolling window -------------------------------------------

_companies = itertools.count(5000)


def _admitted_by_the_budget(offsets: list[float]) -> list[float]:
    """Call quota_take at each moment; the moments it let through, each also checked against a
    rolling 300-in-300-s window like the fake Fatture's (which must never refuse)."""
    company_id, admitted = next(_companies), []
    for offset in sorted(offsets):
        try:
            quota_take(company_id, now=START + offset)
        except FattureBudgetSpent:
            continue
        assert rolling_hit(f"test:fic:{company_id}", limit=300, window=300, now=START + offset) is None
        admitted.append(offset)
    return admitted


def _worst_rolling_window(times: list[float], window: float = 300) -> int:
    worst, first = 0, 0
    for last, moment in enumerate(times):
        while times[first] <= moment - window:
            first += 1
        worst = max(worst, last - first + 1)
    return worst


@pytest.fixture
def product_budgets(settings):
    # The hour out of the way, so that only the 5-minute budget binds (150 per fixed bucket).
    settings.FATTURE_HOURLY_BUDGET, settings.FATTURE_MONTHLY_BUDGET = 10**6, 10**7
    settings.FATTURE_SHORT_BUDGET, settings.FATTURE_SHORT_WINDOW_SECONDS = 150, 300


def test_a_burst_across_a_bucket_edge_fills_the_rolling_window_but_never_overflows_it(product_budgets):
    # 400 attempts in the last 10 s of one bucket and 400 in the first 10 s of the next.
    offsets = [290 + i / 40 for i in range(400)] + [300 + i / 40 for i in range(400)]
    admitted = _admitted_by_the_budget(offsets)
    assert len(admitted) == 300 and _worst_rolling_window(admitted) == 300


@hsettings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.floats(min_value=0, max_value=1500, allow_nan=False), min_size=100, max_size=400))
def test_any_arrivals_stay_within_300_in_every_rolling_five_minutes(product_budgets, offsets):
    cache.clear()
    admitted = _admitted_by_the_budget(offsets + [offset % 300 + 290 for offset in offsets[:150]])
    assert _worst_rolling_window(admitted) <= 300
