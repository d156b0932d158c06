"""The product's own clients, unchanged, against the fakes over real HTTP: the proof that the
sandbox speaks the same HTTP as the services (only the base URLs differ)."""

from datetime import date
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from fatture import catalogue as catalogue_svc
from fatture import connection as connection_svc
from fatture import documents, oauth
from fatture.backend import FattureBackend
from fatture.client import FattureClient, get_with_token
from invoicing.accounting import DraftLine, InvoiceDraft
from marketplaces.bricklink.client import BrickLinkClient, BrickLinkCredentials
from marketplaces.brickowl.client import BrickOwlClient
from marketplaces.errors import BadCredentials, IpMismatch
from sandbox.demo import (
    BRICKLINK_CREDENTIALS,
    BRICKLINK_IP_BOUND_TOKEN,
    BRICKOWL_API_KEY,
    CONTROLLED_COMPANY_ID,
    DEMO_COMPANY_ID,
    SELLER_EMAIL,
    demo_fatture_load,
    demo_stores_load,
)
from sandbox.fatture_oauth import tokens_expire
from sandbox.models import SandboxFattureUser
from tests.factories_fatture import FattureConnectionFactory

pytestmark = pytest.mark.urls("sandbox.test_urls")
REDIRECT = "http://localhost/home/accounting/callback"


@pytest.fixture
def sandbox(live_server, settings, monkeypatch):
    base = f"{live_server.url}/sandbox"
    settings.BRICKLINK_API_URL = f"{base}/bricklink"
    settings.BRICKOWL_API_URL = f"{base}/brickowl"
    settings.FATTURE_API_URL = f"{base}/fatture"
    settings.FATTURE_TOKEN_URL = f"{base}/fatture/oauth/token"
    settings.FATTURE_AUTHORIZE_URL = f"{base}/fatture/oauth/authorize"
    settings.FATTURE_INVOICE_VIEW_URL = f"{base}/fatture/view/{{id}}"
    settings.FATTURE_CLIENT_ID, settings.FATTURE_CLIENT_SECRET = "sandbox-client", "sandbox-secret"
    settings.MARKETPLACE_RETRIES = 0
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the live server speaks http
    demo_stores_load(today=date(2025, 3, 10))
    demo_fatture_load()
    return base


def test_bricklink_client_reads_orders_batches_and_both_filed_listings(sandbox):
    client = BrickLinkClient(BrickLinkCredentials.from_dict(BRICKLINK_CREDENTIALS))

    client.check_credentials()
    orders = client.list_all_orders()
    batches = client.get_order_items("24680135")

    assert {"24680135", "24680149"} <= {str(o["order_id"]) for o in orders}  # unfiled and filed
    assert [len(b) for b in batches] == [3, 1]
    assert client.get_order("24680141")["shipping"]["address"]["country_code"] == "UK"


def test_bricklink_client_maps_bad_secret_and_ip_bound_token(sandbox):
    wrong = BrickLinkCredentials.from_dict({**BRICKLINK_CREDENTIALS, "token_secret": "WRONG"})
    bound = BrickLinkCredentials.from_dict(
        {
            **BRICKLINK_CREDENTIALS,
            "token_value": BRICKLINK_IP_BOUND_TOKEN["value"],
            "token_secret": BRICKLINK_IP_BOUND_TOKEN["secret"],
        }
    )

    with pytest.raises(BadCredentials):
        BrickLinkClient(wrong).list_orders(filed=False)
    with pytest.raises(IpMismatch):
        BrickLinkClient(bound).list_orders(filed=False)


def test_brickowl_client_reads_orders_and_refuses_a_bad_key(sandbox):
    client = BrickOwlClient(BRICKOWL_API_KEY)

    rows = client.list_orders_since(0, limit=5)  # several capped pages
    view = client.order_view("7654321")
    items = client.order_items("7654321")

    assert len(rows) == len({r["order_id"] for r in rows}) >= 20
    assert view["base_order_total"] == "29.19" and len(items) == 4
    with pytest.raises(BadCredentials):
        BrickOwlClient("not-a-key").user_details()


