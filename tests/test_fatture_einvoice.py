"""E-invoice calls at the HTTP boundary (verify, send, statuses by listing, error reason, PUT) and
the SDI vocabulary (statuses, rejection codes), with payloads from the openapi.yaml examples."""

import json
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from fatture import sdi
from fatture.client import FattureClient
from fatture.einvoice import (
    Rejection,
    document_update,
    einvoice_error_reason,
    einvoice_send,
    einvoice_statuses,
    einvoice_verify,
    verify_problems,
)
from fatture.errors import FattureNotFound, FattureRejected, FattureUnavailable
from tests.factories_fatture import (
    ERROR_REASON,
    SEND_OK,
    VERIFY_422_ARRAY,
    VERIFY_422_SPEC,
    VERIFY_OK,
    FattureConnectionFactory,
    api,
    page,
)

DOC = "/c/12345/issued_documents/9001"


@pytest.fixture
def client(db):
    return FattureClient(FattureConnectionFactory())


def _query(call) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(call.request.url).query).items()}


# --- verify -------------------------------------------------------------------------------------


def test_verify_passes_on_success_true(client, rsps):
    rsps.get(api(DOC + "/e_invoice/xml_verify"), json=VERIFY_OK)

    assert einvoice_verify(client, 9001).ok


def test_verify_reads_the_specs_422_shape_with_extra_errors(client, rsps):
    rsps.get(api(DOC + "/e_invoice/xml_verify"), json=VERIFY_422_SPEC, status=422)

    result = einvoice_verify(client, 9001)

    assert not result.ok
    assert result.problems == [
        "Nel cessionario/committente, il campo CAP deve contenere 5 cifre",
        "Nel dettaglio linee, per l'aliquota 0 il campo Natura è obbligatorio",
        "Il campo Nazione del cessionario non è valido",
    ]


def test_verify_reads_the_docs_plain_array_shape(client, rsps):
    rsps.get(api(DOC + "/e_invoice/xml_verify"), json=VERIFY_422_ARRAY, status=422)

    result = einvoice_verify(client, 9001)

    assert result.problems == [VERIFY_422_ARRAY["error"]["validation_result"][0]]


def test_verify_reads_an_object_keyed_by_field_and_falls_back_to_the_message():
    keyed = {"error": {"message": "Invalid request.", "validation_result": {"data.entity.name": ["Obbligatorio"]}}}
    bare = {"error": {"message": "Validation XML"}}

    assert verify_problems(keyed) == ["data.entity.name: Obbligatorio"]
    assert verify_problems(bare) == ["Validation XML"]
    assert verify_problems("not json") == [] and verify_problems({"error": "x"}) == []


def test_verify_without_success_true_is_not_a_pass(client, rsps):
    rsps.get(api(DOC + "/e_invoice/xml_verify"), json={"data": {"success": None}})

    result = einvoice_verify(client, 9001)

    assert not result.ok and result.problems


def test_verify_raises_other_errors_as_the_client_does(client, rsps):
    rsps.get(api(DOC + "/e_invoice/xml_verify"), json={"error": {"message": "Not found"}}, status=404)
    rsps.get(api("/c/12345/issued_documents/9002/e_invoice/xml_verify"), status=503)

    with pytest.raises(FattureNotFound):
        einvoice_verify(client, 9001)
    with pytest.raises(FattureUnavailable):
        einvoice_verify(client, 9002)
    assert client.session.hooks["response"] == []  # the body-keeping hook never stays behind


# --- send ---------------------------------------------------------------------------------------


def test_send_posts_a_well_formed_body_and_reads_the_answer(client, rsps):
    rsps.post(api(DOC + "/e_invoice/send"), json=SEND_OK)

    result = einvoice_send(client, 9001)
    einvoice_send(client, 9001, dry_run=True)

    bodies = [json.loads(c.request.body) for c in rsps.calls]
    assert bodies == [{"data": {}}, {"data": {}, "options": {"dry_run": True}}]  # never an empty object
    assert (result.status_name, result.date) == ("CARICATO", "2021-08-23 10:38:03")


def test_send_refused_raises_with_fatture_words(client, rsps):
    rsps.post(api(DOC + "/e_invoice/send"), json=VERIFY_422_SPEC, status=422)

    with pytest.raises(FattureRejected) as caught:
        einvoice_send(client, 9001)

    assert "CAP deve contenere 5 cifre" in caught.value.detail


def test_send_tolerates_an_answer_without_data(client, rsps):
    rsps.post(api(DOC + "/e_invoice/send"), json={})

    assert einvoice_send(client, 9001).status_name == ""


# --- statuses by listing --------------------------------------------------------------------------


def test_statuses_are_read_by_one_listing_with_an_id_filter(client, rsps):
    rows = [{"id": 9001, "ei_status": "processing"}, {"id": 9002, "ei_status": "accepted"}]
    rsps.get(api("/c/12345/issued_documents"), json=page(rows, 1, 1))

    statuses = einvoice_statuses(client, [9002, 9001, 9001, 9003])

    assert statuses == {9001: "processing", 9002: "accepted"}  # 9003 not shown: unknown, left out
    assert len(rsps.calls) == 1
    query = _query(rsps.calls[0])
    assert query["type"] == "invoice" and query["fields"] == "id,ei_status" and query["per_page"] == "100"
    assert query["q"] == "id = 9001 or id = 9002 or id = 9003"


def test_statuses_of_many_documents_take_one_call_per_forty(client, rsps):
    rsps.get(api("/c/12345/issued_documents"), json=page([], 1, 1))

    einvoice_statuses(client, range(1, 101), type="credit_note")

    assert len(rsps.calls) == 3
    assert {_query(c)["type"] for c in rsps.calls} == {"credit_note"}


