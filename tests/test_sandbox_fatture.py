"""The fake Fatture in Cloud: OAuth consent and tokens (rotation), the API subset with the spec's
shapes (pagination, q filters, validation errors), numbering, quotas and fault hooks."""

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from freezegun import freeze_time

from sandbox.demo import (
    CONTROLLED_COMPANY_ID,
    DEMO_COMPANY_ID,
    SELLER_EMAIL,
    STRANGER_COMPANY_ID,
    STRANGER_EMAIL,
    demo_fatture_load,
)
from sandbox.fatture_oauth import tokens_expire, tokens_issue
from sandbox.faults import fault_inject
from sandbox.models import SandboxFattureDocument, SandboxFattureUser

pytestmark = pytest.mark.urls("sandbox.test_urls")
BASE = "/sandbox/fatture"
CLIENT_ID, CLIENT_SECRET = "sandbox-client", "sandbox-secret"
REDIRECT = "http://testserver/home/accounting/callback"
SCOPE = (
    "entity.clients:r entity.clients:a issued_documents.invoices:r issued_documents.invoices:a products:r settings:r"
)
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def fic(db, settings):
    settings.FATTURE_CLIENT_ID, settings.FATTURE_CLIENT_SECRET = CLIENT_ID, CLIENT_SECRET
    demo_fatture_load()


@pytest.fixture
def api(fic, client):
    """Calls with a bearer token of the seller (all the product's scopes)."""
    token = tokens_issue(user=SandboxFattureUser.objects.get(email=SELLER_EMAIL), client_id=CLIENT_ID, scope=SCOPE)

    class Api:
        access = token["access_token"]

        def get(self, path, **params):
            return client.get(f"{BASE}{path}", params, HTTP_AUTHORIZATION=f"Bearer {self.access}")

        def post(self, path, body):
            return client.post(
                f"{BASE}{path}", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {self.access}"
            )

        def put(self, path, body):
            return client.put(
                f"{BASE}{path}", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {self.access}"
            )

    return Api()


def company(path: str, company_id: int = DEMO_COMPANY_ID) -> str:
    return f"/c/{company_id}{path}"


# --- OAuth ----------------------------------------------------------------------------------------


def authorize_params(**extra) -> dict:
    return {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT,
        "scope": SCOPE,
        "state": "st-123",
        **extra,
    }


def approve(client, email=SELLER_EMAIL) -> str:
    user = SandboxFattureUser.objects.get(email=email)
    response = client.post(f"{BASE}/oauth/authorize", {**authorize_params(), "decision": "approve", "user": user.pk})
    assert response.status_code == 302
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["state"] == ["st-123"]
    return query["code"][0]


def token_call(client, **form):
    body = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **form}
    return client.post(f"{BASE}/oauth/token", urlencode(body), content_type=FORM)


def test_consent_page_shows_the_app_the_scopes_and_both_sandbox_users(fic, client):
    page = client.get(f"{BASE}/oauth/authorize", authorize_params()).content.decode()

    assert "BrickInvoice" in page
    assert "Write permission to the issued Invoices" in page and "issued_documents.invoices:a" in page
    assert SELLER_EMAIL in page and STRANGER_EMAIL in page
    assert "Approve" in page and "Deny" in page


def test_approve_redirects_with_code_and_state(fic, client):
    code = approve(client)

    assert code.startswith("c/")


def test_deny_redirects_with_access_denied_and_state(fic, client):
    response = client.post(f"{BASE}/oauth/authorize", {**authorize_params(), "decision": "deny"})

    query = parse_qs(urlsplit(response["Location"]).query)
    assert response["Location"].startswith(REDIRECT)
    assert query["error"] == ["access_denied"] and query["state"] == ["st-123"]


def test_unknown_client_is_shown_on_the_page_without_callback(fic, client):
    response = client.get(f"{BASE}/oauth/authorize", authorize_params(client_id="someone-else"))

    assert response.status_code == 400
    assert "Unknown application" in response.content.decode()


