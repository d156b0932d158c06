"""fatture/creditnotes.py against the sandbox Fatture in Cloud over real HTTP: the sandbox refuses an
e-invoice credit note without the original's number and date (API 2.1.0), so our payload carrying
them is accepted; the look-up before a retry finds the credit note by its marker and never takes
the invoice of the same client and day for it; a grant without the credit-note scope says so."""

from decimal import Decimal

import pytest
import responses

from fatture import documents
from fatture.creditnotes import credit_note_create, credit_note_find, credit_note_payload
from fatture.errors import FattureScopeMissing
from invoicing.accounting import CreditNoteDraft, DraftLine, InvoiceDraft
from tests.factories_invoicing import fic
from tests.test_sandbox_einvoice import ON, _connection, _customer, create_einvoice, sandbox  # noqa: F401

pytestmark = pytest.mark.urls("sandbox.test_urls")
MARKER = "BrickInvoice credit note 5d0c"


def draft(client_id: int, customer: dict, *, e_invoice: bool) -> CreditNoteDraft:
    line = DraftLine(product_id=None, name="LEGO parts", description="", gross_price=Decimal("10.00"), vat_id=0)
    document = InvoiceDraft(
        client_id,
        customer,
        ON,
        "EUR",
        "Nota di credito",
        MARKER,
        (line,),
        Decimal("10.00"),
        ON,
        notes="Storno",
        electronic=e_invoice,
        payment_method="MP08" if e_invoice else "",
    )
    return CreditNoteDraft(document, "1", ON)


@pytest.fixture
def api(sandbox):  # noqa: F811
    from fatture.client import FattureClient
    from sandbox.demo import DEMO_COMPANY_ID

    return FattureClient(_connection(DEMO_COMPANY_ID))


def test_an_e_invoice_credit_note_links_its_invoice_and_is_found_by_its_marker(api):
    customer = _customer(vat_number="00743110157", ei_code="KRRH6B9")
    create_einvoice(api, customer)  # the invoice of the same client and day
    client_id = documents.client_sync(api, customer, known_client_id=None)
    credit = draft(client_id, customer, e_invoice=True)
    assert credit_note_payload(credit)["data"]["ei_data"] == {
        "payment_method": "MP08",
        "invoice_number": "1",
        "invoice_date": ON.isoformat(),
    }

    created = credit_note_create(api, credit)

    assert credit_note_find(api, marker=MARKER, client_id=client_id, on=ON) == created
    assert credit_note_find(api, marker="BrickInvoice credit note other", client_id=client_id, on=ON) is None
    assert documents.invoice_find(api, marker=MARKER, client_id=client_id, on=ON) is None  # not an invoice


def test_a_plain_credit_note_still_names_its_invoice(api):
    customer = _customer()
    client_id = documents.client_sync(api, customer, known_client_id=None)
    payload = credit_note_payload(draft(client_id, customer, e_invoice=False))["data"]
    assert payload["type"] == "credit_note" and "e_invoice" not in payload
    assert payload["ei_data"] == {"invoice_number": "1", "invoice_date": ON.isoformat()}
    assert credit_note_create(api, draft(client_id, customer, e_invoice=False)).number == "1"


@pytest.mark.django_db
def test_a_grant_without_the_credit_note_scope_asks_to_reconnect(rsps):
    from fatture.client import FattureClient
    from tests.factories_fatture import FattureConnectionFactory

    rsps.add(responses.POST, fic("issued_documents"), status=403, json={"error": {"message": "Forbidden"}})
    with pytest.raises(FattureScopeMissing) as refused:
        credit_note_create(FattureClient(FattureConnectionFactory()), draft(1, _customer(), e_invoice=False))
    assert refused.value.status == 403 and refused.value.code == "fatture_scope_missing"
