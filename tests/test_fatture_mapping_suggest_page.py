"""The mapping page pre-selects the suggested product of each empty slot and says why; a saved
product is never replaced by a suggestion, and a POST without a slot never maps its suggestion."""

import re
from pathlib import Path

import pytest
import responses
from django.urls import reverse

from fatture import mapping as mapping_svc
from tests.factories_fatture import (
    STANDARD_CATALOGUE,
    VAT_TYPES,
    FattureConnectionFactory,
    ProductMappingFactory,
    api,
    page,
)

pytestmark = pytest.mark.django_db
STATIC = Path(__file__).resolve().parent.parent / "static"


@pytest.fixture
def connection(tenant):
    return FattureConnectionFactory(tenant=tenant)


@pytest.fixture
def catalogue(rsps):
    rsps.add(responses.GET, api("/c/12345/products"), json=page(STANDARD_CATALOGUE, 1, 1))
    rsps.add(responses.GET, api("/c/12345/info/vat_types"), json=VAT_TYPES)


def _selected(html: str, slot: str) -> str:
    select = re.search(rf'<select name="{slot}".*?</select>', html, flags=re.S)
    assert select, slot
    chosen = re.search(r'<option value="(\d*)" selected>', select.group(0))
    return chosen.group(1) if chosen else ""


def test_empty_slots_come_pre_selected_with_the_reason(owner_client, connection, catalogue):
    html = owner_client.get(reverse("fatture:mapping")).content.decode()
    assert _selected(html, "std_domestic") == "1001"
    assert _selected(html, "shipping") == "1004"
    assert _selected(html, "handling") == "1005"
    why = re.search(r'data-testid="suggestion-shipping">(.*?)</small>', html, flags=re.S).group(1)
    assert "Spedizione" in why and "spedizione" in why and "pre-selected" in why


def test_a_saved_product_is_kept_and_not_second_guessed(owner_client, connection, tenant, catalogue):
    ProductMappingFactory(tenant=tenant, slot="shipping", product_id=1005, product_name="Gestione ordine")
    html = owner_client.get(reverse("fatture:mapping")).content.decode()
    assert _selected(html, "shipping") == "1005"
    assert 'data-testid="suggestion-shipping"' not in html


def test_a_product_with_the_wrong_vat_gets_a_suggestion_instead(owner_client, connection, tenant, catalogue):
    ProductMappingFactory(tenant=tenant, slot="std_export", product_id=1001, product_name="Mattoncini LEGO")
    html = owner_client.get(reverse("fatture:mapping")).content.decode()
    assert _selected(html, "std_export") == "1001"
    suggestion = re.search(r'data-testid="suggestion-std_export">(.*?)</small>', html, flags=re.S).group(1)
    assert "Suggested instead" in suggestion and "LEGO export" in suggestion


def test_saving_the_pre_selected_form_maps_the_suggestions(owner_client, connection, tenant, catalogue):
    html = owner_client.get(reverse("fatture:mapping")).content.decode()
    data = {slot: _selected(html, slot) for slot in ("std_domestic", "std_eu", "std_export", "shipping", "handling")}
    assert owner_client.post(reverse("fatture:mapping"), data).status_code == 302
    assert mapping_svc.mapping_check(tenant=tenant) == []


def test_a_post_without_a_slot_never_maps_its_suggestion(owner_client, connection, tenant, catalogue):
    owner_client.post(reverse("fatture:mapping"), {"handling": ""})
    assert mapping_svc.mapping_for(tenant=tenant) == {}


def test_the_slot_selects_get_a_filter_box_from_a_static_script(owner_client, connection, catalogue):
    html = owner_client.get(reverse("fatture:mapping")).content.decode()
    assert re.search(r'<script src="/static/js/select-filter\.js" defer></script>', html)
    assert len(re.findall(r'<select name="\w+"[^>]*data-filter', html)) == 8
    assert 'data-filter-placeholder="Type to filter: name, code, VAT"' in html


# A minimal DOM for the script under node: one select with four options, and the filter box it adds.
FAKE_DOM = r"""
const handlers = {};
function option(value, text) { return { value, text }; }
const select = {
  id: "id_shipping", value: "2",
  options: [option("", "— not mapped —"), option("1", "Mattoncini LEGO (LEGO-STD) — VAT 22 %"),
            option("2", "Gestione ordine (HAND) — VAT 22 %"), option("3", "Spedizione (SHIP) — VAT 22 %")],
  getAttribute(name) { return name === "data-filter-placeholder" ? "Filter" : null; },
  remove(i) { this.options.splice(i, 1); },
  add(o) { this.options.push(o); },
  parentNode: { insertBefore(box) { global.box = box; } },
};
global.document = {
  readyState: "complete",
  querySelectorAll() { return [select]; },
  createElement() {
    return { setAttribute() {}, addEventListener(kind, fn) { handlers[kind] = fn; } };
  },
};
require(process.argv[2]);
box.value = process.argv[3];
handlers.input();
console.log(JSON.stringify({ values: select.options.map((o) => o.value), value: select.value }));
"""


@pytest.mark.parametrize(
    "typed,values",
    [("sped", ["", "2", "3"]), ("lego 22", ["", "1", "2"]), ("", ["", "1", "2", "3"]), ("nothing", ["", "2"])],
)
def test_the_filter_keeps_matching_options_the_selected_one_and_not_mapped(tmp_path, typed, values):
    import json
    import shutil
    import subprocess

    if not shutil.which("node"):
        pytest.skip("node is not installed")
    runner = tmp_path / "run.js"
    runner.write_text(FAKE_DOM)
    result = subprocess.run(  # noqa: S603
        [shutil.which("node"), str(runner), str(STATIC / "js" / "select-filter.js"), typed],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert json.loads(result.stdout) == {"values": values, "value": "2"}


def test_the_filter_script_is_plain_static_code():
    script = (STATIC / "js" / "select-filter.js").read_text()
    assert "select[data-filter]" in script
    for forbidden in ("eval(", "innerHTML", "new Function", "document.write"):
        assert forbidden not in script
