"""Conformance of our Fatture in Cloud calls with the official OpenAPI file
(fattureincloud/openapi-fattureincloud, docs/providers/fatture-in-cloud.md §0.2):
request shapes (paths, query parameters, ``{"data": ...}`` bodies, unit prices, Italian country
names), pagination of look-ups, ``q`` quoting, and an invoice look-up that never mistakes a failed
look-up for "no invoice" (which would create a duplicate)."""

import json
from datetime import UTC, date, datetime
from decimal import Decimal as D
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from brickinvoice.errors import ServiceError
from fatture import documents
from fatture.client import FattureClient
from invoicing import issuing
from invoicing.accounting import Document, DraftLine, InvoiceDraft
from invoicing.models import Invoice
from invoicing.plan import InvoicePlan, PlanLine
from invoicing.regions import Region
from tests.factories_fatture import FattureConnectionFactory
from tests.factories_invoicing import connected_seller, fic, make_order

pytestmark = pytest.mark.django_db

MARKER = "BrickInvoice order 0b6f3c1e-3f4a-4a8e-9f51-6d1f6a1d2c10"


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def api():
    return FattureClient(FattureConnectionFactory())


def _query(call) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(call.request.url).query).items()}


def _doc(doc_id, subject, number=1, numeration="/A"):
    # One row of ListIssuedDocumentsResponse (spec example), projected on the fields we ask for.
    return {"id": doc_id, "number": number, "numeration": numeration, "subject": subject, "date": "2026-03-02"}


def _page(items, current, last):
    return {
        "current_page": current,
        "last_page": last,
        "per_page": 100,
        "from": 1,
        "to": len(items),
        "total": len(items),
        "next_page_url": f"page={current + 1}" if current < last else None,
        "prev_page_url": None,
        "path": "issued_documents",
        "data": items,
    }


# --- invoice request body ----------------------------------------------------------------------


def _draft(**lines):
    return InvoiceDraft(
        client_id=16451,
        entity={"code": "BL-brickfan", "name": "Hans Müller", "country_iso": "de", "address_province": "Bayern"},
        date=date(2026, 3, 2),
        currency="EUR",
        visible_subject="Vendita mattoncini LEGO",
        marker=MARKER,
        lines=(DraftLine(1001, "Mattoncini LEGO", "LEGO parts, 10 pcs", D("20.00"), 0),),
        total=D("20.00"),
        paid_date=date(2026, 3, 2),
    )


def test_invoice_create_posts_a_spec_shaped_body_and_reads_the_data_wrapper(api, rsps):
    rsps.add(
        responses.POST,
        fic("issued_documents"),
        json={"data": {"id": 12345, "type": "invoice", "number": 7, "numeration": "/A", "date": "2026-03-02"}},
    )

    document = documents.invoice_create(api, _draft())

    assert document == Document(id=12345, number="7", numeration="/A")
    body = json.loads(rsps.calls[0].request.body)
    data = body["data"]
    assert data["type"] == "invoice" and data["date"] == "2026-03-02"
    # Entity: linked by id, country as the Italian name beside the ISO code, foreign region in address_extra.
    assert data["entity"]["id"] == 16451 and data["entity"]["name"] == "Hans Müller"
    assert data["entity"]["country"] == "Germania" and data["entity"]["country_iso"] == "DE"
    assert data["entity"]["address_extra"] == "Bayern" and "address_province" not in data["entity"]
    assert data["currency"] == {"id": "EUR"}
    assert data["language"] == {"code": "it", "name": "Italiano"}  # both required by the spec
    item = data["items_list"][0]
    assert item["qty"] == 1 and item["gross_price"] == 20.0 and isinstance(item["gross_price"], float)
    assert item["vat"] == {"id": 0} and data["use_gross_prices"] is True
    payment = data["payments_list"][0]
    assert payment == {"amount": 20.0, "due_date": "2026-03-02", "status": "paid", "paid_date": "2026-03-02"}
    assert body["options"] == {"fix_payments": True}


def test_invoice_draft_sends_one_unit_of_the_line_total_because_gross_price_is_a_unit_price(tenant):
    connected_seller(tenant)
    order = make_order(tenant)
    plan = InvoicePlan(
        region=Region.DOMESTIC,
        currency="EUR",
        lines=(
            PlanLine(
                slot="std_domestic",
                product_id=1001,
                product_name="Mattoncini LEGO",
                vat_id=0,
                vat_value=D("22"),
                description="LEGO parts, 3 pcs",
                gross_amount=D("30.00"),
                quantity=3,
            ),
        ),
        total=D("30.00"),
        invoice_date=date(2026, 3, 2),
        description="BrickLink order 1",
    )

    draft = issuing.invoice_draft(plan=plan, order=order, client_id=5, marker=MARKER, subject="")
    item = documents.invoice_payload(draft)["data"]["items_list"][0]

    # qty x gross_price must equal the line total that was invoiced, not three times it.
    assert D(str(item["qty"])) * D(str(item["gross_price"])) == D("30.00")


# --- clients -----------------------------------------------------------------------------------


