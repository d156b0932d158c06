"""The demo loader: idempotent, complete (logins, tenant, pre-registration, stores, orders, Fatture
accounts), deterministic; and the sandbox index page that shows the credentials to paste."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command

from accounts.models import Membership, PreRegistration, User
from sandbox import models as m
from sandbox.demo import (
    BRICKLINK_CREDENTIALS,
    BRICKOWL_API_KEY,
    DEMO_LOGINS,
    SELLER_EMAIL,
    SELLER_TENANT,
    STRANGER_EMAIL,
    bricklink_scenarios,
    demo_stores_load,
)

pytestmark = pytest.mark.urls("sandbox.test_urls")
MODELS = [
    User,
    Membership,
    PreRegistration,
    m.SandboxStore,
    m.SandboxOrder,
    m.SandboxFattureUser,
    m.SandboxFattureVatType,
    m.SandboxFattureProduct,
]


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


@pytest.mark.django_db
def test_load_demo_twice_leaves_the_same_rows():
    call_command("load_demo", verbosity=0)
    first = counts()
    payloads = dict(m.SandboxOrder.objects.values_list("order_id", "payload"))

    call_command("load_demo", verbosity=0)

    assert counts() == first
    assert dict(m.SandboxOrder.objects.values_list("order_id", "payload")) == payloads  # nothing looks "updated"
    assert first["SandboxOrder"] >= 36 and first["SandboxStore"] == 2


@pytest.mark.django_db
def test_demo_logins_work_and_the_seller_is_pre_registered_with_a_tenant():
    call_command("load_demo", verbosity=0)

    for role, email, password in DEMO_LOGINS:
        user = User.objects.get(email=email)
        assert user.check_password(password)
        assert user.is_superuser == (role == "admin")
    membership = Membership.objects.get(user__email=SELLER_EMAIL)
    assert membership.tenant.name == SELLER_TENANT
    assert PreRegistration.objects.get(email=SELLER_EMAIL).status == "approved"
    assert not PreRegistration.objects.filter(email=STRANGER_EMAIL).exists()
    assert set(m.SandboxFattureUser.objects.values_list("email", flat=True)) == {SELLER_EMAIL, STRANGER_EMAIL}


def test_scenarios_are_deterministic_and_cover_the_demo_cases():
    first, second = bricklink_scenarios(), bricklink_scenarios()
    assert [(s.order_id, s.grand_total) for s in first] == [(s.order_id, s.grand_total) for s in second]

    countries = {s.buyer.country for s in first}
    statuses = {s.status for s in first}
    assert {"IT", "DE", "FR", "ES", "GB", "US", "CH", "IE"} <= countries
    assert {"CANCELLED", "PENDING", "PAID", "SHIPPED"} <= statuses
    assert any(s.buyer.postal_code.startswith("35") and s.buyer.country == "ES" for s in first)  # Canary Islands
    assert any(s.coupon > 0 for s in first) and any(s.insurance > 0 for s in first)
    assert any(s.etc1 > 0 and s.etc2 > 0 for s in first)
    assert any(s.sales_tax > 0 for s in first) and any(s.is_filed for s in first)
    assert any("O'Brien" in s.buyer.last for s in first)
    assert {lot.used for s in first for lot in s.lots} == {True, False}
    usernames = [s.buyer.username for s in first]
    assert any(usernames.count(u) > 1 for u in usernames)  # repeat buyers
    reference = next(s for s in first if s.order_id == "24680135")
    assert (reference.subtotal, reference.grand_total) == (Decimal("22.290"), Decimal("29.190"))


@pytest.mark.django_db
def test_order_dates_keep_their_first_anchor():
    demo_stores_load(today=date(2025, 3, 10))
    before = m.SandboxOrder.objects.get(order_id="24680135").payload["date_ordered"]

    demo_stores_load(today=date(2025, 6, 1))

    assert m.SandboxOrder.objects.get(order_id="24680135").payload["date_ordered"] == before
    assert before.startswith("2025-01-29")


@pytest.mark.django_db
def test_sandbox_index_lists_the_credentials_to_paste(client):
    call_command("load_demo", verbosity=0)

    page = client.get("/sandbox/").content.decode()

    for value in (*BRICKLINK_CREDENTIALS.values(), BRICKOWL_API_KEY, SELLER_EMAIL, STRANGER_EMAIL):
        assert value in page
    assert "TOKEN_IP_MISMATCHED" in page


@pytest.mark.django_db
def test_index_fault_form_arms_and_clears_faults(client):
    response = client.post(
        "/sandbox/faults",
        {"action": "inject", "operation": "fatture.issued_documents.create", "mode": "error_after", "count": "2"},
    )
    assert response.status_code == 302
    assert m.SandboxFault.objects.get().remaining == 2

    client.post("/sandbox/faults", {"action": "clear"})

    assert not m.SandboxFault.objects.exists()


@pytest.mark.django_db
def test_sandbox_fault_command_arms_a_fault():
    call_command("sandbox_fault", operation="fatture.oauth.token", mode="error_before", count=3, verbosity=0)

    fault = m.SandboxFault.objects.get()
    assert (fault.operation, fault.mode, fault.remaining) == ("fatture.oauth.token", "error_before", 3)