def test_code_token_refresh_rotates_and_the_old_refresh_token_dies(fic, client):
    code = approve(client)
    first = token_call(client, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
    assert first.status_code == 200
    tokens = first.json()
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 86400
    assert tokens["access_token"].startswith("a/") and tokens["refresh_token"].startswith("r/")

    again = token_call(client, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
    refreshed = token_call(client, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    replayed = token_call(client, grant_type="refresh_token", refresh_token=tokens["refresh_token"])

    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"  # codes are single use
    assert refreshed.status_code == 200
    new = refreshed.json()
    assert new["refresh_token"] != tokens["refresh_token"] and new["access_token"] != tokens["access_token"]
    assert replayed.status_code == 400 and replayed.json()["error"] == "invalid_grant"
    info = client.get(f"{BASE}/user/info", HTTP_AUTHORIZATION=f"Bearer {new['access_token']}")
    assert info.json()["data"]["email"] == SELLER_EMAIL
    second = token_call(client, grant_type="refresh_token", refresh_token=new["refresh_token"])
    assert second.status_code == 200


def test_token_endpoint_checks_client_secret_and_redirect_uri(fic, client):
    code = approve(client)

    bad_client = client.post(
        f"{BASE}/oauth/token",
        urlencode(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT,
                "client_id": CLIENT_ID,
                "client_secret": "wrong",
            }
        ),
        content_type=FORM,
    )
    bad_redirect = token_call(client, grant_type="authorization_code", code=code, redirect_uri=REDIRECT + "/")
    missing = token_call(client, grant_type="authorization_code", redirect_uri=REDIRECT)

    assert bad_client.status_code == 401 and bad_client.json()["error"] == "invalid_client"
    assert bad_redirect.status_code == 400 and bad_redirect.json()["error"] == "invalid_grant"
    assert missing.json() == {
        "error": "invalid_request",
        "error_description": "The code field is required when grant type is authorization_code.",
    }


def test_token_endpoint_accepts_a_json_body_too(fic, client):
    code = approve(client)
    body = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }

    response = client.post(f"{BASE}/oauth/token", body, content_type="application/json")

    assert response.status_code == 200 and "access_token" in response.json()


# --- user -----------------------------------------------------------------------------------------


def test_user_info_has_the_spec_shape(api):
    body = api.get("/user/info").json()

    assert body["data"]["email"] == SELLER_EMAIL
    assert body["data"]["name"] == "Mario Rossi"
    assert body["email_confirmation_state"] == {"need_confirmation": False}
    assert set(body["info"]) == {
        "need_marketing_consents_confirmation",
        "need_password_change",
        "need_terms_of_service_confirmation",
    }


def test_user_companies_include_an_accountants_controlled_companies(api):
    companies = api.get("/user/companies").json()["data"]["companies"]

    by_type = {c["type"]: c for c in companies}
    assert by_type["company"]["id"] == DEMO_COMPANY_ID
    assert [c["id"] for c in by_type["accountant"]["controlled_companies"]] == [CONTROLLED_COMPANY_ID]


def test_requests_without_a_valid_token_answer_401(api, client):
    missing = client.get(f"{BASE}/user/info")
    wrong = client.get(f"{BASE}/user/info", HTTP_AUTHORIZATION="Bearer a/nope")
    tokens_expire()
    expired = api.get("/user/info")

    for response in (missing, wrong, expired):
        assert response.status_code == 401
        assert "message" in response.json()["error"]


def test_a_company_the_user_does_not_control_is_forbidden(api):
    response = api.get(company("/products", STRANGER_COMPANY_ID))

    assert response.status_code == 403
    assert "Retry-After" not in response


def test_controlled_company_is_reachable(api):
    assert api.get(company("/info/vat_types", CONTROLLED_COMPANY_ID)).status_code == 200


def test_a_missing_scope_answers_403_without_retry_after(fic, client):
    user = SandboxFattureUser.objects.get(email=SELLER_EMAIL)
    token = tokens_issue(user=user, client_id=CLIENT_ID, scope="products:r")["access_token"]

    response = client.get(f"{BASE}{company('/info/vat_types')}", HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.status_code == 403 and "Retry-After" not in response


# --- catalogue ------------------------------------------------------------------------------------


def test_vat_types_are_not_paginated_and_carry_the_natura(api):
    body = api.get(company("/info/vat_types")).json()

    assert set(body) == {"data"}
    by_natura = {v["ei_type"]: v for v in body["data"] if v["ei_type"]}
    assert by_natura["N5"]["value"] == 0 and "art. 36" in by_natura["N5"]["description"]
    assert by_natura["N3.1"]["value"] == 0
    assert any(v["value"] == 22 and v["id"] == 0 for v in body["data"])


def test_products_are_paginated_with_the_spec_fields(api):
    first = api.get(company("/products")).json()
    second = api.get(company("/products"), page=2, per_page=5, fields="id,name,code").json()

    assert first["per_page"] == 5 and first["current_page"] == 1 and len(first["data"]) == 5
    assert first["total"] > 10 and first["last_page"] == -(-first["total"] // 5)
    assert first["prev_page_url"] is None and "page=2" in first["next_page_url"]
    assert (first["from"], first["to"]) == (1, 5)
    assert second["current_page"] == 2 and (second["from"], second["to"]) == (6, 10)
    assert set(second["data"][0]) == {"id", "name", "code"}
    assert "default_vat" in first["data"][0]


def test_per_page_above_100_is_a_validation_error(api):
    response = api.get(company("/products"), per_page=101)

    assert response.status_code == 422
    assert "per_page" in response.json()["error"]["validation_result"]


def test_one_product(api):
    product_id = api.get(company("/products"), per_page=1).json()["data"][0]["id"]

    assert api.get(company(f"/products/{product_id}")).json()["data"]["id"] == product_id
    assert api.get(company("/products/999999999")).status_code == 404


def test_wrong_vat_product_exists_for_the_mismatch_demo(api):
    products = api.get(company("/products"), per_page=100, q="code = 'GEST-10'").json()["data"]

    assert [p["default_vat"]["value"] for p in products] == [10]


# --- clients --------------------------------------------------------------------------------------


def create_client(api, **data) -> dict:
    response = api.post(
        company("/entities/clients"),
        {"data": {"name": "Seán O'Brien", "code": "BL:obrien_bricks", "country_iso": "IE", **data}},
    )
    assert response.status_code == 200, response.content
    return response.json()["data"]


def test_client_q_filter_with_an_apostrophe(api):
    obrien = create_client(api)
    create_client(api, name="Anna Müller", code="BL:brickfan_berlin")

    by_name = api.get(company("/entities/clients"), q="name = 'Seán O''Brien'", fields="id,code,name").json()
    either = api.get(company("/entities/clients"), q="code = 'BL:nobody' or name = 'seán o''brien'").json()
    by_code = api.get(company("/entities/clients"), q="code = 'BL:brickfan_berlin'").json()

    assert by_name["data"] == [{"id": obrien["id"], "code": "BL:obrien_bricks", "name": "Seán O'Brien"}]
    assert [c["id"] for c in either["data"]] == [obrien["id"]]
    assert [c["name"] for c in by_code["data"]] == ["Anna Müller"]


def test_malformed_q_is_a_validation_error(api):
    response = api.get(company("/entities/clients"), q="name = 'unterminated")

    assert response.status_code == 422


def test_client_create_needs_a_name_and_put_is_partial(api):
    missing = api.post(company("/entities/clients"), {"data": {"code": "X"}})
    client = create_client(api, email="sean@example.ie")

    updated = api.put(
        company(f"/entities/clients/{client['id']}"), {"data": {"name": "Seán O'Brien", "address_city": "Dublin"}}
    )
    fetched = api.get(company(f"/entities/clients/{client['id']}")).json()["data"]

    assert missing.status_code == 422
    assert missing.json()["error"]["validation_result"] == {"data.name": ["The data.name field is required."]}
    assert updated.status_code == 200
    assert fetched["address_city"] == "Dublin" and fetched["email"] == "sean@example.ie"


def test_client_of_another_company_is_not_found(api):
    client = create_client(api)

    assert api.get(company(f"/entities/clients/{client['id']}", CONTROLLED_COMPANY_ID)).status_code == 404


# --- issued documents -----------------------------------------------------------------------------


def invoice(client_id=None, *, payments=(), fix=False, items=None, **data) -> dict:
    entity = {"id": client_id, "name": "Seán O'Brien"} if client_id else {"name": "Walk-in buyer"}
    body = {
        "data": {
            "type": "invoice",
            "entity": entity,
            "date": "2025-03-05",
            "currency": {"id": "EUR"},
            "language": {"code": "it", "name": "Italiano"},
            "subject": "BrickInvoice order BL-24680135",
            "visible_subject": "Order 24680135",
            "use_gross_prices": True,
            "items_list": items
            if items is not None
            else [
                {"product_id": None, "name": "LEGO goods", "qty": 1, "gross_price": 22.29, "vat": {"id": 0}},
                {"name": "Shipping", "qty": 1, "gross_price": 6.90, "vat": {"id": 0}},
            ],
            "payments_list": list(payments),
            **data,
        }
    }
    if fix:
        body["options"] = {"fix_payments": True}
    return body


def paid(amount) -> dict:
    return {"amount": amount, "due_date": "2025-03-05", "status": "paid", "paid_date": "2025-03-05"}


def test_invoice_is_created_with_totals_and_the_next_number(api):
    client = create_client(api)

    first = api.post(company("/issued_documents"), invoice(client["id"], payments=[paid(29.19)]))
    second = api.post(company("/issued_documents"), invoice(client["id"], payments=[paid(29.19)]))
    other_series = api.post(company("/issued_documents"), invoice(client["id"], numeration="/B"))

    doc = first.json()["data"]
    assert first.status_code == 200
    assert (doc["number"], doc["numeration"], doc["year"]) == (1, "", 2025)
    assert (doc["amount_gross"], doc["amount_net"], doc["amount_vat"]) == (29.19, 23.93, 5.26)
    assert doc["entity"]["id"] == client["id"] and doc["entity"]["country_iso"] == "IE"  # filled from the client
    assert doc["payments_list"][0]["status"] == "paid"
    assert second.json()["data"]["number"] == 2
    assert other_series.json()["data"]["number"] == 1
    assert doc["url"].endswith(f"/sandbox/fatture/view/{doc['id']}")


def test_net_prices_compute_vat_per_rate(api):
    items = [
        {"name": "A", "qty": 2, "net_price": 10, "vat": {"id": 0}},
        {"name": "B", "qty": 1, "net_price": 5.555, "vat": {"id": 3}},
    ]

    doc = api.post(company("/issued_documents"), invoice(items=items, use_gross_prices=False)).json()["data"]

    assert (doc["amount_net"], doc["amount_vat"], doc["amount_gross"]) == (25.56, 4.4, 29.96)


def test_payments_that_do_not_match_the_total_answer_422_with_the_totals(api):
    response = api.post(company("/issued_documents"), invoice(payments=[paid(29.00)]))

    body = response.json()
    assert response.status_code == 422
    assert body["error"]["message"] == "Il totale dei pagamenti non corrisponde al totale da pagare."
    assert body["extra"]["totals"]["amount_due"] == 29.19 and body["extra"]["totals"]["payments_sum"] == 29
    assert not SandboxFattureDocument.objects.exists()


def test_fix_payments_adjusts_the_last_payment(api):
    response = api.post(company("/issued_documents"), invoice(payments=[paid(10), paid(19.00)], fix=True))

    assert [p["amount"] for p in response.json()["data"]["payments_list"]] == [10, 19.19]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"items": [{"name": "X", "qty": 1, "gross_price": 5, "vat": {"id": 999}}]}, "data.items_list.0.vat.id"),
        ({"items": [{"name": "X", "qty": 1, "gross_price": 5, "vat": {"id": 7}}]}, "data.items_list.0.vat.id"),
        ({"items": [{"name": "X", "qty": 1, "net_price": 5, "vat": {"id": 0}}]}, "data.items_list.0.gross_price"),
        (
            {"items": [{"product_id": 987654321, "qty": 1, "gross_price": 5, "vat": {"id": 0}}]},
            "data.items_list.0.product_id",
        ),
        ({"items": []}, "data.items_list"),
        ({"client_id": 987654321}, "data.entity.id"),
        ({"date": "05/03/2025"}, "data.date"),
    ],
)
def test_invalid_invoices_answer_422_naming_the_field(api, change, field):
    response = api.post(company("/issued_documents"), invoice(**change))

    assert response.status_code == 422
    assert field in response.json()["error"]["validation_result"]


