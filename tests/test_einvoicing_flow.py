"""E-invoices through the whole product against the sandbox Fatture in Cloud over real HTTP: with
"send automatically", a mixed corpus (Italian business, Italian private buyers with and without a
codice fiscale, EU and non-EU buyers, margin and export lines) passes the formal check and is sent
exactly once, also when the send's answer is lost; foreign buyers carry XXXXXXX; a refusal with a
code reaches the seller with the fix, fix-and-resend works, 00404 after a retry sends nothing more;
Italian private buyers without a codice fiscale go to the corrispettivi register, one receipt per
day and payment account."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from accounts.models import SellerSettings
from fatture import oauth
from fatture.catalogue import catalogue
from fatture.models import ProductMapping
from invoicing import einvoicefix, einvoicing, issuing, register
from invoicing.models import Buyer, DailyReceipt, Invoice, RegisterEntry
from sandbox import fatture_sdi
from sandbox.demo import DEMO_COMPANY_ID, SELLER_EMAIL, demo_fatture_load
from sandbox.faults import fault_inject
from sandbox.models import SandboxEInvoice, SandboxFattureDocument, SandboxFattureReceipt, SandboxFattureUser
from tests.factories_fatture import FattureConnectionFactory
from tests.factories_invoicing import make_order

pytestmark = [pytest.mark.urls("sandbox.test_urls"), pytest.mark.django_db(transaction=True)]
REDIRECT = "http://localhost/home/accounting/callback"
EI = Invoice.EInvoice
SLOT_CODES = {
    "std_domestic": "STD-IT",
    "std_eu": "STD-UE",
    "std_export": "STD-EXP",
    "margin_domestic": "MRG-IT",
    "margin_eu": "MRG-UE",
    "margin_export": "MRG-EXP",
    "shipping": "SPED",
    "handling": "GEST",
}
VALID_PIVA, CEASED_PIVA, VALID_CF = "00743110157", fatture_sdi.CEASED_VAT_NUMBERS[0], "RSSMRA80A01H501U"


@pytest.fixture
def seller(live_server, settings, monkeypatch, tenant, owner):
    base = f"{live_server.url}/sandbox"
    settings.FATTURE_API_URL = f"{base}/fatture"
    settings.FATTURE_TOKEN_URL = f"{base}/fatture/oauth/token"
    settings.FATTURE_CLIENT_ID, settings.FATTURE_CLIENT_SECRET = "sandbox-client", "sandbox-secret"
    settings.SANDBOX_SDI_STEP_SECONDS = 3600  # steps happen when the test moves the clock
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    demo_fatture_load()
    connection = _connection(tenant)
    products = {p.code: p for p in catalogue(connection=connection)}
    for slot, code in SLOT_CODES.items():
        p = products[code]
        ProductMapping.objects.create(
            tenant=tenant,
            company_id=DEMO_COMPANY_ID,
            slot=slot,
            product_id=p.id,
            product_name=p.name,
            product_code=p.code,
            vat_id=p.vat_id,
            vat_value=p.vat_value,
            vat_ei_type=p.vat_ei_type,
        )
    SellerSettings.objects.filter(tenant=tenant).update(
        einvoice_mode="send", italian_consumers="receipts", margin_rule="used", invoicing_confirmed_at=timezone.now()
    )
    return tenant


def _connection(tenant):
    user = SandboxFattureUser.objects.get(email=SELLER_EMAIL)
    answer = Client().post(
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
    code = parse_qs(urlsplit(answer["Location"]).query)["code"][0]
    tokens = oauth.token_from_code(code=code, redirect_uri=REDIRECT)
    return FattureConnectionFactory(
        tenant=tenant,
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        token_expires_at=tokens.expires_at,
        fatture_email=SELLER_EMAIL,
        company_id=DEMO_COMPANY_ID,
    )


def invoice(order) -> Invoice:
    """What the worker does for one order: create the invoice, then send the e-invoice at once."""
    row, _ = Invoice.objects.get_or_create(
        tenant=order.tenant, order=order, defaults={"company_id": DEMO_COMPANY_ID, "sort_at": order.paid_at}
    )
    issuing.invoice_process(invoice_id=row.id)
    if Invoice.objects.filter(id=row.id, ei_state=EI.TO_SEND).exists():
        einvoicing.einvoice_send(invoice_id=row.id)
    row.refresh_from_db()
    return row


def settle() -> None:
    """Every e-invoice at the sandbox's SdI reaches its outcome now."""
    for einvoice in SandboxEInvoice.objects.exclude(advance_at=None):
        fatture_sdi.advance(einvoice, at_once=True)


