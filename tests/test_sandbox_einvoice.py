"""The product's e-invoice, receipt, company, VAT-type and webhook functions against the sandbox
Fatture in Cloud over real HTTP: verify → send → status → rejection with a code → PUT → resend →
accepted; 00404 after a retried send; credit notes; receipts one per day, found again; the
Premium requirement; and the sandbox index page's e-invoice buttons."""

from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from fatture import documents, oauth, sdi
from fatture.catalogue import vat_types_list
from fatture.client import FattureClient
from fatture.company import company_info
from fatture.einvoice import (
    document_update,
    einvoice_error_reason,
    einvoice_send,
    einvoice_statuses,
    einvoice_verify,
)
from fatture.einvoice_data import ei_data_credit_note, ei_data_invoice, einvoice_entity, sdi_entity_text
from fatture.errors import FattureNotInPlan, FattureRejected, FattureUnavailable
from fatture.receipts import ReceiptDraft, ReceiptLine, payment_account_ensure, receipt_create, receipt_find
from fatture.vat_types import vat_type_create, vat_type_find
from fatture.webhooks import webhook_subscribe, webhook_unsubscribe
from invoicing.accounting import DraftLine, InvoiceDraft
from sandbox import fatture_sdi
from sandbox.demo import CONTROLLED_COMPANY_ID, DEMO_COMPANY_ID, SELLER_EMAIL, demo_fatture_load
from sandbox.demo_einvoice import demo_einvoices_load
from sandbox.faults import fault_inject
from sandbox.models import SandboxEInvoice, SandboxFattureSubscription, SandboxFattureUser, SandboxFattureVatType
from tests.factories_fatture import FattureConnectionFactory

pytestmark = pytest.mark.urls("sandbox.test_urls")
REDIRECT = "http://localhost/home/accounting/callback"
VALID_PIVA, INVALID_PIVA = "00743110157", "01234567890"
ON = date(2025, 3, 5)


@pytest.fixture
def sandbox(live_server, settings, monkeypatch):
    base = f"{live_server.url}/sandbox"
    settings.FATTURE_API_URL = f"{base}/fatture"
    settings.FATTURE_TOKEN_URL = f"{base}/fatture/oauth/token"
    settings.FATTURE_CLIENT_ID, settings.FATTURE_CLIENT_SECRET = "sandbox-client", "sandbox-secret"
    settings.SANDBOX_SDI_STEP_SECONDS = 3600  # steps happen when a test moves the clock (``due``)
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    demo_fatture_load()
    return base


def _code() -> str:
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


def _connection(company_id: int):
    tokens = oauth.token_from_code(code=_code(), redirect_uri=REDIRECT)
    return FattureConnectionFactory(
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        token_expires_at=tokens.expires_at,
        fatture_email=SELLER_EMAIL,
        company_id=company_id,
    )


@pytest.fixture
def api(sandbox):
    return FattureClient(_connection(DEMO_COMPANY_ID))


def settle() -> None:
    """Every e-invoice in flight reaches its outcome now (the index page's Advance button)."""
    for einvoice in SandboxEInvoice.objects.exclude(advance_at=None):
        fatture_sdi.advance(einvoice, at_once=True)


def due() -> None:
    """Move the sandbox SDI's clock: the next step of every e-invoice is due now."""
    SandboxEInvoice.objects.exclude(advance_at=None).update(advance_at=timezone.now() - timedelta(seconds=1))


def _customer(**extra) -> dict:
    base = {
        "code": "BL:bianchi",
        "name": "Giocattoli Bianchi S.n.c.",
        "country_iso": "IT",
        "address_street": "Corso Francia 8",
        "address_postal_code": "10121",
        "address_city": "Torino",
        "address_province": "TO",
    }
    return {**base, **extra}


def create_einvoice(api, customer: dict, *, doc_type="invoice", on=ON, ei_data=None, vat_id=0) -> int:
    """What the lead's invoice_payload will send: the invoice body plus the e-invoice pieces."""
    client_id = documents.client_sync(api, customer, known_client_id=None)
    line = DraftLine(product_id=None, name="LEGO parts", description="", gross_price=Decimal("24.40"), vat_id=vat_id)
    draft = InvoiceDraft(
        client_id, customer, on, "EUR", "Sale of LEGO parts", f"BI:{customer['code']}", (line,), Decimal("24.40"), on
    )
    payload = documents.invoice_payload(draft)
    buyer = einvoice_entity(customer)
    payload["data"]["entity"] = sdi_entity_text({**payload["data"]["entity"], **buyer.fields})
    payload["data"].update(type=doc_type, e_invoice=True, ei_data=ei_data or ei_data_invoice(payment_method="MP08"))
    return int(api.post(api.company_path("issued_documents"), json=payload)["data"]["id"])


# --- the e-invoice journey ------------------------------------------------------------------------