def test_body_without_data_answers_422(api):
    response = api.post(company("/issued_documents"), {"type": "invoice"})

    assert response.status_code == 422
    assert response.json()["error"]["validation_result"] == {"data": ["The data field is required."]}


def test_an_explicit_number_already_used_is_a_conflict(api):
    api.post(company("/issued_documents"), invoice(number=7))

    assert api.post(company("/issued_documents"), invoice(number=7)).status_code == 409
    assert api.post(company("/issued_documents"), invoice()).json()["data"]["number"] == 8


def test_issued_documents_are_found_by_marker_and_by_entity_and_date(api):
    client = create_client(api)
    mine = api.post(company("/issued_documents"), invoice(client["id"])).json()["data"]
    api.post(company("/issued_documents"), invoice(client["id"], subject="BrickInvoice order BL-999"))
    api.post(company("/issued_documents"), invoice(client["id"], date="2025-03-06"))

    by_marker = api.get(
        company("/issued_documents"), type="invoice", q="subject contains 'BL-24680135'", fields="id,number,subject"
    ).json()
    by_entity = api.get(
        company("/issued_documents"),
        type="invoice",
        per_page=100,
        q=f"entity.id = {client['id']} and date = '2025-03-05'",
    ).json()

    assert [d["id"] for d in by_marker["data"]] == [mine["id"], mine["id"] + 2]
    assert set(by_marker["data"][0]) == {"id", "number", "subject"}
    assert by_entity["total"] == 2
    assert by_entity["data"][0]["items_list"] is None  # basic fieldset


