"""Italian first, English too (issue 16): the language switch and the language each user keeps,
money and dates in the reader's format, Italian pages with no English left on them, and the
account pages in the product's layout.

The suite runs in English (tests/settings.py); these tests ask for the product's Italian.
"""

import html
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.template import Context, Template
from django.urls import reverse
from django.utils import formats, translation

from accounts import notifications
from accounts.models import User
from brickinvoice import settings as product_settings
from brickinvoice.templatetags.money import format_money
from marketplaces.models import StoreConnection
from tests.factories import OrderFactory, StoreConnectionFactory, UserFactory

CATALOGUE = Path(__file__).resolve().parent.parent / "locale" / "it" / "LC_MESSAGES" / "django.po"
NBSP = "\xa0"


@pytest.fixture
def italian(settings):
    """The product's own default language, which the suite's settings turn to English."""
    settings.LANGUAGE_CODE = "it"


def test_the_product_speaks_italian_first_and_english_too():
    assert product_settings.LANGUAGE_CODE == "it"
    assert [code for code, _ in product_settings.LANGUAGES] == ["it", "en"]
    assert product_settings.TIME_ZONE == "Europe/Rome"
    assert "django.middleware.locale.LocaleMiddleware" in product_settings.MIDDLEWARE


# -- formats --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "currency", "italian", "english"),
    [
        (Decimal("49.77"), "EUR", "49,77 €", "€49.77"),
        (Decimal("1234.5"), "EUR", "1.234,50 €", "€1,234.50"),
        (Decimal("1234567.891"), "eur", "1.234.567,89 €", "€1,234,567.89"),
        (Decimal("0.005"), "EUR", "0,01 €", "€0.01"),  # half-up, as on the invoice
        (Decimal("-12.3"), "EUR", "-12,30 €", "-€12.30"),
        ("29.19", "USD", "29,19 USD", "USD 29.19"),
        (7, "GBP", "7,00 GBP", "GBP 7.00"),
        (Decimal("5"), "", "5,00 €", "€5.00"),
    ],
)
def test_money_is_written_as_each_language_writes_it(value, currency, italian, english):
    assert format_money(value, currency, language="it") == italian.replace(" ", NBSP)
    assert format_money(value, currency, language="en") == english.replace(" ", NBSP)


@pytest.mark.parametrize("value", [None, ""])
def test_no_amount_is_no_text(value):
    assert format_money(value, "EUR", language="it") == ""


def test_something_that_is_no_number_is_shown_as_it_is():
    assert format_money("n/a", "EUR", language="it") == "n/a"


def test_the_money_filter_follows_the_active_language():
    template = Template("{% load money %}{{ amount|money:currency }}")
    context = Context({"amount": Decimal("49.77"), "currency": "EUR"})
    with translation.override("it"):
        assert template.render(context) == f"49,77{NBSP}€"
    with translation.override("en"):
        assert template.render(context) == "€49.77"


def test_dates_and_times_are_written_day_first_on_rome_time():
    moment = datetime(2026, 11, 27, 13, 5, tzinfo=UTC)  # 14:05 in Rome (CET)
    template = Template('{{ day|date }} · {{ moment|date:"DATETIME_FORMAT" }} · {{ moment }}')
    context = Context({"day": date(2026, 11, 27), "moment": moment})
    with translation.override("it"):
        assert template.render(context) == "27/11/2026 · 27/11/2026 14:05 · 27/11/2026 14:05"
        assert formats.date_format(date(2026, 3, 5), "SHORT_DATE_FORMAT") == "05/03/2026"
    with translation.override("en"):
        assert template.render(context) == "27 Nov 2026 · 27 Nov 2026, 14:05 · 27 Nov 2026, 14:05"


def test_date_inputs_keep_iso_values_in_italian(italian, owner_client, tenant):
    tenant.settings.cutoff_date = date(2026, 11, 27)
    tenant.settings.save()
    page = owner_client.get(reverse("accounts:settings")).content.decode()
    assert 'type="date"' in page and 'value="2026-11-27"' in page


# -- the language switch ----------------------------------------------------------------------


def test_switching_language_redirects_back_and_is_kept_on_the_account(owner_client, owner):
    response = owner_client.post(reverse("set_language"), {"language": "en", "next": "/home/orders"})

    assert response.status_code == 302 and response["Location"] == "/home/orders"
    assert response.cookies[django_settings.LANGUAGE_COOKIE_NAME].value == "en"
    owner.refresh_from_db()
    assert owner.language == "en"