def test_client_find_quotes_apostrophes_and_reads_every_page(api, rsps):
    path = fic("entities/clients")
    other = {"id": 1, "code": "BO-someone", "name": "Dell'Orto"}
    mine = {"id": 2, "code": "BL-dellorto", "name": "Dell'Orto"}
    rsps.add(responses.GET, path, json={**_page([other], 1, 2), "path": "clients"})
    rsps.add(responses.GET, path, json={**_page([mine], 2, 2), "path": "clients"})

    assert documents.client_find(api, code="BL-dellorto", name="Dell'Orto") == 2

    first, second = (_query(c) for c in rsps.calls)
    assert first["q"] == "code = 'BL-dellorto' or name = 'Dell''Orto'"
    assert first["per_page"] == "100" and first["page"] == "1" and second["page"] == "2"
    assert first["fields"] == "id,code,name"


# --- issued-document look-up -------------------------------------------------------------------


def test_invoice_find_filters_on_documented_fields_and_matches_the_marker_on_any_page(api, rsps):
    path = fic("issued_documents")
    rsps.add(responses.GET, path, json=_page([_doc(1, "BrickInvoice order another")], 1, 2))
    rsps.add(responses.GET, path, json=_page([_doc(2, MARKER, number=8)], 2, 2))

    found = documents.invoice_find(api, marker=MARKER, client_id=16451, on=date(2026, 3, 2))

    assert found == Document(id=2, number="8", numeration="/A")
    query = _query(rsps.calls[0])
    assert query["type"] == "invoice"  # required by the spec
    assert query["q"] == "entity.id = 16451 and date = '2026-03-02'"
    assert query["per_page"] == "100" and _query(rsps.calls[1])["page"] == "2"
    assert "subject" in query["fields"].split(",")


def test_invoice_find_falls_back_to_the_date_filter_when_the_entity_filter_is_refused(api, rsps):
    path = fic("issued_documents")
    refused = {
        "error": {"message": "Invalid request.", "validation_result": {"q": ["Il campo entity.id non è filtrabile."]}}
    }
    rsps.add(responses.GET, path, status=422, json=refused)
    rsps.add(responses.GET, path, json=_page([_doc(3, "other"), _doc(4, MARKER)], 1, 1))

    found = documents.invoice_find(api, marker=MARKER, client_id=16451, on=date(2026, 3, 2))

    assert found is not None and found.id == 4
    assert _query(rsps.calls[1])["q"] == "date = '2026-03-02'"


def test_invoice_find_refused_twice_is_cannot_tell_not_not_found(api, rsps):
    refused = {"error": {"message": "Invalid request.", "validation_result": {"q": ["Filtro non valido."]}}}
    rsps.add(responses.GET, fic("issued_documents"), status=422, json=refused)
    rsps.add(responses.GET, fic("issued_documents"), status=400, json=refused)

    with pytest.raises(ServiceError) as exc:
        documents.invoice_find(api, marker=MARKER, client_id=16451, on=date(2026, 3, 2))

    # No HTTP status: invoicing must not read this 4xx as "the invoice was not created".
    assert exc.value.status is None and "Filtro non valido" in exc.value.detail


def test_invoice_find_on_a_quota_answer_keeps_retry_after_but_not_the_status(api, rsps):
    rsps.add(
        responses.GET,
        fic("issued_documents"),
        status=429,
        json={"error": {"message": "Too Many Requests"}},
        headers={"Retry-After": "120"},
    )

    with pytest.raises(ServiceError) as exc:
        documents.invoice_find(api, marker=MARKER, client_id=16451, on=date(2026, 3, 2))

    assert exc.value.code == "fatture_quota" and exc.value.transient and exc.value.retry_after == 120
    assert exc.value.status is None


def test_invoice_find_without_subject_in_the_list_cannot_prove_absence(api, rsps):
    rsps.add(responses.GET, fic("issued_documents"), json=_page([{"id": 5, "number": 1, "numeration": ""}], 1, 1))

    with pytest.raises(ServiceError) as exc:
        documents.invoice_find(api, marker=MARKER, client_id=16451, on=date(2026, 3, 2))

    assert exc.value.transient and exc.value.status is None


def test_uncertain_invoice_stays_uncertain_when_the_look_up_is_rate_limited(tenant, fake):
    connected_seller(tenant)
    order = make_order(tenant, paid_at=datetime(2026, 3, 2, 10, tzinfo=UTC))
    invoice = Invoice.objects.create(tenant=tenant, order=order, uncertain=True)
    fake.rsps.replace(
        responses.GET,
        fic("issued_documents"),
        status=429,
        json={"error": {"message": "Too Many Requests"}},
        headers={"Retry-After": "60"},
    )

    issuing.invoice_process(invoice_id=invoice.id)

    invoice.refresh_from_db()
    assert invoice.uncertain, "a failed look-up proves nothing: the next attempt must look again"
    assert invoice.waiting_for_quota
    assert fake.documents == [] and not [c for c in fake.calls("POST") if "issued_documents" in c.request.url]