def test_document_list_needs_a_known_type_and_its_scope(api):
    assert api.get(company("/issued_documents")).status_code == 422
    assert api.get(company("/issued_documents"), type="invoice").json()["data"] == []
    assert api.get(company("/issued_documents"), type="credit_note").status_code == 403  # scope not granted


def test_one_document_is_detailed(api):
    doc = api.post(company("/issued_documents"), invoice()).json()["data"]

    fetched = api.get(company(f"/issued_documents/{doc['id']}")).json()["data"]

    assert fetched["items_list"][0]["name"] == "LEGO goods"
    assert api.get(company(f"/issued_documents/{doc['id']}", CONTROLLED_COMPANY_ID)).status_code == 404


def test_invoice_view_page_renders_the_invoice(api, client):
    doc = api.post(company("/issued_documents"), invoice(create_client(api)["id"], payments=[paid(29.19)]))
    doc = doc.json()["data"]

    page = client.get(f"{BASE}/view/{doc['id']}").content.decode()

    assert f"n. {doc['number']}" in page and "2025-03-05" in page
    assert "Seán O&#x27;Brien" in page
    assert "29.19" in page and "LEGO goods" in page and "Demo Bricks S.r.l." in page


# --- quotas and faults ----------------------------------------------------------------------------


def test_successful_company_calls_carry_the_rate_limit_headers(api):
    response = api.get(company("/info/vat_types"))

    assert response["RateLimit-HourlyLimit"] == "1000"
    assert int(response["RateLimit-HourlyRemaining"]) == 999
    assert response["RateLimit-MonthlyLimit"] == "40000"


