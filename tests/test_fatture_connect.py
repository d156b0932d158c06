"""The Fatture in Cloud connect flow: pre-registration, authorize redirect, state, callback,
Email Not Registered, company selection, disconnect, and secrets kept out of pages and admin."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.db import IntegrityError
from django.db import connection as db
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import PreRegistration
from accounts.services import preregistration_is_approved
from brickinvoice import crypto
from fatture.client import FattureClient
from fatture.errors import FattureNotConnected
from fatture.models import FattureConnection, ProductMapping
from tests.factories import MembershipFactory, UserFactory
from tests.factories_fatture import (
    ACCESS,
    NEW_ACCESS,
    NEW_REFRESH,
    REFRESH,
    FattureConnectionFactory,
    PreRegistrationFactory,
    ProductMappingFactory,
    api,
    companies,
    company,
    token_payload,
    token_url,
    user_info,
)

CLIENT_SECRET = "fic-client-secret-DO-NOT-LEAK"


@pytest.fixture(autouse=True)
def _fatture_app(settings):
    settings.FATTURE_CLIENT_ID = "bi-client-id"
    settings.FATTURE_CLIENT_SECRET = CLIENT_SECRET
    settings.PUBLIC_BASE_URL = ""


def _start(client) -> dict:
    response = client.post(reverse("fatture:start"), {"backend": "fatture_in_cloud"})
    assert response.status_code == 302
    return parse_qs(urlsplit(response["Location"]).query)


def _callback(client, **params):
    return client.get(reverse("fatture:callback"), params)


def _token_and_user(rsps, email="mario.rossi@example.com"):
    rsps.add(responses.POST, token_url(), json=token_payload(access=ACCESS, refresh=REFRESH))
    rsps.add(responses.GET, api("/user/info"), json=user_info(email))


def _raw_tokens(connection_id):
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT access_token, refresh_token FROM fatture_fattureconnection WHERE id = %s", [connection_id]
        )
        return cursor.fetchone()


# --- the authorize redirect ----------------------------------------------------------------------


def test_connect_button_redirects_to_authorize_url_with_scopes_and_state(owner_client, settings):
    response = owner_client.post(reverse("fatture:start"), {"backend": "fatture_in_cloud"})
    location = response["Location"]
    assert location.startswith(settings.FATTURE_AUTHORIZE_URL + "?")
    query = parse_qs(urlsplit(location).query)
    assert query["response_type"] == ["code"]
    assert query["client_id"] == ["bi-client-id"]
    assert query["redirect_uri"] == ["http://testserver/home/accounting/callback"]
    scopes = query["scope"][0].split(" ")
    for needed in ("entity.clients:a", "issued_documents.invoices:a", "products:r", "settings:r"):
        assert needed in scopes
    assert len(query["state"][0]) >= 32
    assert owner_client.session["fatture_oauth_state"]["state"] == query["state"][0]


def test_redirect_uri_uses_public_base_url_when_set(owner_client, settings):
    settings.PUBLIC_BASE_URL = "https://app.brickinvoice.example"
    query = _start(owner_client)
    assert query["redirect_uri"] == ["https://app.brickinvoice.example/home/accounting/callback"]


def test_each_start_issues_a_new_state(owner_client):
    assert _start(owner_client)["state"] != _start(owner_client)["state"]


def test_member_cannot_start_connecting(member_client):
    assert member_client.post(reverse("fatture:start"), {"backend": "fatture_in_cloud"}).status_code == 403


def test_connect_page_offers_package_dropdown_and_preregistration_notice(owner_client, owner):
    page = owner_client.get(reverse("fatture:connect")).content.decode()
    assert '<option value="fatture_in_cloud" selected>Fatture in Cloud</option>' in page
    assert "Connect to Fatture in Cloud" in page
    assert "Only pre-registered Fatture in Cloud accounts can be connected" in page
    assert f'value="{owner.email}"' in page  # the request form is prefilled with the account e-mail


# --- the whole flow ------------------------------------------------------------------------------


def test_full_connect_flow_stores_encrypted_tokens_and_asks_for_company(owner_client, tenant, rsps):
    PreRegistrationFactory(email="mario.rossi@example.com")
    _token_and_user(rsps)
    state = _start(owner_client)["state"][0]

    response = _callback(owner_client, code="c/AUTHCODE", state=state)

    connection = FattureConnection.objects.get(tenant=tenant)
    assert response.status_code == 302
    assert response["Location"] == reverse("fatture:company", kwargs={"public_id": connection.public_id})
    assert connection.status == FattureConnection.Status.CONNECTED
    assert connection.access_token == ACCESS and connection.refresh_token == REFRESH
    assert connection.fatture_email == "mario.rossi@example.com"
    assert abs(connection.token_expires_at - (timezone.now() + timedelta(hours=24))) < timedelta(minutes=1)
    token_body = parse_qs(rsps.calls[0].request.body)
    assert token_body["grant_type"] == ["authorization_code"]
    assert token_body["code"] == ["c/AUTHCODE"]
    assert token_body["client_id"] == ["bi-client-id"]
    assert token_body["client_secret"] == [CLIENT_SECRET]
    assert token_body["redirect_uri"] == ["http://testserver/home/accounting/callback"]
    assert rsps.calls[1].request.headers["Authorization"] == f"Bearer {ACCESS}"

    raw_access, raw_refresh = _raw_tokens(connection.pk)
    assert raw_access.startswith(crypto.MARKER) and ACCESS not in raw_access
    assert raw_refresh.startswith(crypto.MARKER) and REFRESH not in raw_refresh


def test_company_list_includes_accountants_controlled_companies_and_selection_is_saved(owner_client, tenant, rsps):
    connection = FattureConnectionFactory(tenant=tenant, company_id=None, company_name="")
    studio = company(
        cid=500,
        name="Studio Commercialista Bianchi",
        type_="accountant",
        controlled=[
            company(cid=12246, name="Mattoncini Rossi S.r.l."),
            company(cid=12247, name="Brick Verdi S.n.c."),
        ],
    )
    rsps.add(responses.GET, api("/user/companies"), json=companies(studio))
    url = reverse("fatture:company", kwargs={"public_id": connection.public_id})

    page = owner_client.get(url).content.decode()
    for name in ("Studio Commercialista Bianchi", "Mattoncini Rossi S.r.l.", "Brick Verdi S.n.c."):
        assert name in page
    assert "via Studio Commercialista Bianchi" in page

    response = owner_client.post(url, {"company": "12247"})
    assert response.status_code == 302 and response["Location"] == reverse("fatture:mapping")
    connection.refresh_from_db()
    assert (connection.company_id, connection.company_name) == (12247, "Brick Verdi S.n.c.")


def test_company_can_be_changed_later(owner_client, tenant, rsps):
    connection = FattureConnectionFactory(tenant=tenant)
    rsps.add(
        responses.GET,
        api("/user/companies"),
        json=companies(company(cid=12345, name="Rossi S.r.l."), company(cid=777, name="Second Shop")),
    )
    owner_client.post(reverse("fatture:company", kwargs={"public_id": connection.public_id}), {"company": "777"})
    connection.refresh_from_db()
    assert connection.company_id == 777


def test_saved_company_that_disappeared_shows_company_not_found(owner_client, tenant, rsps):
    connection = FattureConnectionFactory(tenant=tenant, company_id=999, company_name="Old Company")
    rsps.add(responses.GET, api("/user/companies"), json=companies(company(cid=12345)))
    page = owner_client.get(reverse("fatture:company", kwargs={"public_id": connection.public_id})).content.decode()
    assert "Company Not Found" in page and "Old Company" in page


# --- state ---------------------------------------------------------------------------------------


def test_state_mismatch_is_refused_without_exchanging_the_code(owner_client, tenant, rsps):
    PreRegistrationFactory(email="mario.rossi@example.com")
    _token_and_user(rsps)
    _start(owner_client)
    response = _callback(owner_client, code="c/AUTHCODE", state="forged-state")
    assert response.status_code == 400
    assert "Failed to Connect" in response.content.decode()
    assert len(rsps.calls) == 0
    assert not FattureConnection.objects.filter(tenant=tenant).exists()


def test_missing_state_is_refused(owner_client, rsps):
    _start(owner_client)
    response = _callback(owner_client, code="c/AUTHCODE")
    assert response.status_code == 400 and "Failed to Connect" in response.content.decode()
    assert len(rsps.calls) == 0


def test_callback_without_a_started_flow_is_refused(owner_client, rsps):
    response = _callback(owner_client, code="c/AUTHCODE", state="anything")
    assert response.status_code == 400 and len(rsps.calls) == 0


def test_replayed_state_is_refused(owner_client, tenant, rsps):
    PreRegistrationFactory(email="mario.rossi@example.com")
    _token_and_user(rsps)
    state = _start(owner_client)["state"][0]
    assert _callback(owner_client, code="c/AUTHCODE", state=state).status_code == 302
    calls_after_first = len(rsps.calls)

    replay = _callback(owner_client, code="c/AUTHCODE", state=state)
    assert replay.status_code == 400 and "Failed to Connect" in replay.content.decode()
    assert len(rsps.calls) == calls_after_first


def test_state_issued_to_another_session_is_refused(owner_client, tenant, rsps):
    state = _start(owner_client)["state"][0]
    co_owner = MembershipFactory(tenant=tenant, user=UserFactory()).user
    other_browser = Client()
    other_browser.force_login(co_owner)
    assert _callback(other_browser, code="c/AUTHCODE", state=state).status_code == 400
    assert len(rsps.calls) == 0


# --- OAuth errors and Email Not Registered -------------------------------------------------------


def test_denied_consent_shows_failed_to_connect(owner_client, tenant, rsps):
    state = _start(owner_client)["state"][0]
    response = _callback(owner_client, error="access_denied", state=state)
    page = response.content.decode()
    assert "Failed to Connect" in page and "not granted" in page
    assert len(rsps.calls) == 0
    assert not FattureConnection.objects.filter(tenant=tenant).exists()


def test_other_oauth_error_is_shown_with_its_description(owner_client, rsps):
    state = _start(owner_client)["state"][0]
    page = _callback(owner_client, error="invalid_scope", error_description="Scope not allowed", state=state)
    assert "Failed to Connect" in page.content.decode() and "invalid_scope" in page.content.decode()


def test_refused_code_exchange_shows_failed_to_connect(owner_client, tenant, rsps):
    rsps.add(
        responses.POST,
        token_url(),
        status=400,
        json={"error": "invalid_grant", "error_description": "The authorization code has expired."},
    )
    state = _start(owner_client)["state"][0]
    page = _callback(owner_client, code="c/OLD", state=state).content.decode()
    assert "Failed to Connect" in page and "invalid_grant" in page
    assert not FattureConnection.objects.filter(tenant=tenant).exists()


@pytest.mark.parametrize("status", [None, PreRegistration.Status.REQUESTED, PreRegistration.Status.REJECTED])
def test_email_not_registered_discards_tokens(owner_client, tenant, rsps, status):
    if status:
        PreRegistrationFactory(email="mario.rossi@example.com", status=status)
    _token_and_user(rsps)
    state = _start(owner_client)["state"][0]

    response = _callback(owner_client, code="c/AUTHCODE", state=state)

    page = response.content.decode()
    assert "Email Not Registered" in page
    assert "Ask for pre-registration" in page  # the hint and the way to act on it
    assert "mario.rossi@example.com" in page
    assert ACCESS not in page and REFRESH not in page
    assert not FattureConnection.objects.filter(tenant=tenant).exists()


def test_email_not_registered_leaves_an_existing_connection_untouched(owner_client, tenant, rsps):
    existing = FattureConnectionFactory(
        tenant=tenant, status=FattureConnection.Status.DISCONNECTED, access_token="", refresh_token=""
    )
    _token_and_user(rsps, email="someone.else@example.com")
    state = _start(owner_client)["state"][0]
    _callback(owner_client, code="c/AUTHCODE", state=state)
    existing.refresh_from_db()
    assert existing.access_token == "" and existing.status == FattureConnection.Status.DISCONNECTED


@pytest.mark.parametrize(
    ("approved", "login"),
    [
        ("Anna@Example.com", "anna@example.com"),
        ("anna@example.com", "ANNA@Example.COM"),
    ],
)
def test_preregistration_matches_email_case_insensitively(owner_client, tenant, rsps, approved, login):
    PreRegistrationFactory(email=approved)
    _token_and_user(rsps, email=login)
    state = _start(owner_client)["state"][0]
    assert _callback(owner_client, code="c/AUTHCODE", state=state).status_code == 302
    assert FattureConnection.objects.get(tenant=tenant).fatture_email == "anna@example.com"


def test_unconfirmed_fatture_email_is_refused(owner_client, tenant, rsps):
    PreRegistrationFactory(email="mario.rossi@example.com")
    info = user_info()
    info["email_confirmation_state"]["need_confirmation"] = True
    rsps.add(responses.POST, token_url(), json=token_payload())
    rsps.add(responses.GET, api("/user/info"), json=info)
    state = _start(owner_client)["state"][0]
    assert "Failed to Connect" in _callback(owner_client, code="c/X", state=state).content.decode()
    assert not FattureConnection.objects.filter(tenant=tenant).exists()


# --- pre-registration ----------------------------------------------------------------------------


def test_seller_requests_preregistration_and_sees_its_status(owner_client, owner, tenant):
    response = owner_client.post(
        reverse("fatture:preregistration"), {"email": "Mario.Rossi@Example.com", "message": "My FIC login"}
    )
    assert response.status_code == 302
    entry = PreRegistration.objects.get()
    assert (entry.email, entry.status, entry.requested_by, entry.tenant, entry.message) == (
        "mario.rossi@example.com",
        "requested",
        owner,
        tenant,
        "My FIC login",
    )
    page = owner_client.get(reverse("fatture:connect")).content.decode()
    assert "mario.rossi@example.com" in page and "waiting for approval" in page


def test_asking_again_does_not_reopen_a_rejected_request(owner_client):
    PreRegistrationFactory(email="mario.rossi@example.com", status=PreRegistration.Status.REJECTED)
    owner_client.post(reverse("fatture:preregistration"), {"email": "MARIO.rossi@example.com"})
    assert list(PreRegistration.objects.values_list("status", flat=True)) == ["rejected"]


def test_preregistration_email_is_unique_whatever_the_case(db):
    PreRegistration.objects.bulk_create([PreRegistration(email="Anna@Example.com")])  # bypasses save()
    with pytest.raises(IntegrityError):
        PreRegistration.objects.bulk_create([PreRegistration(email="anna@example.com")])


def test_preregistration_is_approved_selector(db):
    PreRegistrationFactory(email="approved@example.com")
    PreRegistrationFactory(email="waiting@example.com", status=PreRegistration.Status.REQUESTED)
    assert preregistration_is_approved("Approved@Example.com")
    assert not preregistration_is_approved("waiting@example.com")
    assert not preregistration_is_approved("unknown@example.com")
    assert not preregistration_is_approved("")


@pytest.fixture
def admin_client(client, db):
    admin = UserFactory(email="admin@brickinvoice.example", is_staff=True, is_superuser=True)
    client.force_login(admin)
    client.admin = admin
    return client


def test_admin_sees_pending_requests_and_approves_them_in_bulk(admin_client, tenant):
    waiting = [
        PreRegistrationFactory(email=f"seller{i}@example.com", status="requested", tenant=tenant) for i in range(2)
    ]
    PreRegistrationFactory(email="done@example.com", status="approved")
    changelist = reverse("admin:accounts_preregistration_changelist")

    page = admin_client.get(changelist, {"status__exact": "requested"}).content.decode()
    assert "seller0@example.com" in page and "seller1@example.com" in page and "done@example.com" not in page
    assert "seller1@example.com" in admin_client.get(changelist, {"q": "seller1"}).content.decode()

    admin_client.post(changelist, {"action": "approve", "_selected_action": [w.pk for w in waiting]})
    for entry in waiting:
        entry.refresh_from_db()
        assert entry.status == "approved" and entry.decided_by == admin_client.admin
        assert entry.decided_at is not None


def test_admin_rejects_in_bulk(admin_client):
    entry = PreRegistrationFactory(email="nope@example.com", status="requested")
    admin_client.post(
        reverse("admin:accounts_preregistration_changelist"), {"action": "reject", "_selected_action": [entry.pk]}
    )
    entry.refresh_from_db()
    assert entry.status == "rejected" and entry.decided_by == admin_client.admin


def test_admin_never_renders_tokens(admin_client, tenant):
    connection = FattureConnectionFactory(tenant=tenant)
    raw_access, raw_refresh = _raw_tokens(connection.pk)
    pages = [
        admin_client.get(reverse("admin:fatture_fattureconnection_changelist")),
        admin_client.get(reverse("admin:fatture_fattureconnection_change", args=[connection.pk])),
    ]
    for response in pages:
        assert response.status_code == 200
        content = response.content.decode()
        for secret in (ACCESS, REFRESH, raw_access, raw_refresh, "access_token", "refresh_token"):
            assert secret not in content
    assert "mario.rossi@example.com" in pages[1].content.decode()


# --- disconnect ----------------------------------------------------------------------------------


def test_disconnect_asks_for_confirmation_and_explains_revocation(owner_client, tenant):
    connection = FattureConnectionFactory(tenant=tenant)
    page = owner_client.get(reverse("fatture:disconnect", kwargs={"public_id": connection.public_id}))
    content = page.content.decode()
    assert "no webhook subscriptions" in content and "Impostazioni" in content
    connection.refresh_from_db()
    assert connection.status == FattureConnection.Status.CONNECTED  # GET changes nothing


def test_disconnect_deletes_tokens_keeps_preregistration_and_mappings(owner_client, tenant):
    prereg = PreRegistrationFactory(email="mario.rossi@example.com")
    connection = FattureConnectionFactory(tenant=tenant)
    ProductMappingFactory(tenant=tenant)

    response = owner_client.post(reverse("fatture:disconnect", kwargs={"public_id": connection.public_id}))

    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.status == FattureConnection.Status.DISCONNECTED
    assert _raw_tokens(connection.pk) == ("", "")
    assert connection.token_expires_at is None
    prereg.refresh_from_db()
    assert prereg.status == PreRegistration.Status.APPROVED
    assert ProductMapping.objects.filter(tenant=tenant).count() == 1
    with pytest.raises(FattureNotConnected):
        FattureClient(connection).get("/user/info")


def test_reconnecting_after_disconnect_needs_no_new_approval_and_restores_mappings(owner_client, tenant, rsps):
    from fatture.mapping import mapping_for

    PreRegistrationFactory(email="mario.rossi@example.com")
    connection = FattureConnectionFactory(tenant=tenant)
    ProductMappingFactory(tenant=tenant, slot="shipping", product_id=1004)
    owner_client.post(reverse("fatture:disconnect", kwargs={"public_id": connection.public_id}))
    assert mapping_for(tenant=tenant)["shipping"].product_id == 1004  # kept while disconnected

    rsps.add(responses.POST, token_url(), json=token_payload())
    rsps.add(responses.GET, api("/user/info"), json=user_info())
    state = _start(owner_client)["state"][0]
    assert _callback(owner_client, code="c/AGAIN", state=state).status_code == 302

    connection.refresh_from_db()
    assert connection.status == FattureConnection.Status.CONNECTED
    assert (connection.access_token, connection.refresh_token) == (NEW_ACCESS, NEW_REFRESH)
    assert mapping_for(tenant=tenant)["shipping"].product_id == 1004


def test_member_cannot_disconnect(member_client, tenant):
    connection = FattureConnectionFactory(tenant=tenant)
    url = reverse("fatture:disconnect", kwargs={"public_id": connection.public_id})
    assert member_client.post(url).status_code == 403
    connection.refresh_from_db()
    assert connection.status == FattureConnection.Status.CONNECTED


# --- secrets out of pages ------------------------------------------------------------------------


def test_tokens_never_appear_in_seller_pages(owner_client, tenant, rsps):
    connection = FattureConnectionFactory(tenant=tenant)
    raw_access, raw_refresh = _raw_tokens(connection.pk)
    rsps.add(responses.GET, api("/user/companies"), json=companies(company()))
    rsps.add(responses.GET, api("/c/12345/products"), json={"current_page": 1, "last_page": 1, "data": []})
    rsps.add(responses.GET, api("/c/12345/info/vat_types"), json={"data": []})
    urls = [
        reverse("fatture:connect"),
        reverse("fatture:mapping"),
        reverse("fatture:company", kwargs={"public_id": connection.public_id}),
        reverse("fatture:disconnect", kwargs={"public_id": connection.public_id}),
    ]
    for url in urls:
        response = owner_client.get(url)
        assert response.status_code == 200, url
        content = response.content.decode()
        for secret in (ACCESS, REFRESH, raw_access, raw_refresh, CLIENT_SECRET, "company-token-not-used"):
            assert secret not in content, url
