"""Foundation behaviour: env-driven settings, signup creates the tenant, seller settings."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from accounts.choices import Role
from accounts.models import Membership, SellerSettings, User

ROOT = Path(__file__).resolve().parent.parent
PROD_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "x" * 60 + "-prod-secret-for-check-deploy-only",
    "FIELD_ENCRYPTION_KEYS": "ZGV2LW9ubHktZmllbGQta2V5LW5vdC1hLXNlY3JldCE=",
    "ALLOWED_HOSTS": "app.brickinvoice.example",
    "DATABASE_URL": "sqlite:////tmp/brickinvoice-check.sqlite3",
    "EMAIL_URL": "smtp://mail.example:587",
}


def _manage(*args, env):
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in PROD_ENV and not k.startswith(("FATTURE_", "SANDBOX", "DJANGO_ALLOW_ASYNC"))
    }
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("missing", ["SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "ALLOWED_HOSTS"])
def test_production_refuses_to_start_without_secret(missing):
    env = {k: v for k, v in PROD_ENV.items() if k != missing}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert f"{missing} must be set when DEBUG is off" in result.stderr


def test_check_deploy_is_clean_when_configured():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PROD_ENV)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_sandbox_cannot_run_in_production():
    result = _manage("check", env={**PROD_ENV, "SANDBOX": "true"})
    assert result.returncode != 0 and "SANDBOX" in result.stderr


@pytest.mark.django_db
def test_signup_creates_owner_tenant_and_lands_on_home(client):
    response = client.post(
        reverse("account_signup"),
        {
            "email": "Anna@Example.com",
            "password1": "a-long-enough-passw0rd",
            "password2": "a-long-enough-passw0rd",
            "business_name": "Anna's Bricks",
            "country": "IT",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/home/"
    user = User.objects.get(email__iexact="anna@example.com")
    membership = Membership.objects.get(user=user)
    assert membership.role == Role.OWNER and membership.tenant.name == "Anna's Bricks"
    assert SellerSettings.objects.get(tenant=membership.tenant).country == "IT"
    assert client.get("/home/").status_code == 200


@pytest.mark.django_db
def test_login_by_email_lands_on_home(client, owner):
    from tests.factories import PASSWORD

    response = client.post(reverse("account_login"), {"login": "owner@example.com", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/home/"


@pytest.mark.django_db
def test_owner_saves_seller_settings(owner_client, tenant):
    response = owner_client.post(
        reverse("accounts:settings"),
        {
            "business_name": "Mattoncini Rossi srl",
            "country": "IT",
            "vat_registered": "on",
            "margin_rule": "used",
            "invoiceable_statuses": ["paid", "shipped"],
            "cutoff_date": "2026-01-01",
            "invoice_date_policy": "order_date",
            "sync_schedule": "15min",
        },
    )
    assert response.status_code == 302
    saved = SellerSettings.objects.get(tenant=tenant)
    assert saved.margin_rule == "used" and saved.invoiceable_statuses == ["paid", "shipped"]
    assert str(saved.cutoff_date) == "2026-01-01" and saved.sync_schedule == "15min"


@pytest.mark.django_db
def test_cancelled_is_never_an_invoiceable_status(owner_client, tenant):
    response = owner_client.post(
        reverse("accounts:settings"),
        {
            "business_name": "x",
            "country": "IT",
            "margin_rule": "off",
            "invoiceable_statuses": ["cancelled"],
            "invoice_date_policy": "order_date",
            "sync_schedule": "off",
        },
    )
    assert response.status_code == 200
    assert "cancelled" not in SellerSettings.objects.get(tenant=tenant).invoiceable_statuses


@pytest.mark.django_db
def test_member_cannot_change_settings(member_client):
    assert member_client.get(reverse("accounts:settings")).status_code == 403


@pytest.mark.django_db
def test_admin_pages_render_for_staff(client, tenant, owner):
    from tests.factories import StoreConnectionFactory

    StoreConnectionFactory(tenant=tenant)
    admin = User.objects.create_superuser("admin@example.com", "admin-pass-123456")
    client.force_login(admin)
    for url in [
        "/admin/accounts/user/",
        "/admin/accounts/tenant/",
        f"/admin/accounts/tenant/{tenant.pk}/change/",
        "/admin/accounts/membership/",
        "/admin/accounts/sellersettings/",
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert b"bo-test-key" not in response.content


@pytest.mark.parametrize("keys", ["not-a-fernet-key", "ZGV2LW9ubHktZmllbGQta2V5LW5vdC1hLXNlY3JldCE=,short-but-secret"])
def test_malformed_encryption_key_stops_start_up_naming_its_position_only(keys):
    result = _manage("check", env={**PROD_ENV, "FIELD_ENCRYPTION_KEYS": keys})
    assert result.returncode != 0
    count = len(keys.split(","))
    last_line = result.stderr.strip().splitlines()[-1]
    assert f"FIELD_ENCRYPTION_KEYS: key {count} of {count} is not a Fernet key" in last_line
    assert keys.split(",")[-1] not in result.stderr


def _settings_post(statuses):
    return {
        "business_name": "x",
        "country": "IT",
        "margin_rule": "off",
        "invoiceable_statuses": statuses,
        "invoice_date_policy": "order_date",
        "sync_schedule": "off",
    }


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["pending", "awaiting_payment", "on_hold"])
def test_unpaid_statuses_cannot_be_chosen_as_invoiceable(owner_client, tenant, status):
    response = owner_client.post(reverse("accounts:settings"), _settings_post(["paid", status]))
    assert response.status_code == 200
    assert status not in SellerSettings.objects.get(tenant=tenant).invoiceable_statuses
    assert f'value="{status}"' not in owner_client.get(reverse("accounts:settings")).content.decode()


@pytest.mark.django_db
def test_the_model_refuses_unpaid_invoiceable_statuses(tenant):
    from django.core.exceptions import ValidationError

    seller_settings = SellerSettings.objects.get(tenant=tenant)
    seller_settings.invoiceable_statuses = ["paid", "awaiting_payment"]
    with pytest.raises(ValidationError) as refused:
        seller_settings.full_clean()
    assert "invoiceable_statuses" in refused.value.message_dict


@pytest.mark.django_db
def test_migration_keeps_only_paid_like_statuses(tenant, other_tenant):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("accounts.migrations.0004_invoiceable_statuses_paid_like")
    SellerSettings.objects.filter(tenant=tenant).update(invoiceable_statuses=["pending", "paid", "on_hold"])
    SellerSettings.objects.filter(tenant=other_tenant).update(invoiceable_statuses=["awaiting_payment"])
    migration.keep_only_paid_like(apps, None)
    assert SellerSettings.objects.get(tenant=tenant).invoiceable_statuses == ["paid"]
    assert SellerSettings.objects.get(tenant=other_tenant).invoiceable_statuses == ["paid", "shipped", "completed"]


@pytest.fixture
def owner_also_member_elsewhere(tenant, other_tenant):
    """Member of another seller first, then owner of their own business (the case that went wrong)."""
    from tests.factories import MembershipFactory, UserFactory

    user = UserFactory(email="both@example.com")
    MembershipFactory(tenant=other_tenant, user=user, role=Role.MEMBER)
    MembershipFactory(tenant=tenant, user=user, role=Role.OWNER)
    return user


@pytest.mark.django_db
def test_after_login_a_user_lands_in_the_tenant_they_own(client, owner_also_member_elsewhere, tenant):
    from tests.factories import PASSWORD

    client.post(reverse("account_login"), {"login": "both@example.com", "password": PASSWORD})
    response = client.get(reverse("accounts:settings"))
    assert response.status_code == 200 and response.context["tenant"] == tenant


@pytest.mark.django_db
def test_the_tenant_chosen_in_the_session_wins(client, owner_also_member_elsewhere, other_tenant):
    from accounts.middleware import SESSION_KEY

    client.force_login(owner_also_member_elsewhere)
    session = client.session
    session[SESSION_KEY] = str(other_tenant.public_id)
    session.save()
    assert client.get("/home/").context["tenant"] == other_tenant
