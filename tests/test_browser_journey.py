"""The whole seller journey in a real headless Chromium against the sandbox over real HTTP.

Log in → connect the sandbox BrickLink and BrickOwl stores → see the pre-registration state →
connect sandbox Fatture through the real OAuth redirect → pick a company → map the products →
Sync now → open the invoices from the orders page. Plus the Email Not Registered and VAT rate
mismatch paths. Debian's chromium is used (never a downloaded browser); a screenshot of a failing
step lands in test-results/ (pytest-playwright's --screenshot only-on-failure).
"""

import os
import re
import shutil

import pytest
from django.core.management import call_command

from sandbox import demo
from tests.conftest import unavailable

pytestmark = [
    pytest.mark.browser,
    pytest.mark.urls("sandbox.test_urls"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(autouse=True)
def _chromium_installed():
    if not shutil.which("chromium"):
        unavailable("Debian's chromium is not installed (.ci/browser-deps)")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": shutil.which("chromium") or "/usr/bin/chromium",
        "args": [
            "--no-sandbox",
            "--disable-background-networking",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session", autouse=True)
def _orm_beside_playwright():
    """Playwright's sync API runs an event loop in this thread for the rest of the session; the
    ORM calls of these tests, their flushes and the test database's teardown are still
    synchronous. Only sessions that run these tests get it (make test runs them on their own)."""
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def sandboxed(live_server, settings):
    base = f"{live_server.url}/sandbox"
    settings.SANDBOX = True
    settings.PUBLIC_BASE_URL = live_server.url
    settings.FATTURE_CLIENT_ID, settings.FATTURE_CLIENT_SECRET = "sandbox-client", "sandbox-secret"
    settings.FATTURE_API_URL = f"{base}/fatture"
    settings.FATTURE_AUTHORIZE_URL = f"{base}/fatture/oauth/authorize"
    settings.FATTURE_INVOICE_VIEW_URL = f"{base}/fatture/view/{{id}}"
    settings.BRICKLINK_API_URL = f"{base}/bricklink"
    settings.BRICKOWL_API_URL = f"{base}/brickowl"
    call_command("load_demo", verbosity=0)
    return live_server.url


def login(page, url, email=demo.SELLER_EMAIL, password="demo-seller-password"):
    page.goto(f"{url}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r".*/home/$"))


def connect_stores(page, url):
    page.goto(f"{url}/home/stores/bricklink/connect")
    for field, value in demo.BRICKLINK_CREDENTIALS.items():
        page.fill(f"input[name={field}]", value)
    page.click("text=Check and connect")
    page.wait_for_url(re.compile(r".*/home/stores/$"))
    page.goto(f"{url}/home/stores/brickowl/connect")
    page.fill("input[name=api_key]", demo.BRICKOWL_API_KEY)
    page.click("text=Check and connect")
    page.wait_for_url(re.compile(r".*/home/stores/$"))
    body = page.inner_text("main")
    assert "BrickLink" in body and "BrickOwl" in body
    assert demo.BRICKOWL_API_KEY not in page.content()


def authorize_fatture(page, url, as_email):
    page.goto(f"{url}/home/accounting/connect")
    page.click("text=Connect to Fatture in Cloud")
    page.wait_for_url(re.compile(r".*/sandbox/fatture/oauth/authorize.*"))
    page.check(f"label:has-text('{as_email}') input[type=radio]")
    page.click("button[value=approve]")


def pick(page, slot, code):
    value = page.locator(f"select[name={slot}] option", has_text=f"({code})").first.get_attribute("value")
    page.select_option(f"select[name={slot}]", value)


def test_seller_connects_everything_syncs_and_opens_invoices(page, sandboxed):
    url = sandboxed
    login(page, url)
    connect_stores(page, url)

    page.goto(f"{url}/home/accounting/connect")
    assert "approved" in page.inner_text("main").lower()
    authorize_fatture(page, url, demo.SELLER_EMAIL)
    page.wait_for_url(re.compile(r".*/home/accounting/.*company.*"))
    page.check("label:has-text('Demo Bricks S.r.l.') input[type=radio]")
    page.click("text=Use this company")

    page.goto(f"{url}/home/accounting/mapping")
    for slot, code in [
        ("std_domestic", "STD-IT"),
        ("std_eu", "STD-UE"),
        ("std_export", "STD-EXP"),
        ("margin_domestic", "MRG-IT"),
        ("margin_eu", "MRG-UE"),
        ("margin_export", "MRG-EXP"),
        ("shipping", "SPED"),
        ("handling", "GEST"),
    ]:
        pick(page, slot, code)
    page.fill("input[name=invoice_subject]", "Vendita mattoncini LEGO")
    page.click("text=Save mapping")
    assert "Every slot is mapped to a product with the expected VAT" in page.inner_text("main")

    # The first sync shows what would be issued; nothing is created until the seller confirms.
    page.goto(f"{url}/home/")
    page.click("text=Check and start")
    assert int(page.inner_text("[data-testid=dry-run-count]")) > 10
    page.click("[data-testid=confirm-sync]")
    page.wait_for_url(re.compile(r".*/home/$"))

    page.click("[data-testid=sync-now]")
    page.wait_for_selector("[data-testid=sync-state]")
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=sync-state]').innerText.includes('Running')", timeout=60_000
    )

    page.goto(f"{url}/home/orders")
    links = page.locator("[data-testid=invoice-link]")
    assert links.count() > 10
    href = links.first.get_attribute("href")
    page.goto(href)
    assert "Demo Bricks S.r.l." in page.inner_text("body") or "Fattura" in page.inner_text("body")


def test_email_not_registered_is_refused_with_a_hint(page, sandboxed):
    url = sandboxed
    login(page, url)
    authorize_fatture(page, url, demo.STRANGER_EMAIL)
    page.wait_for_load_state()
    text = page.inner_text("main")
    assert "Email Not Registered" in text and "pre-registration" in text.lower()


def test_vat_rate_mismatch_is_named_on_the_mapping_page(page, sandboxed):
    url = sandboxed
    login(page, url)
    authorize_fatture(page, url, demo.SELLER_EMAIL)
    page.wait_for_url(re.compile(r".*/home/accounting/.*company.*"))
    page.check("label:has-text('Demo Bricks S.r.l.') input[type=radio]")
    page.click("text=Use this company")
    page.goto(f"{url}/home/accounting/mapping")
    pick(page, "std_domestic", "STD-IT")
    pick(page, "handling", "GEST-10")
    page.click("text=Save mapping")
    text = page.inner_text("main")
    assert "VAT rate mismatch" in text and "Gestione ordine (IVA 10% — errata per la demo)" in text
