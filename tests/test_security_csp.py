"""A strict Content-Security-Policy on every page, and templates that need nothing inline."""

import re
from pathlib import Path

import pytest
from django.conf import settings

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
STATIC = Path(__file__).resolve().parent.parent / "static"


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {d.split()[0]: d.split()[1:] for d in (part.strip() for part in header.split(";")) if d}


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/", "/accounts/login/", "/accounts/signup/", "/home/", "/home/settings"])
def test_every_page_carries_a_strict_policy(owner, client, url):
    if url.startswith("/home"):
        client.force_login(owner)
    policy = _policy(client.get(url))
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    assert policy["img-src"] == ["'self'", "data:"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["object-src"] == ["'none'"]
    assert not any("unsafe" in source for sources in policy.values() for source in sources)


@pytest.mark.django_db
def test_form_action_allows_the_fatture_authorize_redirect(client):
    origin = re.match(r"https?://[^/]+", settings.FATTURE_AUTHORIZE_URL).group(0)
    assert _policy(client.get("/accounts/login/"))["form-action"] == ["'self'", origin]


def _template_files():
    return sorted(TEMPLATES.rglob("*.html")) + sorted(TEMPLATES.rglob("*.txt"))


def test_no_template_has_inline_script_style_or_event_handler():
    offending = []
    for path in _template_files():
        text = path.read_text()
        for pattern in (r"<script(?![^>]*\bsrc=)[^>]*>", r"<style\b", r"\sstyle=", r"\son[a-z]+\s*=", r"javascript:"):
            offending += [f"{path.relative_to(TEMPLATES)}: {m.group(0)}" for m in re.finditer(pattern, text, re.I)]
    assert not offending, offending


def test_htmx_injects_no_inline_style_and_its_indicator_css_is_static():
    base = (TEMPLATES / "base.html").read_text()
    assert re.search(r"<meta name=\"htmx-config\" content='\{[^']*\"includeIndicatorStyles\": false", base)
    assert ".htmx-indicator{opacity:0}" in (STATIC / "css" / "app.css").read_text()