def test_the_switch_never_sends_to_another_site(owner_client, owner):
    response = owner_client.post(reverse("set_language"), {"language": "it", "next": "https://evil.example/x"})

    assert response.status_code == 302 and "evil.example" not in response["Location"]
    owner.refresh_from_db()
    assert owner.language == "it"


def test_the_switch_needs_a_post_and_its_csrf_token(client, owner):
    assert client.get(reverse("set_language"), {"language": "en"}).status_code == 405
    guarded = type(client)(enforce_csrf_checks=True)
    guarded.force_login(owner)
    assert guarded.post(reverse("set_language"), {"language": "en"}).status_code == 403
    owner.refresh_from_db()
    assert owner.language == ""


def test_an_unknown_language_changes_nothing(owner_client, owner):
    owner_client.post(reverse("set_language"), {"language": "xx", "next": "/home/"})
    owner.refresh_from_db()
    assert owner.language == ""


def test_an_anonymous_visitor_switches_with_the_cookie_only(client, italian):
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert response.cookies[django_settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert "Create your account" in client.get("/").content.decode()


def test_the_accounts_language_wins_over_the_browsers_in_any_browser(italian, client, owner):
    owner.language = "it"
    owner.save()
    client.force_login(owner)

    response = client.get(reverse("invoicing:dashboard"), HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")

    assert response["Content-Language"] == "it"
    assert "Sincronizza ora" in response.content.decode()
    # The cookie follows, so the pages after signing out keep the seller's language.
    assert response.cookies[django_settings.LANGUAGE_COOKIE_NAME].value == "it"


def test_without_a_choice_the_browser_decides_and_italian_is_the_default(italian, owner_client):
    english = owner_client.get(reverse("invoicing:dashboard"), HTTP_ACCEPT_LANGUAGE="en")
    italian_page = owner_client.get(reverse("invoicing:dashboard"))
    assert "Sync now" in english.content.decode()
    assert "Sincronizza ora" in italian_page.content.decode()


def test_e_mails_use_the_language_the_user_chose(owner):
    assert notifications._language_for(owner) == django_settings.LANGUAGE_CODE
    owner.language = "it"
    assert notifications._language_for(owner) == "it"


def test_signing_up_keeps_the_language_of_the_sign_up_page(italian, client, db):
    client.post(
        reverse("account_signup"),
        {
            "email": "nuovo@example.com",
            "password1": "mattoncini-rossi-42",
            "password2": "mattoncini-rossi-42",
            "business_name": "Mattoncini Nuovi",
            "country": "IT",
        },
    )
    assert User.objects.get(email="nuovo@example.com").language == "it"


# -- Italian pages ----------------------------------------------------------------------------


def _english_sentences() -> list[str]:
    """Long English fragments of our catalogue that its Italian does not keep: any of them on an
    Italian page is an untranslated string. Placeholders and tags split a text into fragments;
    short words ("Data", "Menu") and names the Italian keeps (BrickLink's "consumer secret",
    BrickOwl's "My account → API keys") are left out."""
    text = CATALOGUE.read_text()
    fragments = []
    for msgid, msgstr in re.findall(r'^msgid "(.+)"\nmsgstr "(.*)"$', text, flags=re.M):
        if msgid == msgstr:
            continue
        for part in re.split(r"%\(\w+\)[sd]|\{\w+\}|<[^>]+>", msgid.replace('\\"', '"')):
            part = part.strip(" .,:;()—·")
            if len(part) >= 14 and " " in part and part not in msgstr.replace('\\"', '"'):
                fragments.append(part)
    return fragments


def _visible_text(page: str) -> str:
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


@pytest.fixture
def italian_seller(owner):
    owner.language = "it"
    owner.save()
    return owner


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("invoicing:dashboard", "Sincronizza ora"),
        ("marketplaces:orders", "Ordini"),
        ("marketplaces:stores", "Negozi"),
        ("marketplaces:connect_bricklink", "Collega il tuo negozio BrickLink"),
        ("marketplaces:connect_brickowl", "Collega il tuo negozio BrickOwl"),
        ("marketplaces:order_detail", "Incassato"),
        ("marketplaces:store_disconnect", "Sì, scollega"),
        ("invoicing:order_preview", "Anteprima della fattura"),
        ("invoicing:sync_confirm", "Fatture da emettere"),
        ("accounts:settings", "Impostazioni del venditore"),
        ("fatture:connect", "Chiedi la preregistrazione"),
        ("fatture:mapping", "Abbinamento prodotti"),
    ],
)
def test_an_italian_page_has_no_english_text_of_ours(italian_seller, client, tenant, name, expected):
    store = StoreConnectionFactory(tenant=tenant, status=StoreConnection.Status.NEEDS_ATTENTION)
    store.last_error_code = "marketplace_bad_credentials"
    store.save()
    order = OrderFactory(store=store, data_errors=["x"], amount_paid_to_seller=Decimal("1234.5"))
    client.force_login(italian_seller)
    args = {"marketplaces:order_detail": [order.public_id], "invoicing:order_preview": [order.public_id]}
    args["marketplaces:store_disconnect"] = [store.public_id]

    page = client.get(reverse(name, args=args.get(name)), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    text = _visible_text(page)

    assert expected in text and 'lang="it"' in page
    leftovers = [fragment for fragment in _english_sentences() if fragment in text]
    assert not leftovers, f"English on the Italian page {name}: {leftovers[:5]}"


def test_the_italian_orders_page_writes_italian_money_and_dates(italian_seller, client, tenant):
    store = StoreConnectionFactory(tenant=tenant)
    OrderFactory(
        store=store,
        amount_paid_to_seller=Decimal("1234.5"),
        currency="EUR",
        ordered_at=datetime(2026, 11, 27, 13, 5, tzinfo=UTC),
    )
    client.force_login(italian_seller)

    text = _visible_text(client.get(reverse("marketplaces:orders")).content.decode())

    assert f"1.234,50{NBSP}€" in text and "27/11/2026 14:05" in text
    assert "EUR" not in text and "Nov" not in text


def test_errors_are_shown_in_the_readers_language(italian):
    from brickinvoice.errors import describe

    with translation.override("it"):
        text = describe("vat_rate_mismatch", product="Spedizione", actual="10 %", slot="Spedizione", expected="22 %")
    assert text.message.startswith("Aliquota IVA non corrispondente: il prodotto «Spedizione» ha IVA 10 %")
    with translation.override("en"):
        assert describe("no_company_selected").message == "No company selected."


def test_invoice_lines_read_in_italian_when_the_plan_is_built_in_italian():
    from invoicing.plan import SellerRules, build_plan
    from tests.test_invoice_plan import MAPPING, Item, order

    sale = order(Item("new", 10, Decimal("20.0000")), shipping=Decimal("5.0000"), etc1=Decimal("1.0000"))
    with translation.override("it"):
        plan = build_plan(sale, sale.items, SellerRules(), MAPPING)
    assert [line.description for line in plan.lines] == [
        "Mattoncini LEGO, 10 pz — ordine BrickLink 12345",
        "Spedizione — ordine BrickLink 12345",
        "Gestione ordine e altri addebiti — ordine BrickLink 12345",
    ]


# -- account pages, error pages ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["account_login", "account_signup", "account_reset_password"])
def test_account_pages_use_the_products_layout_in_italian(italian, client, db, name):
    page = client.get(reverse(name)).content.decode()

    assert 'class="topbar"' in page and "css/app.css" in page and "favicon.svg" in page
    assert 'class="btn btn-primary"' in page and 'lang="it"' in page
    assert "Accedi" in page or "Registrati" in page or "Reimposta" in page


def test_two_factor_pages_use_the_products_layout(italian, owner_client):
    page = owner_client.get(reverse("mfa_index")).content.decode()
    assert 'class="topbar"' in page and "Sicurezza" in page and 'class="card"' in page


def test_a_missing_page_says_so_in_italian(italian, owner_client):
    response = owner_client.get("/home/orders/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404 and "Pagina non trovata" in response.content.decode()


def test_every_page_links_the_favicon(client, db):
    page = client.get("/").content.decode()
    assert 'rel="icon" href="/static/favicon.svg" type="image/svg+xml"' in page
    assert 'href="/static/favicon-32.png"' in page
    root = Path(__file__).resolve().parent.parent / "static"
    assert (root / "favicon.svg").read_text().startswith("<svg")
    assert (root / "favicon-32.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_user_factory_user_has_no_language_until_one_is_chosen(db):
    assert UserFactory().language == ""