def test_short_term_limit_answers_429_with_retry_after(api, settings):
    settings.SANDBOX_FATTURE_SHORT_LIMIT = 3
    for _ in range(3):
        assert api.get(company("/info/vat_types")).status_code == 200

    response = api.get(company("/info/vat_types"))

    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 300
    assert api.get(company("/info/vat_types", CONTROLLED_COMPANY_ID)).status_code == 200  # per company


def _call(api, when: str):
    with freeze_time(when):
        return api.get(company("/info/vat_types"))


def test_the_short_limit_is_a_rolling_window_not_fixed_buckets(api, settings):
    settings.SANDBOX_FATTURE_SHORT_LIMIT, settings.SANDBOX_FATTURE_SHORT_WINDOW = 3, 300
    for when in ("10:00:00", "10:02:00", "10:04:00"):
        assert _call(api, f"2026-03-02 {when}").status_code == 200
    refused = _call(api, "2026-03-02 10:04:59")
    assert refused.status_code == 429 and refused["Retry-After"] == "1"  # 10:00:00 leaves at 10:05:00
    assert _call(api, "2026-03-02 10:05:00.500000").status_code == 200
    # A fixed bucket would start afresh at 10:05; the rolling window still holds 10:02, 10:04, 10:05.
    late = _call(api, "2026-03-02 10:05:30")
    assert late.status_code == 429 and late["Retry-After"] == "90"  # until 10:02:00 leaves


