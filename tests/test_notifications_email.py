"""E-mail notifications: who gets them, what they say and link to, opt-out, once a day, approvals."""

import pytest
from django.core import mail
from django.urls import reverse
from freezegun import freeze_time

from accounts import notifications
from accounts.choices import NotificationKind, Role
from accounts.models import NotificationPreference, PreRegistration, User
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db
BASE = "https://app.brickinvoice.example"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.PUBLIC_BASE_URL = BASE
    settings.SITE_NAME = "BrickInvoice"
    settings.DEFAULT_FROM_EMAIL = "BrickInvoice <no-reply@brickinvoice.example>"
    settings.ACCOUNT_EMAIL_SUBJECT_PREFIX = "[BrickInvoice] "


def _html(message):
    return message.alternatives[0][0]


def test_immediate_problem_goes_to_each_owner_with_a_link_to_the_fix(tenant, owner, member):
    second_owner = MembershipFactory(tenant=tenant, role=Role.OWNER, user=UserFactory(email="co@example.com")).user

    sent = notifications.notify_tenant_owners(
        tenant=tenant, kind=NotificationKind.FATTURE_RECONNECT, context={"reason": "The access was revoked."}
    )

    assert sent == 2
    assert sorted(m.to[0] for m in mail.outbox) == sorted([owner.email, second_owner.email])  # never the member
    message = mail.outbox[0]
    assert message.subject == "[BrickInvoice] Reconnect Fatture in Cloud to keep invoicing"
    assert message.from_email == "BrickInvoice <no-reply@brickinvoice.example>"
    assert f"{BASE}/home/accounting/connect" in message.body
    assert f'href="{BASE}/home/accounting/connect"' in _html(message)
    assert "Hello from BrickInvoice!" in message.body and "The access was revoked." in message.body
    assert f"{BASE}/home/settings#notifications" in message.body


def test_an_owner_who_opted_out_gets_nothing(tenant, owner):
    NotificationPreference.objects.create(user=owner, kind=NotificationKind.STORE_CREDENTIALS_REFUSED, enabled=False)
    context = {"store_name": "BL main", "marketplace": "BrickLink", "reason": ""}
    assert notifications.notify_tenant_owners(tenant=tenant, kind="store_credentials_refused", context=context) == 0
    assert notifications.notify_tenant_owners(tenant=tenant, kind="fatture_reconnect") == 1
    assert [m.subject for m in mail.outbox] == ["[BrickInvoice] Reconnect Fatture in Cloud to keep invoicing"]


def test_the_same_problem_is_e_mailed_once_a_day_until_resolved(tenant, owner):
    context = {"store_name": "BO shop & co", "marketplace": "BrickOwl", "reason": "Key revoked."}
    with freeze_time("2026-12-01 08:00"):
        for _ in range(5):  # a sync every few minutes keeps noticing it
            notifications.notify_tenant_owners(tenant=tenant, kind="store_credentials_refused", context=context)
        assert len(mail.outbox) == 1
        assert mail.outbox[0].subject == "[BrickInvoice] BrickOwl refused the API keys of BO shop & co"
        assert f"{BASE}/home/stores/" in mail.outbox[0].body
    with freeze_time("2026-12-01 22:00"):
        notifications.notify_tenant_owners(tenant=tenant, kind="store_credentials_refused", context=context)
        assert len(mail.outbox) == 1
        notifications.notification_resolved(tenant=tenant, kind="store_credentials_refused")
        notifications.notify_tenant_owners(tenant=tenant, kind="store_credentials_refused", context=context)
        assert len(mail.outbox) == 2  # resolved, then back: e-mailed again
    with freeze_time("2026-12-02 08:00"):
        notifications.notify_tenant_owners(tenant=tenant, kind="store_credentials_refused", context=context)
        assert len(mail.outbox) == 3  # still broken the next day: one reminder


def test_throttle_is_per_tenant_and_kind(tenant, owner, other_tenant, outsider):
    notifications.notify_tenant_owners(tenant=tenant, kind="fatture_reconnect")
    notifications.notify_tenant_owners(tenant=other_tenant, kind="fatture_reconnect")
    notifications.notify_tenant_owners(tenant=tenant, kind="einvoice_discarded", context={"url": "/home/orders"})
    assert len(mail.outbox) == 3


def test_a_failed_send_gives_the_day_back(tenant, owner, monkeypatch):
    def refuse(messages):
        raise OSError("mail server down")

    monkeypatch.setattr(notifications, "_send", refuse)
    with pytest.raises(OSError):
        notifications.notify_tenant_owners(tenant=tenant, kind="fatture_reconnect")
    monkeypatch.undo()
    assert notifications.notify_tenant_owners(tenant=tenant, kind="fatture_reconnect") == 1


def test_daily_digest_lists_orders_with_absolute_links(tenant, owner):
    context = {
        "orders": [
            {"number": "BL-1001", "marketplace": "BrickLink", "problem": "VAT rate mismatch", "url": "/home/orders/a"},
            {"number": "BO-77", "marketplace": "BrickOwl", "problem": "Product 12 not found", "url": "/home/orders/b"},
        ],
        "total": 14,
    }
    assert notifications.notify_tenant_owners(tenant=tenant, kind="daily_digest", context=context) == 1
    message = mail.outbox[0]
    assert message.subject == "[BrickInvoice] 14 orders need your action"
    assert "BrickLink order BL-1001: VAT rate mismatch" in message.body
    assert f"{BASE}/home/orders/b" in message.body and f"{BASE}/home/" in message.body
    assert "The dashboard lists all 14." in message.body
    assert f'<a href="{BASE}/home/orders/a">BrickLink order BL-1001</a>' in _html(message)


