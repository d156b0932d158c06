"""The fake Fatture's new endpoints in their raw shapes: send bodies, dry runs, the two 422 shapes,
time-driven status steps, PUT on a locked document, the id filter, company info, payment accounts,
receipts, VAT types and webhook subscriptions."""

from datetime import timedelta

import pytest
from django.utils import timezone

from sandbox.demo import CONTROLLED_COMPANY_ID, DEMO_COMPANY_ID, SELLER_EMAIL, demo_fatture_load
from sandbox.demo_einvoice import demo_einvoices_load
from sandbox.fatture_oauth import tokens_issue
from sandbox.models import SandboxEInvoice, SandboxFattureDocument, SandboxFattureUser

pytestmark = pytest.mark.urls("sandbox.test_urls")
BASE = "/sandbox/fatture"
ALL = "entity.clients:a issued_documents.invoices:a issued_documents.credit_notes:a receipts:a products:r settings:a"


@pytest.fixture
def api(db, client, settings):
    settings.SANDBOX_SDI_STEP_SECONDS = 60
    demo_fatture_load()
    demo_einvoices_load()

    def make(scope=ALL):
        user = SandboxFattureUser.objects.get(email=SELLER_EMAIL)
        access = tokens_issue(user=user, client_id="sandbox-client", scope=scope)["access_token"]

        class Api:
            def get(self, path, **params):
                return client.get(f"{BASE}{path}", params, HTTP_AUTHORIZATION=f"Bearer {access}")

            def post(self, path, body):
                kwargs = {"content_type": "application/json", "HTTP_AUTHORIZATION": f"Bearer {access}"}
                return client.post(f"{BASE}{path}", body, **kwargs)

            def put(self, path, body):
                return client.put(
                    f"{BASE}{path}", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {access}"
                )

            def delete(self, path):
                return client.delete(f"{BASE}{path}", HTTP_AUTHORIZATION=f"Bearer {access}")

        return Api()

    return make


def c(path: str, company_id: int = DEMO_COMPANY_ID) -> str:
    return f"/c/{company_id}{path}"


def demo_doc(status: str) -> SandboxFattureDocument:
    return SandboxEInvoice.objects.get(status=status).document


def test_send_needs_a_data_object_and_a_dry_run_changes_nothing(api):
    fic = api()
    doc = demo_doc("discarded")

    empty = fic.post(c(f"/issued_documents/{doc.pk}/e_invoice/send"), {})
    dry = fic.post(c(f"/issued_documents/{doc.pk}/e_invoice/send"), {"data": {}, "options": {"dry_run": True}})

    assert empty.status_code == 422 and empty.json()["error"]["message"] == "Invalid JSON data in request body."
    assert dry.status_code == 200 and dry.json()["data"]["name"] == "VERIFICATO"
    assert SandboxEInvoice.objects.get(document=doc).status == "discarded"


def test_statuses_step_with_time_and_a_list_shows_them(api):
    fic = api()
    doc = demo_doc("discarded")
    fic.post(c(f"/issued_documents/{doc.pk}/e_invoice/send"), {"data": {}})
    listing = {"type": "invoice", "fields": "id,ei_status", "q": f"id = {doc.pk}"}

    assert fic.get(c("/issued_documents"), **listing).json()["data"] == [{"id": doc.pk, "ei_status": "sent"}]
    SandboxEInvoice.objects.filter(document=doc).update(advance_at=timezone.now() - timedelta(seconds=1))
    assert fic.get(c("/issued_documents"), **listing).json()["data"][0]["ei_status"] == "processing"
    assert fic.get(c(f"/issued_documents/{doc.pk}")).json()["data"]["locked"] is True


def test_verify_and_send_answer_the_two_422_shapes(api):
    fic = api()
    doc = demo_doc("accepted")
    entity = {**doc.data["entity"], "address_postal_code": "2012"}
    SandboxFattureDocument.objects.filter(pk=doc.pk).update(data={**doc.data, "entity": entity, "locked": False})

    verify = fic.get(c(f"/issued_documents/{doc.pk}/e_invoice/xml_verify")).json()
    send = fic.post(c(f"/issued_documents/{doc.pk}/e_invoice/send"), {"data": {}}).json()

    assert verify["error"]["validation_result"]["xml_errors"] == [
        "Nel cessionario/committente, il campo CAP deve contenere 5 cifre"
    ]
    assert verify["extra"] == {"errors": []}
    assert send["error"]["validation_result"] == ["Nel cessionario/committente, il campo CAP deve contenere 5 cifre"]