def test_fatture_oauth_flow_with_the_product_helpers(sandbox):
    url = oauth.authorization_url(state="xyz", redirect_uri=REDIRECT)
    session = requests.Session()
    page = session.get(url, timeout=10)
    assert page.status_code == 200 and "Approve" in page.text
    csrf = page.text.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    form = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    user = SandboxFattureUser.objects.get(email=SELLER_EMAIL)
    answer = session.post(
        url.split("?")[0],
        data={**form, "csrfmiddlewaretoken": csrf, "decision": "approve", "user": user.pk},
        allow_redirects=False,
        timeout=10,
    )
    callback = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert callback["state"] == ["xyz"]

    tokens = oauth.token_from_code(code=callback["code"][0], redirect_uri=REDIRECT)
    refreshed = oauth.token_refresh(refresh_token=tokens.refresh_token)

    assert get_with_token(refreshed.access_token, "/user/info")["data"]["email"] == SELLER_EMAIL
    with pytest.raises(oauth.OAuthRejected):
        oauth.token_refresh(refresh_token=tokens.refresh_token)  # rotated away


@pytest.fixture
def connection(sandbox):
    code = _code()
    tokens = oauth.token_from_code(code=code, redirect_uri=REDIRECT)
    return FattureConnectionFactory(
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        token_expires_at=tokens.expires_at,
        fatture_email=SELLER_EMAIL,
        company_id=DEMO_COMPANY_ID,
        company_name="Demo Bricks S.r.l.",
    )


def _code() -> str:
    from django.test import Client

    user = SandboxFattureUser.objects.get(email=SELLER_EMAIL)
    response = Client().post(
        "/sandbox/fatture/oauth/authorize",
        {
            "response_type": "code",
            "client_id": "sandbox-client",
            "redirect_uri": REDIRECT,
            "state": "s",
            "scope": " ".join(oauth.SCOPES),
            "decision": "approve",
            "user": user.pk,
        },
    )
    return parse_qs(urlsplit(response["Location"]).query)["code"][0]


def test_fatture_services_read_companies_and_the_catalogue(connection):
    companies = {c.id for c in connection_svc.companies_list(connection=connection)}
    catalogue = {p.code: p for p in catalogue_svc.catalogue(connection=connection)}

    assert {DEMO_COMPANY_ID, CONTROLLED_COMPANY_ID} <= companies
    assert catalogue["MRG-IT"].vat_ei_type == "N5" and catalogue["MRG-IT"].vat_value == 0
    assert catalogue["GEST-10"].vat_value == 10


def test_product_invoice_payload_is_accepted_numbered_and_found_again(connection):
    api = FattureClient(connection)
    customer = {
        "code": "BL:obrien_bricks",
        "name": "Seán O'Brien",
        "country_iso": "IE",
        "address_street": "14 O'Connell Street",
        "address_city": "Dublin",
    }
    client_id = documents.client_sync(api, customer, known_client_id=None)
    assert documents.client_sync(api, customer, known_client_id=None) == client_id  # found by code
    catalogue = {p.code: p for p in catalogue_svc.catalogue(connection=connection)}
    lines = (
        DraftLine(catalogue["STD-UE"].id, "LEGO parts", "", Decimal("22.29"), 0),
        DraftLine(catalogue["SPED"].id, "Shipping", "", Decimal("6.90"), 0),
    )
    draft = InvoiceDraft(
        client_id=client_id,
        entity=customer,
        date=date(2025, 3, 5),
        currency="EUR",
        visible_subject="Sale of LEGO parts",
        marker="BI:order:24680135",
        lines=lines,
        total=Decimal("29.19"),
        paid_date=date(2025, 3, 5),
    )

    created = documents.invoice_create(api, draft)
    found = documents.invoice_find(api, marker="BI:order:24680135", client_id=client_id, on=date(2025, 3, 5))

    assert created.number == "1" and found == created
    assert requests.get(FattureBackend(connection).view_url(created.id), timeout=10).status_code == 200


def test_fatture_client_refreshes_once_on_a_401(connection):
    old_access = connection.access_token
    tokens_expire()

    answer = FattureClient(connection).get("/user/companies")

    connection.refresh_from_db()
    assert answer["data"]["companies"]
    assert connection.access_token != old_access
