"""The whole seller journey in a real headless Chromium against the sandbox over real HTTP, in
Italian, as an Italian seller's browser asks for it (Accept-Language it-IT).

Log in → connect the sandbox BrickLink and BrickOwl stores → see the pre-registration state →
connect sandbox Fatture through the real OAuth redirect → pick a company → map the products →
Sync now → open the invoices from the orders page, whose amounts and dates are in Italian formats
(49,77 €, 27/11/2026 14:05). Plus the Email Not Registered and VAT rate mismatch paths. Steps click
data-testid hooks, never translated text. Debian's chromium is used (never a downloaded browser);
screenshots of the main pages at 1280 and 390 px wide land in test-results/screenshots/ for review,
and a failing step leaves one in test-results/ (pytest-playwright's --screenshot only-on-failure).
"""

import os
import re
import shutil
from pathlib import Path

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


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """An Italian seller's browser: Italian first, Rome's clock."""
    return {**browser_context_args, "locale": "it-IT", "timezone_id": "Europe/Rome"}


SCREENSHOTS = Path("test-results") / "screenshots"
DESKTOP, PHONE = {"width": 1280, "height": 900}, {"width": 390, "height": 844}
# Italian money and dates (brickinvoice/templatetags/money.py, brickinvoice/formats/it).
ITALIAN_MONEY = re.compile(r"^-?\d{1,3}(\.\d{3})*,\d{2}\u00a0€$")
ITALIAN_DATETIME = re.compile(r"^\d{2}/\d{2}/\d{4} \d{2}:\d{2}$")


@pytest.fixture
def sandboxed(live_server, settings):
    base = f"{live_server.url}/sandbox"
    # The product's own default; the suite's settings run the other tests in English.
    settings.LANGUAGE_CODE = "it"
    settings.SANDBOX = True
    settings.PUBLIC_BASE_URL = live_server.url
    settings.FATTURE_CLIENT_ID, settings.FATTURE_CLIENT_SECRET = "sandbox-client", "sandbox-secret"
    settings.FATTURE_API_URL = f"{base}/fatture"
    settings.FATTURE_TOKEN_URL = f"{base}/fatture/oauth/token"
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
    assert page.get_attribute("html", "lang") == "it"


def connect_stores(page, url):
    page.goto(f"{url}/home/stores/bricklink/connect")
    for field, value in demo.BRICKLINK_CREDENTIALS.items():
        page.fill(f"input[name={field}]", value)
    page.click("[data-testid=check-and-connect]")
    page.wait_for_url(re.compile(r".*/home/stores/$"))
    page.goto(f"{url}/home/stores/brickowl/connect")
    page.fill("input[name=api_key]", demo.BRICKOWL_API_KEY)
    page.click("[data-testid=check-and-connect]")
    page.wait_for_url(re.compile(r".*/home/stores/$"))
    body = page.inner_text("main")
    assert "BrickLink" in body and "BrickOwl" in body
    assert demo.BRICKOWL_API_KEY not in page.content()


def authorize_fatture(page, url, as_email):
    page.goto(f"{url}/home/accounting/connect")
    page.click("[data-testid=connect-fatture]")
    page.wait_for_url(re.compile(r".*/sandbox/fatture/oauth/authorize.*"))
    page.check(f"label:has-text('{as_email}') input[type=radio]")
    page.click("button[value=approve]")


def pick(page, slot, code):
    value = page.locator(f"select[name={slot}] option", has_text=f"({code})").first.get_attribute("value")
    page.select_option(f"select[name={slot}]", value)


def pick_company(page):
    page.wait_for_url(re.compile(r".*/home/accounting/.*company.*"))
    page.check("label:has-text('Demo Bricks S.r.l.') input[type=radio]")
    page.click("[data-testid=use-company]")