def track() -> None:
    Invoice.objects.filter(ei_state=EI.IN_FLIGHT).update(ei_next_at=timezone.now() - timedelta(seconds=1))
    einvoicing.einvoices_track()


def _order(tenant, username, **fields):
    defaults = {"paid_at": datetime(2026, 3, 2, 9, tzinfo=UTC), "payment_method": "PayPal"}
    return make_order(tenant, username=username, **{**defaults, **fields})


def test_a_mixed_corpus_is_verified_sent_once_and_delivered(seller):
    Buyer.objects.create(tenant=seller, code="BL-negozio", vat_number=VALID_PIVA, sdi_code="M5UXCR1")
    Buyer.objects.create(tenant=seller, code="BL-privato-cf", codice_fiscale=VALID_CF)
    corpus = [
        _order(seller, "negozio"),  # Italian business
        _order(seller, "privato-cf"),  # Italian private buyer with a codice fiscale
        _order(seller, "berliner", ship_country="DE", ship_postal_code="10115", ship_city="Berlin", ship_state=""),
        _order(
            seller,
            "newyorker",
            ship_country="US",
            ship_postal_code="10001",
            ship_city="New York",
            ship_state="NY",
            items=(("new", 2, "10.0000"), ("used", 3, "6.0000")),
        ),
    ]
    rows = [invoice(order) for order in corpus]
    assert [row.state for row in rows] == [Invoice.State.ISSUED] * 4
    assert [row.ei_state for row in rows] == [EI.IN_FLIGHT] * 4
    documents = {d.id: d for d in SandboxFattureDocument.objects.filter(id__in=[r.fatture_id for r in rows])}
    foreign = [documents[r.fatture_id].data["entity"] for r in rows[2:]]
    assert {entity["ei_code"] for entity in foreign} == {"XXXXXXX"} and {e["tax_code"] for e in foreign} == {""}
    assert {e["address_postal_code"] for e in foreign} == {"00000"}
    assert {einvoice.submissions for einvoice in SandboxEInvoice.objects.all()} == {1}
    settle()
    track()
    assert set(Invoice.objects.filter(id__in=[r.id for r in rows]).values_list("ei_state", flat=True)) == {EI.DELIVERED}


def test_a_lost_send_answer_is_resolved_by_reading_the_status_before_any_second_send(seller, settings):
    settings.HTTP_TIMEOUT = (5, 0.5)
    fault_inject(operation="fatture.e_invoice.send", mode="timeout_after", delay_seconds=1.5)
    row = invoice(_order(seller, "lost-answer", ship_country="FR", ship_postal_code="75001", ship_state=""))
    assert row.ei_state == EI.SENDING  # the answer never came: we do not know
    Invoice.objects.filter(id=row.id).update(ei_next_at=None)
    assert einvoicing.einvoice_send(invoice_id=row.id) in (EI.IN_FLIGHT, EI.DELIVERED)
    assert SandboxEInvoice.objects.get(document_id=row.fatture_id).submissions == 1  # looked, did not send again


def test_a_refusal_reaches_the_seller_with_the_fix_and_fix_and_resend_works(seller, owner):
    Buyer.objects.create(tenant=seller, code="BL-wrong-piva", vat_number=CEASED_PIVA, sdi_code="M5UXCR1")
    row = invoice(_order(seller, "wrong-piva"))
    settle()
    track()
    row.refresh_from_db()
    assert row.ei_state == EI.REJECTED and row.ei_code == "00305", (
        row.state,
        row.error_code,
        row.error_message,
        row.ei_state,
    )
    assert row.ei_message and row.ei_hint and einvoicing.resend_window_ends(row) > timezone.now()
    assert any(owner.email in m.to for m in mail.outbox)
    Buyer.objects.filter(code="BL-wrong-piva").update(vat_number=VALID_PIVA)
    assert einvoicefix.einvoice_resend(invoice=row)
    assert einvoicing.einvoice_send(invoice_id=row.id) == EI.IN_FLIGHT
    settle()
    track()
    row.refresh_from_db()
    assert row.ei_state == EI.DELIVERED