def test_verify_send_reject_fix_and_resend_until_accepted(api):
    doc_id = create_einvoice(api, _customer(vat_number=INVALID_PIVA, ei_code="KRRH6B9"))

    assert einvoice_verify(api, doc_id).ok  # a wrong check digit is a registry check: SDI's, not FiC's
    assert einvoice_send(api, doc_id).status_name == "CARICATO"
    assert einvoice_statuses(api, [doc_id]) == {doc_id: "sent"}
    due()
    assert einvoice_statuses(api, [doc_id]) == {doc_id: "processing"}
    due()
    assert einvoice_statuses(api, [doc_id]) == {doc_id: "discarded"}

    rejection = einvoice_error_reason(api, doc_id)
    assert rejection.sdi_code == "00305" and rejection.ei_status == "discarded" and rejection.solution
    assert sdi.is_resendable("discarded") and not sdi.rejection_help(rejection.sdi_code).delivered_if_retried

    fixed = document_update(api, doc_id, {"data": {"entity": {"vat_number": VALID_PIVA, "tax_code": ""}}})
    assert fixed.id == doc_id
    einvoice_send(api, doc_id)
    settle()
    status = einvoice_statuses(api, [doc_id])[doc_id]
    assert status == "accepted" and sdi.is_delivered(status, recipient_code="KRRH6B9")
    with pytest.raises(FattureRejected):  # delivered: locked, corrected only by a credit note
        document_update(api, doc_id, {"data": {"notes": "x"}})


def test_consumers_and_foreign_buyers_end_not_delivered_which_counts_as_delivered(api):
    consumer = create_einvoice(api, _customer(code="BL:mario", name="Mario Bianchi", tax_code="RSSMRA85T10A562S"))
    foreign = create_einvoice(
        api,
        {
            "code": "BL:anna",
            "name": "Anna Müller",
            "country_iso": "DE",
            "address_city": "Berlin",
            "address_postal_code": "10115",
        },
    )
    for doc_id in (consumer, foreign):
        assert einvoice_verify(api, doc_id).ok
        einvoice_send(api, doc_id)
    settle()

    statuses = einvoice_statuses(api, [consumer, foreign])

    assert statuses == {consumer: "not_delivered", foreign: "not_delivered"}
    assert sdi.is_delivered(statuses[consumer], recipient_code="0000000")


def test_a_retried_send_after_a_time_out_is_discarded_as_a_duplicate(api, settings):
    doc_id = create_einvoice(api, _customer(vat_number=VALID_PIVA, ei_code="KRRH6B9"))
    settings.HTTP_TIMEOUT = (5, 0.5)
    fault_inject(operation="fatture.e_invoice.send", mode="timeout_after", delay_seconds=1.5)

    with pytest.raises(FattureUnavailable):
        einvoice_send(api, doc_id)  # sent, but the answer never came
    settings.HTTP_TIMEOUT = (5, 30)
    einvoice_send(api, doc_id)  # a careless retry: SDI gets a second copy
    settle()

    rejection = einvoice_error_reason(api, doc_id)
    assert einvoice_statuses(api, [doc_id]) == {doc_id: "discarded"}
    assert rejection.sdi_code == "00404" and sdi.rejection_help("00404").delivered_if_retried


def test_verify_explains_what_sdi_needs_in_fatture_words(api):
    SandboxFattureVatType.objects.create(
        company_id=DEMO_COMPANY_ID, vat_id=90, data={"value": 0, "description": "0% senza natura", "is_disabled": False}
    )
    no_natura = create_einvoice(api, _customer(code="BL:n", tax_code="RSSMRA85T10A562S"), vat_id=90)
    no_cf = create_einvoice(api, _customer(code="BL:c", name="Giulia Verdi"))
    cyrillic = create_einvoice(api, _customer(code="BL:i", name="Иван", tax_code="RSSMRA85T10A562S"))
    foreign_id = documents.client_sync(api, {"code": "BL:f", "name": "Sam", "country_iso": "US"}, known_client_id=None)
    raw = documents.invoice_payload(
        InvoiceDraft(
            foreign_id,
            {"name": "Sam", "country_iso": "US"},
            ON,
            "EUR",
            "",
            "m",
            (DraftLine(None, "x", "", Decimal(10), 0),),
            Decimal(10),
            ON,
        )
    )
    raw["data"].update(e_invoice=True, ei_data={"payment_method": "MP08"})
    foreign = int(api.post(api.company_path("issued_documents"), json=raw)["data"]["id"])

    assert any("Natura è obbligatorio" in p for p in einvoice_verify(api, no_natura).problems)
    assert any("Codice Fiscale" in p for p in einvoice_verify(api, no_cf).problems)
    assert einvoice_verify(api, cyrillic).ok  # sdi_entity_text transliterated "Иван" before sending
    problems = einvoice_verify(api, foreign).problems
    assert any("XXXXXXX" in p for p in problems) and any("recipient id" in p for p in problems)
    with pytest.raises(FattureRejected) as caught:
        einvoice_send(api, no_cf)
    assert "Codice Fiscale" in caught.value.detail


