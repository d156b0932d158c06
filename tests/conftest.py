"""Shared fixtures: owner / member / outsider of two tenants (docs/architecture.md §10.5), Celery eager by default."""

import os

import pytest
import responses
from django.db import connection

from accounts.choices import Role
from brickinvoice.celery import app as celery_app

from .factories import MembershipFactory, TenantFactory, UserFactory
from .fake_fatture import fake  # noqa: F401 - the `fake` fixture for every test module


def pytest_configure(config):
    # Like production: the suite refuses to run on SQLite unless explicitly allowed.
    from django.conf import settings

    # Fakes answer instantly and have no rate limit; pacing is tested on its own.
    settings.BRICKOWL_MIN_CALL_INTERVAL = 0
    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine and not os.environ.get("ALLOW_SQLITE_TESTS"):
        raise pytest.UsageError(
            "Tests run on PostgreSQL: set DATABASE_URL (the Makefile's `make test` does), "
            "or ALLOW_SQLITE_TESTS=1 for a quick local run."
        )


def unavailable(reason: str) -> None:
    """Skip a test whose infrastructure (a browser, a Redis worker) is missing on this machine;
    under CI=true that is a failure, so CI can never go green without running it."""
    if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
        pytest.fail(f"{reason} — CI=true, so a missing service fails the run instead of skipping it")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _celery_eager():
    """Tasks run in-process unless a test asks for the real worker (tests/test_worker_*.py)."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _isolated_cache(settings):
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def rsps():
    """Third-party HTTP faked at the boundary; a test may leave some registered answers unused."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def no_marketplace_backoff(settings):
    """Marketplace retries without their sleep (marketplaces/retry.py)."""
    settings.MARKETPLACE_RETRY_BACKOFF = 0


@pytest.fixture
def tenant(db):
    return TenantFactory(name="Mattoncini Rossi")


@pytest.fixture
def other_tenant(db):
    return TenantFactory(name="Other Bricks")


@pytest.fixture
def owner(tenant):
    return MembershipFactory(tenant=tenant, role=Role.OWNER, user=UserFactory(email="owner@example.com")).user


@pytest.fixture
def member(tenant):
    return MembershipFactory(tenant=tenant, role=Role.MEMBER, user=UserFactory(email="member@example.com")).user


@pytest.fixture
def outsider(other_tenant):
    return MembershipFactory(tenant=other_tenant, role=Role.OWNER, user=UserFactory(email="outsider@example.com")).user


def _client_for(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def owner_client(client, owner):
    return _client_for(client, owner)


@pytest.fixture
def member_client(client, member):
    return _client_for(client, member)


@pytest.fixture
def outsider_client(client, outsider):
    return _client_for(client, outsider)


@pytest.fixture
def pg_only():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL-specific behaviour")