def test_einvoice_discarded_links_to_the_order(tenant, owner):
    context = {
        "order_number": "BL-9",
        "invoice_number": "12/2026",
        "reason": "00404 duplicate",
        "url": "/home/orders/x",
    }
    notifications.notify_tenant_owners(tenant=tenant, kind="einvoice_discarded", context=context)
    message = mail.outbox[0]
    assert message.subject == "[BrickInvoice] The e-invoice 12/2026 was discarded"
    assert f"{BASE}/home/orders/x" in message.body and "00404 duplicate" in message.body


def test_html_escapes_outside_text(tenant, owner):
    context = {"store_name": "<script>x</script>", "marketplace": "BrickLink", "reason": ""}
    notifications.notify_tenant_owners(tenant=tenant, kind="store_credentials_refused", context=context)
    assert "<script>" not in _html(mail.outbox[0]) and "&lt;script&gt;" in _html(mail.outbox[0])


def test_unknown_kind_is_refused(tenant, owner):
    with pytest.raises(ValueError):
        notifications.notify_tenant_owners(tenant=tenant, kind="nonsense")


def test_e_mails_render_in_the_recipients_language(tenant, owner, monkeypatch):
    from django.utils import translation

    seen = []
    monkeypatch.setattr(notifications, "_language_for", lambda user: "it")
    real = notifications.render_to_string
    monkeypatch.setattr(
        notifications, "render_to_string", lambda *a, **k: seen.append(translation.get_language()) or real(*a, **k)
    )
    notifications.notify_tenant_owners(tenant=tenant, kind="fatture_reconnect")
    assert set(seen) == {"it"} and translation.get_language() != "it"


# --- opt-out on the settings page ------------------------------------------------------------


def test_owner_turns_an_e_mail_off_and_on_from_the_settings_page(owner_client, owner):
    page = owner_client.get(reverse("accounts:settings")).content.decode()
    assert 'id="notifications"' in page and "Daily summary of orders that need your action" in page
    on = [k for k in NotificationKind.values if k != "daily_digest"]
    response = owner_client.post(reverse("accounts:settings"), {"section": "notifications", **dict.fromkeys(on, "on")})
    assert response.status_code == 302
    assert notifications.preferences_for(owner) == {k: k != "daily_digest" for k in NotificationKind.values}
    owner_client.post(
        reverse("accounts:settings"), {"section": "notifications", **dict.fromkeys(NotificationKind.values, "on")}
    )
    assert all(notifications.preferences_for(owner).values())


def test_saving_e_mail_preferences_leaves_seller_settings_alone(owner_client, tenant):
    before = tenant.settings.business_name
    owner_client.post(reverse("accounts:settings"), {"section": "notifications"})
    tenant.settings.refresh_from_db()
    assert tenant.settings.business_name == before


# --- pre-registration approved ---------------------------------------------------------------


@pytest.fixture
def requested(tenant, owner):
    return PreRegistration.objects.create(email="fatture-login@example.com", requested_by=owner, tenant=tenant)


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("admin@example.com", "admin-pass-123456"))
    return client


def test_admin_approval_action_e_mails_the_requester(
    admin_client, requested, owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post("/admin/accounts/preregistration/", {"action": "approve", "_selected_action": [requested.pk]})
    assert [m.to for m in mail.outbox] == [[owner.email]]
    message = mail.outbox[0]
    assert message.subject == "[BrickInvoice] You can now connect Fatture in Cloud"
    assert "fatture-login@example.com" in message.body and f"{BASE}/home/accounting/connect" in message.body
    # Approving again changes nothing and sends nothing.
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post("/admin/accounts/preregistration/", {"action": "approve", "_selected_action": [requested.pk]})
    assert len(mail.outbox) == 1


def test_approving_in_the_change_form_e_mails_the_requester(
    admin_client, requested, owner, django_capture_on_commit_callbacks
):
    url = f"/admin/accounts/preregistration/{requested.pk}/change/"
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, {"email": requested.email, "status": "approved", "note": ""})
    assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [[owner.email]]


def test_rejection_sends_nothing(admin_client, requested, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post("/admin/accounts/preregistration/", {"action": "reject", "_selected_action": [requested.pk]})
    assert mail.outbox == []


def test_an_e_mail_added_by_an_admin_reaches_the_user_who_signs_in_with_it(admin_client, owner):
    from accounts.services import preregistration_notify_approved

    added = PreRegistration.objects.create(email="OWNER@example.com", status=PreRegistration.Status.APPROVED)
    assert preregistration_notify_approved(preregistration_id=added.pk)
    assert [m.to for m in mail.outbox] == [[owner.email]]
    stranger = PreRegistration.objects.create(email="nobody@example.com", status=PreRegistration.Status.APPROVED)
    assert not preregistration_notify_approved(preregistration_id=stranger.pk)


# --- allauth's own e-mails carry the product's name --------------------------------------------


def test_allauth_e_mails_greet_with_the_product_name_not_the_host(client, owner):
    client.post(reverse("account_reset_password"), {"email": owner.email})
    message = mail.outbox[0]
    assert message.subject.startswith("[BrickInvoice] ")
    assert "Hello from BrickInvoice!" in message.body and "Hello from testserver" not in message.body
    assert message.from_email == "BrickInvoice <no-reply@brickinvoice.example>"