def test_statuses_of_many_documents_take_one_listing_call(api):
    ids = [create_einvoice(api, _customer(code=f"BL:{n}", tax_code="RSSMRA85T10A562S")) for n in range(3)]
    before = api.calls

    statuses = einvoice_statuses(api, ids)

    assert statuses == dict.fromkeys(ids, "not_sent") and api.calls - before == 1


# --- credit notes ---------------------------------------------------------------------------------


def test_credit_notes_need_the_link_and_a_date_not_before_the_invoice(api):
    customer = _customer(vat_number=VALID_PIVA, ei_code="KRRH6B9")
    invoice = create_einvoice(api, customer)
    with pytest.raises(FattureRejected) as caught:
        create_einvoice(api, customer, doc_type="credit_note")
    assert "invoice_number" in caught.value.detail

    early = create_einvoice(
        api,
        customer,
        doc_type="credit_note",
        on=ON - timedelta(days=1),
        ei_data=ei_data_credit_note(payment_method="MP08", invoice_number="1", invoice_date=ON),
    )
    einvoice_send(api, early)
    settle()

    assert invoice != early
    assert einvoice_statuses(api, [early], type="credit_note") == {early: "discarded"}
    assert einvoice_error_reason(api, early).sdi_code == "00418"


# --- receipts, company, VAT types, webhooks -------------------------------------------------------


def test_receipts_one_per_day_with_the_payment_account_found_again(api):
    account = payment_account_ensure(api, name="PayPal")
    before = api.calls
    assert payment_account_ensure(api, name="paypal") == account and api.calls - before == 1  # found, not created
    lines = (ReceiptLine(0, Decimal(22), Decimal("24.40")), ReceiptLine(4, Decimal(0), Decimal("10.00")))
    drafts = [
        ReceiptDraft(day, account.id, f"BI:corr:{day}:paypal", lines, "Corrispettivi PayPal", account.name)
        for day in (ON, ON + timedelta(days=1))
    ]

    assert receipt_find(api, day=ON, marker=drafts[0].marker) is None
    created = [receipt_create(api, d) for d in drafts]
    found = receipt_find(api, day=ON, marker=drafts[0].marker)

    assert found == created[0] and found.amount_gross == Decimal("34.4")
    assert receipt_find(api, day=ON, marker=drafts[1].marker) is None  # the other day's entry
    assert [r.number for r in created] == ["1", "2"]


def test_receipts_on_a_standard_plan_are_explained(sandbox):
    api = FattureClient(_connection(CONTROLLED_COMPANY_ID))
    account = payment_account_ensure(api, name="Contanti")
    draft = ReceiptDraft(ON, account.id, "m", (ReceiptLine(0, Decimal(22), Decimal(10)),))

    with pytest.raises(FattureNotInPlan) as caught:
        receipt_create(api, draft)

    assert caught.value.code == "receipts_not_in_plan"
    assert not company_info(api).receipts_allowed and company_info(api).plan == "standard"


def test_company_info_of_the_demo_company(api):
    info = company_info(api)

    assert (info.plan, info.e_invoice, info.receipts_allowed) == ("premium", True, True)
    assert info.can_write("fic_issued_documents", "credit_notes")


def test_a_missing_vat_type_is_created_and_found_by_rate_and_natura(api):
    created = vat_type_create(
        api, value=0, natura="N7", description="OSS", notes="IVA assolta in altro stato UE", ei_description="OSS"
    )

    assert vat_type_find(vat_types_list(connection=api.connection), value=0, natura="N7") == created


def test_webhook_subscription_is_stored_at_both_ends(api, settings):
    settings.PUBLIC_BASE_URL = "https://bi.example.com"

    row = webhook_subscribe(api)

    stored = SandboxFattureSubscription.objects.get(subscription_id=row.subscription_id)
    assert stored.data["sink"] == "https://bi.example.com/home/accounting/webhooks/fatture"
    assert webhook_unsubscribe(api) and not SandboxFattureSubscription.objects.exists()


# --- the index page -------------------------------------------------------------------------------


def test_the_demo_shows_one_accepted_and_one_rejected_e_invoice_with_buttons(sandbox, client):
    assert demo_einvoices_load() == 2 and demo_einvoices_load() == 2  # idempotent

    page = client.get("/sandbox/")
    statuses = sorted(SandboxEInvoice.objects.values_list("status", flat=True))

    assert statuses == ["accepted", "discarded"]
    assert "00305" in page.content.decode() and "E-invoices at the sandbox SDI" in page.content.decode()
    rejected = SandboxEInvoice.objects.get(status="discarded").document
    client.post(f"/sandbox/einvoices/{rejected.pk}", {"action": "send"})
    assert SandboxEInvoice.objects.get(document=rejected).status == "sent"
    client.post(f"/sandbox/einvoices/{rejected.pk}", {"action": "reject", "code": "00311"})
    assert SandboxEInvoice.objects.get(document=rejected).error_reason["code"] == "00311"
