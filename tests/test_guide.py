"""The seller's guide: public pages in Italian and English, a section for every error code of the
vocabulary in both languages, and every error box linking to its code's section."""

import re

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import translation

from brickinvoice.errors import CATALOGUE, ErrorBox
from guide.sections import SECTIONS, TROUBLESHOOTING
from tests.data.marketplace_payloads import BL_CREDENTIALS, bl_envelope
from tests.test_i18n import _english_sentences, _visible_text

pytestmark = pytest.mark.django_db

LANGUAGES = ["it", "en"]
TROUBLESHOOTING_URL = reverse("guide:section", kwargs={"slug": TROUBLESHOOTING})


def read(client, url: str, language: str) -> str:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def anchors(page: str) -> set[str]:
    return set(re.findall(r'id="err-([a-z0-9_]+)"', page))


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_error_code_has_its_section_in_the_troubleshooting_page(client, language):
    page = read(client, TROUBLESHOOTING_URL, language)

    missing = set(CATALOGUE) - anchors(page)
    assert not missing, (
        f"Write a section for these codes in templates/guide/{language}/problemi.html: {sorted(missing)}"
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_error_section_appears_once_and_names_only_known_codes(client, language):
    page = read(client, TROUBLESHOOTING_URL, language)

    found = re.findall(r'id="err-([a-z0-9_]+)"', page)
    assert len(found) == len(set(found))
    assert set(found) <= set(CATALOGUE)


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_error_section_has_a_cause_and_a_fix_of_its_own(client, language):
    page = read(client, TROUBLESHOOTING_URL, language)
    # The section of a code runs from its heading to the next one; besides the catalogue's message
    # and hint (shown by the tag) it holds the guide's own explanation.
    parts = re.split(r'<h3 id="err-', page)[1:]
    cause, fix = {"it": ("Causa", "Rimedio"), "en": ("Cause", "Fix")}[language]
    for part in parts:
        code = part.split('"', 1)[0]
        assert f"<b>{cause}:</b>" in part and f"<b>{fix}:</b>" in part, code


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_catalogue_message_is_shown_in_the_reader_language(client, language):
    page = read(client, TROUBLESHOOTING_URL, language)

    with translation.override(language):
        message = str(CATALOGUE["fatture_auth_failed"].message)
    assert message in page


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("slug", ["", *[section.slug for section in SECTIONS]])
def test_every_page_renders_for_an_anonymous_reader(client, language, slug):
    url = reverse("guide:section", kwargs={"slug": slug}) if slug else reverse("guide:index")

    page = read(client, url, language)

    assert f'<html lang="{language}">' in page
    assert 'data-testid="guide"' in page
    assert "TODO" not in page


def test_the_prose_follows_the_language(client):
    url = reverse("guide:section", kwargs={"slug": "prodotti-e-iva"})

    italian = read(client, url, "it")
    english = read(client, url, "en")

    assert "Abbinamento prodotti" in italian and "Product mapping" not in italian
    assert "Product mapping" in english


def test_an_unknown_section_is_404(client):
    assert client.get("/guida/nothing-here/").status_code == 404


def test_the_guide_is_read_only(client):
    assert client.post(reverse("guide:index")).status_code == 405


@pytest.mark.parametrize("code", sorted(CATALOGUE))
def test_the_error_box_links_to_the_section_of_its_code(code):
    request = RequestFactory().get("/")
    html = render_to_string("partials/error.html", {"err": ErrorBox.of(code)}, request=request)

    assert f'href="{TROUBLESHOOTING_URL}#err-{code}"' in html


def test_an_error_box_without_a_hint_still_links_to_the_guide():
    box = ErrorBox(code="fatture_quota", message="Quota", hint="")

    html = render_to_string("partials/error.html", {"err": box})

    assert f'href="{TROUBLESHOOTING_URL}#err-fatture_quota"' in html


def test_an_unknown_code_links_to_the_troubleshooting_page():
    html = render_to_string("partials/error.html", {"err": ErrorBox(code="no_such_code", message="x", hint="y")})

    assert f'href="{TROUBLESHOOTING_URL}"' in html


def test_a_real_error_page_links_to_its_guide_section(owner_client, rsps):
    rsps.get(
        f"{settings.BRICKLINK_API_URL}/settings/shipping_methods",
        json=bl_envelope(None, code=401, description="TOKEN_IP_MISMATCHED: consumer: X IP: 203.0.113.7"),
    )

    page = owner_client.post(reverse("marketplaces:connect_bricklink"), BL_CREDENTIALS).content.decode()

    assert f'href="{TROUBLESHOOTING_URL}#err-bricklink_ip_mismatch"' in page
    assert 'id="err-bricklink_ip_mismatch"' in owner_client.get(TROUBLESHOOTING_URL).content.decode()


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_navigation_offers_the_guide_signed_in_and_out(owner_client, language):
    link = f'href="{reverse("guide:index")}" data-testid="nav-guide"'

    assert link in read(Client(), reverse("landing"), language)
    assert link in read(owner_client, reverse("accounts:settings"), language)


@pytest.mark.parametrize("slug", ["", *[section.slug for section in SECTIONS]])
def test_an_italian_guide_page_has_no_english_text_of_the_catalogue(client, slug):
    url = reverse("guide:section", kwargs={"slug": slug}) if slug else reverse("guide:index")

    text = _visible_text(read(client, url, "it"))

    leftovers = [fragment for fragment in _english_sentences() if fragment in text]
    assert not leftovers, f"English on the Italian guide page {url}: {leftovers[:5]}"