def test_statuses_fall_back_to_newest_first_when_the_id_filter_is_refused(client, rsps):
    refused = {"error": {"message": "Invalid query", "validation_result": {"q": ["id is not filterable"]}}}
    newest = [{"id": 9010, "ei_status": "sent"}, {"id": 9005, "ei_status": "discarded"}]
    older = [{"id": 9001, "ei_status": "not_delivered"}, {"id": 8990, "ei_status": "accepted"}]

    def answer(request):
        query = parse_qs(urlsplit(request.url).query)
        if "q" in query:
            return 422, {}, json.dumps(refused)
        body = page(newest, 1, 3) if query["page"] == ["1"] else page(older, 2, 3)
        return 200, {}, json.dumps(body)

    rsps.add_callback(responses.GET, api("/c/12345/issued_documents"), callback=answer)

    statuses = einvoice_statuses(client, [9005, 9001, 8999])

    assert statuses == {9005: "discarded", 9001: "not_delivered"}
    assert _query(rsps.calls[1])["sort"] == "-id"
    assert len(rsps.calls) == 3  # page 3 never read: the ids passed below the oldest wanted


def test_statuses_skip_malformed_rows_and_reject_unknown_types(client, rsps):
    rows = ["junk", {"id": "x"}, {"id": 9001}, {"id": 9002, "ei_status": None}]
    rsps.get(api("/c/12345/issued_documents"), json=page(rows, 1, 1))

    assert einvoice_statuses(client, [9001, 9002]) == {9002: ""}
    assert einvoice_statuses(client, []) == {}
    with pytest.raises(ValueError):
        einvoice_statuses(client, [1], type="receipt")


# --- rejection reason, update ---------------------------------------------------------------------


def test_error_reason_reads_the_spec_example(client, rsps):
    rsps.get(api(DOC + "/e_invoice/error_reason"), json=ERROR_REASON)

    rejection = einvoice_error_reason(client, 9001)

    assert rejection.reason.startswith("La Partita IVA della tua azienda")
    assert rejection.ei_status == "rejected" and rejection.code == "" and rejection.date == "2023-06-06"
    assert rejection.sdi_code == ""


def test_error_reason_finds_the_sdi_code_in_code_or_in_the_reason(client, rsps):
    rsps.get(api(DOC + "/e_invoice/error_reason"), json={"data": {"reason": "x", "code": "00305"}})
    rsps.get(
        api("/c/12345/issued_documents/9002/e_invoice/error_reason"),
        json={"data": {"reason": "Scarto 00313: 1.4.1.1 non valido", "code": None, "ei_status": "discarded"}},
    )

    assert einvoice_error_reason(client, 9001).sdi_code == "00305"
    assert einvoice_error_reason(client, 9002).sdi_code == "00313"


def test_document_update_puts_the_body_and_returns_the_document(client, rsps):
    rsps.put(api(DOC), json={"data": {"id": 9001, "number": 12, "numeration": "/A"}})

    document = document_update(client, 9001, {"data": {"entity": {"vat_number": "00743110157"}}})

    assert (document.id, document.number, document.numeration) == (9001, "12", "/A")
    assert json.loads(rsps.calls[0].request.body) == {"data": {"entity": {"vat_number": "00743110157"}}}
    with pytest.raises(ValueError):
        document_update(client, 9001, {"entity": {}})


# --- the vocabulary -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "delivered"),
    [
        ("accepted", "ABC1234", True),
        ("not_delivered", "0000000", True),
        ("not_delivered", "XXXXXXX", True),
        ("not_delivered", "ABC1234", False),
        ("discarded", "0000000", False),
        ("processing", "", False),
        ("something_new", "", False),
    ],
)
def test_delivery_counts_not_delivered_only_for_recipients_without_a_channel(status, code, delivered):
    assert sdi.is_delivered(status, recipient_code=code) is delivered


def test_resend_only_from_not_sent_discarded_rejected_or_error():
    assert {s for s in sdi.EiStatus if sdi.is_resendable(s)} == {"not_sent", "discarded", "rejected", "error"}
    assert not sdi.is_resendable("accepted") and not sdi.is_resendable(None)
    assert sdi.is_in_flight("sent") and sdi.is_in_flight("brand_new_status") and not sdi.is_in_flight("")
    assert sdi.status_label("discarded") == "Rejected by SDI" and sdi.status_label("odd") == "odd"


@pytest.mark.parametrize(
    ("code", "reason", "expected"),
    [
        ("00404", "", "00404"),
        ("", "Errore 00418: data anteriore", "00418"),
        ("SDI-00305", "", "00305"),
        ("", "codice 100404 non è un codice", ""),
        ("", "Notifica di scarto: Impossibile recuperare il recipient id", sdi.RECIPIENT_ID_UNKNOWN),
        (None, None, ""),
    ],
)
def test_rejection_code_is_found_in_the_code_or_the_reason(code, reason, expected):
    assert sdi.rejection_code(code=code, reason=reason) == expected


def test_every_listed_rejection_has_plain_help_and_a_generic_fallback():
    listed = {"00404", "00409", "00305", "00306", "00311", "00312", "00313", "00324", "00417", "00400", "00401"}
    listed |= {"00418", "00422", "00423", sdi.RECIPIENT_ID_UNKNOWN}
    assert listed <= set(sdi.REJECTIONS)
    assert sdi.rejection_help("00404").delivered_if_retried
    assert not sdi.rejection_help("00305").delivered_if_retried
    assert str(sdi.rejection_help("99999").meaning) == str(sdi.UNKNOWN_REJECTION.meaning)
    assert Rejection("", "00404", "", "", "").sdi_code == "00404"