def test_the_month_is_counted_and_a_benchmark_clock_shortens_it(api, settings):
    settings.SANDBOX_FATTURE_MONTHLY_LIMIT, settings.SANDBOX_FATTURE_MONTH_SECONDS = 2, 600
    assert _call(api, "2026-03-02 10:01:00")["RateLimit-MonthlyRemaining"] == "1"
    assert _call(api, "2026-03-02 10:02:00").status_code == 200
    refused = _call(api, "2026-03-02 10:03:00")
    assert refused.status_code == 403 and refused["Retry-After"] == "420"  # the 600-s month ends at 10:10
    assert _call(api, "2026-03-02 10:10:01").status_code == 200


def test_the_calendar_month_answers_403_until_the_first(api, settings):
    settings.SANDBOX_FATTURE_MONTHLY_LIMIT = 1
    assert _call(api, "2026-03-31 23:00:00").status_code == 200
    refused = _call(api, "2026-03-31 23:00:00")
    assert refused.status_code == 403 and refused["Retry-After"] == "3600"
    assert _call(api, "2026-04-01 00:00:01").status_code == 200


def test_hourly_quota_answers_403_with_retry_after(api, settings):
    settings.SANDBOX_FATTURE_HOURLY_LIMIT = 2
    api.get(company("/info/vat_types"))
    last = api.get(company("/info/vat_types"))

    response = api.get(company("/info/vat_types"))

    assert last["RateLimit-HourlyRemaining"] == "0"
    assert response.status_code == 403
    assert 1 <= int(response["Retry-After"]) <= 3600


def test_a_faster_quota_clock_shortens_the_hour(api, settings):
    """The pipeline benchmark's clock: a 60-second quota hour resets within 60 seconds."""
    settings.SANDBOX_FATTURE_HOURLY_LIMIT, settings.SANDBOX_FATTURE_HOUR_SECONDS = 1, 60
    api.get(company("/info/vat_types"))

    response = api.get(company("/info/vat_types"))

    assert response.status_code == 403
    assert 1 <= int(response["Retry-After"]) <= 60


def test_fault_error_after_creates_the_invoice_but_answers_500(api):
    fault_inject(operation="fatture.issued_documents.create", mode="error_after", count=1)

    failed = api.post(company("/issued_documents"), invoice())
    ok = api.post(company("/issued_documents"), invoice())

    assert failed.status_code == 500
    assert ok.status_code == 200 and ok.json()["data"]["number"] == 2
    assert SandboxFattureDocument.objects.count() == 2


def test_fault_error_before_creates_nothing(api):
    fault_inject(operation="fatture.issued_documents.create", mode="error_before", count=2)

    assert [api.post(company("/issued_documents"), invoice()).status_code for _ in range(3)] == [500, 500, 200]
    assert SandboxFattureDocument.objects.count() == 1


def test_fault_timeout_after_stalls_after_creating(api, settings):
    fault_inject(operation="fatture.issued_documents.create", mode="timeout_after", delay_seconds=0.2)

    response = api.post(company("/issued_documents"), invoice())

    assert response.status_code == 200  # the test client waits; a real client with a short timeout gives up
    assert SandboxFattureDocument.objects.count() == 1


def test_latency_setting_delays_calls(api, settings):
    import time

    settings.SANDBOX_FATTURE_LATENCY_MS = 150
    started = time.monotonic()
    api.get("/user/info")

    assert time.monotonic() - started >= 0.15