def screenshots(page, url, name, path, *, signed_in=True):
    """The page at a desktop's and a phone's width, whole, for review; on the phone the menu is
    folded until its button opens it."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("1280", DESKTOP), ("390", PHONE)):
        page.set_viewport_size(size)
        page.goto(f"{url}{path}")
        page.screenshot(path=SCREENSHOTS / f"{name}-{label}.png", full_page=True)
    if signed_in:
        assert not page.is_visible("[data-testid=nav-orders]")
        page.click("label.menu-button")
        assert page.is_visible("[data-testid=nav-orders]")
        if name == "dashboard":
            page.screenshot(path=SCREENSHOTS / f"{name}-390-menu.png")
    page.set_viewport_size(DESKTOP)


def test_seller_connects_everything_syncs_and_opens_invoices(page, sandboxed):
    url = sandboxed
    screenshots(page, url, "login", "/accounts/login/", signed_in=False)
    assert "Accedi" in page.inner_text("main")
    login(page, url)
    connect_stores(page, url)

    page.goto(f"{url}/home/accounting/connect")
    assert page.is_visible("[data-testid=preregistration-status][data-status=approved]")
    assert "Approvata" in page.inner_text("main")
    authorize_fatture(page, url, demo.SELLER_EMAIL)
    pick_company(page)

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
    page.click("[data-testid=save-mapping]")
    assert page.is_visible("[data-testid=mapping-ok]")
    assert "Ogni voce è abbinata a un prodotto con l'IVA richiesta." in page.inner_text("main")

    # The first sync shows what would be issued; nothing is created until the seller confirms.
    page.goto(f"{url}/home/")
    page.click("[data-testid=check-and-start]")
    assert int(page.inner_text("[data-testid=dry-run-count]")) > 10
    for total in page.inner_text("[data-testid=dry-run-total]").split(" · "):
        assert ITALIAN_MONEY.match(total) or re.match(r"^-?[\d.]+,\d{2}\u00a0[A-Z]{3}$", total), total
    # Celery runs eagerly here, so the confirmation issues every invoice inside the request.
    page.click("[data-testid=confirm-sync]", timeout=120_000)
    page.wait_for_url(re.compile(r".*/home/$"), timeout=120_000)

    page.click("[data-testid=sync-now]")
    page.wait_for_selector("[data-testid=sync-state]")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=sync-state]').dataset.state !== 'running'", timeout=60_000
    )
    assert "Sincronizza ora" in page.inner_text("[data-testid=sync-now]")

    page.goto(f"{url}/home/orders")
    links = page.locator("[data-testid=invoice-link]")
    assert links.count() > 10
    assert any(ITALIAN_MONEY.match(t) for t in page.locator("[data-testid=order-total]").all_inner_texts())
    assert all(ITALIAN_DATETIME.match(t) for t in page.locator("[data-testid=order-date]").all_inner_texts())

    # On a phone every order is a card and its invoice number stays on the screen.
    page.set_viewport_size(PHONE)
    box = links.first.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    page.set_viewport_size(DESKTOP)

    for name, path in (
        ("dashboard", "/home/"),
        ("order", page.locator("[data-testid=order-row] a").first.get_attribute("href")),
        ("orders", "/home/orders"),
        ("mapping", "/home/accounting/mapping"),
        ("settings", "/home/settings"),
        ("stores", "/home/stores/"),
    ):
        screenshots(page, url, name, path)

    page.goto(f"{url}/home/orders")
    href = page.locator("[data-testid=invoice-link]").first.get_attribute("href")
    page.goto(href)
    assert "Demo Bricks S.r.l." in page.inner_text("body") or "Fattura" in page.inner_text("body")


def test_email_not_registered_is_refused_with_a_hint(page, sandboxed):
    url = sandboxed
    login(page, url)
    authorize_fatture(page, url, demo.STRANGER_EMAIL)
    page.wait_for_selector("[data-testid=error][data-code=email_not_registered]")
    text = page.inner_text("main")
    assert "E-mail non registrata" in text and "preregistrazione" in text.lower()


def test_vat_rate_mismatch_is_named_on_the_mapping_page(page, sandboxed):
    url = sandboxed
    login(page, url)
    authorize_fatture(page, url, demo.SELLER_EMAIL)
    pick_company(page)
    page.goto(f"{url}/home/accounting/mapping")
    pick(page, "std_domestic", "STD-IT")
    pick(page, "handling", "GEST-10")
    page.click("[data-testid=save-mapping]")
    mismatch = page.locator("[data-testid=error][data-code=vat_rate_mismatch]")
    assert mismatch.count() == 1
    text = mismatch.inner_text()
    assert "Aliquota IVA non corrispondente" in text and "Gestione ordine (IVA 10% — errata per la demo)" in text