def test_a_delivered_document_is_locked_and_its_rejection_reason_is_empty(api):
    fic = api()
    doc = demo_doc("accepted")

    refused = fic.put(c(f"/issued_documents/{doc.pk}"), {"data": {"notes": "x"}})
    reason = fic.get(c(f"/issued_documents/{doc.pk}/e_invoice/error_reason")).json()["data"]

    assert refused.status_code == 422 and "bloccato" in refused.json()["error"]["message"]
    assert reason == {"reason": None, "ei_status": "accepted", "solution": None, "code": None, "date": None}


def test_the_rejected_demo_invoice_carries_00305_in_code_and_reason(api):
    reason = api().get(c(f"/issued_documents/{demo_doc('discarded').pk}/e_invoice/error_reason")).json()["data"]

    assert reason["code"] == "00305" and "00305" in reason["reason"] and reason["ei_status"] == "discarded"


def test_company_info_follows_the_plan(api):
    fic = api()

    premium = fic.get(c("/company/info")).json()["data"]
    standard = fic.get(c("/company/info", CONTROLLED_COMPANY_ID)).json()["data"]

    assert premium["plan_info"]["functions"] == {"e_invoice": True, "receipts": True, "archive": True, "stock": True}
    assert standard["fic_plan_name"] == "standard" and not standard["plan_info"]["functions"]["receipts"]
    assert standard["access_info"]["through_accountant"] is True


def test_payment_accounts_receipts_and_their_scopes(api):
    fic = api()
    reader = api(scope="receipts:r settings:r")

    account = fic.post(c("/settings/payment_accounts"), {"data": {"name": "PayPal"}}).json()["data"]
    nameless = fic.post(c("/settings/payment_accounts"), {"data": {}})
    body = {
        "data": {
            "date": "2025-03-05",
            "type": "sales_receipt",
            "use_gross_prices": True,
            "description": "Corrispettivi [m]",
            "payment_account": {"id": account["id"]},
            "items_list": [{"amount_gross": 12.2, "vat": {"id": 0}}],
        },
        "autocomplete_number": True,
    }
    created = fic.post(c("/receipts"), body).json()["data"]
    denied = reader.post(c("/receipts"), body)
    no_account = fic.post(c("/receipts"), {"data": {**body["data"], "payment_account": {"id": 99999}}})
    listed = fic.get(c("/receipts"), q="date = '2025-03-05'", per_page=100).json()

    assert fic.get(c("/info/payment_accounts")).json()["data"] == [account]
    assert nameless.status_code == 422 and denied.status_code == 403 and no_account.status_code == 422
    assert (created["number"], created["amount_net"], created["amount_vat"]) == (1, 10, 2.2)
    assert [r["id"] for r in listed["data"]] == [created["id"]]
    assert reader.post(c("/settings/payment_accounts"), {"data": {"name": "x"}}).status_code == 403


def test_receipts_refused_on_a_standard_plan(api):
    response = api().get(c("/receipts", CONTROLLED_COMPANY_ID))

    assert response.status_code == 403 and "corrispettivi" in response.json()["error"]["message"]


def test_vat_types_can_be_created(api):
    fic = api()

    created = fic.post(c("/settings/vat_types"), {"data": {"value": 0, "ei_type": "N3.2", "description": "Art. 41"}})
    listed = fic.get(c("/info/vat_types")).json()["data"]

    assert created.json()["data"]["ei_type"] == "N3.2" and created.json()["data"]["id"] in {v["id"] for v in listed}
    assert fic.post(c("/settings/vat_types"), {"data": {}}).status_code == 422


def test_webhook_subscriptions_are_stored_with_warnings_for_repeats(api):
    fic = api()
    status_type = "it.fattureincloud.webhooks.issued_documents.e_invoices.status_update"
    body = {"data": {"sink": "https://bi.example.com/hook", "types": [status_type], "verification_method": "header"}}

    first = fic.post(c("/subscriptions"), body).json()
    again = fic.post(c("/subscriptions"), body).json()
    sub_id = first["data"]["id"]
    verified = fic.post(c(f"/subscriptions/{sub_id}/verify"), {"data": {"id": sub_id}})

    assert first["warnings"] == [] and again["warnings"] and again["data"]["types"] == []
    assert verified.status_code == 200 and fic.get(c(f"/subscriptions/{sub_id}")).json()["data"]["verified"]
    assert fic.delete(c(f"/subscriptions/{sub_id}")).status_code == 200
    assert fic.get(c(f"/subscriptions/{sub_id}")).status_code == 404
    assert fic.post(c("/subscriptions"), {"data": {"sink": "x", "types": ["nope"]}}).status_code == 422