def test_00404_after_a_retried_send_counts_as_delivered_and_sends_nothing_more(seller, settings):
    settings.HTTP_TIMEOUT = (5, 0.5)
    fault_inject(operation="fatture.e_invoice.send", mode="timeout_after", delay_seconds=1.5)
    row = invoice(_order(seller, "duplicate", ship_country="ES", ship_postal_code="28001", ship_state=""))
    # The first copy reaches the buyer, but the status read lags and still says "not sent": we send again.
    first = SandboxEInvoice.objects.get(document_id=row.fatture_id)
    fatture_sdi.advance(first, at_once=True)
    first.refresh_from_db()
    assert first.delivered
    fatture_sdi._show(first, "not_sent")
    first.save()
    Invoice.objects.filter(id=row.id).update(ei_next_at=None)
    einvoicing.einvoice_send(invoice_id=row.id)
    settle()
    track()
    row.refresh_from_db()
    assert row.ei_state == EI.DELIVERED and row.ei_sends == 2, row.ei_sends
    sends = SandboxEInvoice.objects.get(document_id=row.fatture_id).submissions
    track()
    assert SandboxEInvoice.objects.get(document_id=row.fatture_id).submissions == sends


def test_italian_private_buyers_without_a_codice_fiscale_go_to_the_register_once_a_day(seller, settings):
    day = datetime(2026, 3, 2, 9, tzinfo=UTC)
    rows = [invoice(_order(seller, f"privato-{n}", paid_at=day, payment_method="PayPal")) for n in range(3)]
    assert {row.state for row in rows} == {Invoice.State.SKIPPED} and {row.fatture_id for row in rows} == {None}
    receipt = DailyReceipt.objects.get()
    assert receipt.entries.count() == 3 and receipt.total == sum(e.total for e in RegisterEntry.objects.all())
    settings.HTTP_TIMEOUT = (5, 0.5)
    fault_inject(operation="fatture.receipts.create", mode="timeout_after", delay_seconds=1.5)
    assert register.receipt_record(receipt_id=receipt.id) == DailyReceipt.State.FAILED  # the answer was lost
    DailyReceipt.objects.filter(id=receipt.id).update(next_attempt_at=None)
    assert register.receipt_record(receipt_id=receipt.id) == DailyReceipt.State.ISSUED  # found, not created again
    assert SandboxFattureReceipt.objects.count() == 1
    late = invoice(_order(seller, "privato-late", paid_at=day))
    assert late.state == Invoice.State.SKIPPED
    assert DailyReceipt.objects.exclude(id=receipt.id).get().day > receipt.day  # never re-created
    assert D(receipt.total) > 0


def test_a_credit_note_of_an_e_invoice_is_sent_once_and_followed_like_its_invoice(seller, owner):
    from invoicing import creditnotes
    from invoicing.creditmodels import CreditNote
    from invoicing.creditplan import PartAmounts
    from invoicing.creditrequests import credit_note_request

    row = invoice(_order(seller, "rimborso", ship_country="DE", ship_postal_code="10115", ship_state=""))
    settle()
    track()
    row.refresh_from_db()
    assert row.ei_state == EI.DELIVERED
    note = credit_note_request(invoice=row, amounts=PartAmounts(goods=D("5.00")), reason="reso", user=owner)
    creditnotes.credit_note_process(credit_note_id=note.id)  # queues the send after commit (eager here)
    note.refresh_from_db()
    assert note.state == CreditNote.State.ISSUED and note.electronic and note.ei_recipient == "XXXXXXX"
    if note.ei_state == EI.TO_SEND:
        assert einvoicing.einvoice_send(credit_note_id=note.id) == EI.IN_FLIGHT
    assert CreditNote.objects.get(id=note.id).ei_state == EI.IN_FLIGHT
    CreditNote.objects.filter(id=note.id).update(ei_state=EI.TO_SEND, ei_next_at=timezone.now() + timedelta(hours=1))
    assert einvoicing.einvoice_send(credit_note_id=note.id) == ""  # leased: a duplicate task does nothing
    CreditNote.objects.filter(id=note.id).update(ei_state=EI.IN_FLIGHT)
    document = SandboxFattureDocument.objects.get(id=note.fatture_id)
    assert document.doc_type == "credit_note" and SandboxEInvoice.objects.get(document=document).submissions == 1
    settle()
    CreditNote.objects.filter(id=note.id).update(ei_next_at=timezone.now() - timedelta(seconds=1))
    einvoicing.einvoices_track()
    note.refresh_from_db()
    assert note.ei_state == EI.DELIVERED
