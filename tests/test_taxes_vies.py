"""VIES checks and Italian identifiers (taxes/vies.py, taxes/identifiers.py, docs/tax.md §1.2,
§1.3, §2). VIES is faked at the HTTP boundary: the WSDL GET and the SOAP POST zeep makes."""

from datetime import date, timedelta
from pathlib import Path

import pytest
import requests
from django.utils import timezone

from taxes.identifiers import codice_fiscale_validate, partita_iva_validate, vat_number_validate
from taxes.models import VatNumberCheck
from taxes.vies import vat_number_check_vies, vat_number_verify, vies_is_valid

WSDL_URL = "https://vies.test/checkVatService.wsdl"
SERVICE_URL = "https://ec.europa.eu/taxation_customs/vies/services/checkVatService"  # the address in the WSDL
WSDL = (Path(__file__).parent / "data" / "vies" / "checkVatService.wsdl").read_bytes()
SELLER = "IT00743110157"


def envelope(body: str) -> str:
    return (
        '<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"><env:Header/><env:Body>'
        f"{body}</env:Body></env:Envelope>"
    )


def check_vat_answer(valid: bool = True, name: str = "---", address: str = "---") -> str:
    return envelope(
        '<ns2:checkVatResponse xmlns:ns2="urn:ec.europa.eu:taxud:vies:services:checkVat:types">'
        "<ns2:countryCode>DE</ns2:countryCode><ns2:vatNumber>136695976</ns2:vatNumber>"
        f"<ns2:requestDate>2026-11-30+01:00</ns2:requestDate><ns2:valid>{str(valid).lower()}</ns2:valid>"
        f"<ns2:name>{name}</ns2:name><ns2:address>{address}</ns2:address></ns2:checkVatResponse>"
    )


APPROX_ANSWER = envelope(
    '<ns2:checkVatApproxResponse xmlns:ns2="urn:ec.europa.eu:taxud:vies:services:checkVat:types">'
    "<ns2:countryCode>DE</ns2:countryCode><ns2:vatNumber>136695976</ns2:vatNumber>"
    "<ns2:requestDate>2026-11-30+01:00</ns2:requestDate><ns2:valid>true</ns2:valid>"
    "<ns2:traderName>LEGO FAN GMBH</ns2:traderName><ns2:traderAddress>MUSTERSTR. 1\n10115 BERLIN</ns2:traderAddress>"
    "<ns2:requestIdentifier>WAPIAAAAW5xVqYbT</ns2:requestIdentifier></ns2:checkVatApproxResponse>"
)


def fault(code: str) -> str:
    return envelope(f"<env:Fault><faultcode>env:Server</faultcode><faultstring>{code}</faultstring></env:Fault>")


@pytest.fixture(autouse=True)
def vies_live(settings):
    settings.VIES_WSDL_URL = WSDL_URL
    settings.VIES_MODE = "live"
    settings.VIES_CACHE_DAYS = 30


@pytest.fixture
def vies(rsps):
    """VIES answering: the WSDL, then whatever the test registers for the SOAP POST."""
    rsps.get(WSDL_URL, body=WSDL, content_type="text/xml")
    return rsps


def soap(rsps, body: str, status: int = 200) -> None:
    rsps.post(SERVICE_URL, body=body, status=status, content_type="text/xml; charset=utf-8")


# --- offline identifiers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("country", "number", "normalised"),
    [
        ("DE", "DE 136,695 976", "136695976"),
        ("DE", "136695976", "136695976"),
        ("GR", "EL094259216", "094259216"),
        ("EL", "094259216", "094259216"),
        ("IT", "IT00743110157", "00743110157"),
        ("fr", "40303265045", "40303265045"),
    ],
)
def test_vat_numbers_are_normalised_without_their_prefix(country, number, normalised):
    parsed = vat_number_validate(country, number)
    assert parsed.ok and parsed.number == normalised
    assert parsed.country == ("EL" if country.upper() in ("GR", "EL") else country.upper())


@pytest.mark.parametrize(
    ("country", "number", "problem"),
    [
        ("DE", "136695977", "check character"),
        ("DE", "12345", "wrong length"),
        ("DE", "", "empty"),
        ("US", "123456789", "does not issue EU VAT numbers"),
        ("GB", "980780684", "does not issue EU VAT numbers"),
    ],
)
def test_bad_vat_numbers_give_a_problem_not_an_exception(country, number, problem):
    parsed = vat_number_validate(country, number)
    assert not parsed.ok and problem in parsed.problem


@pytest.mark.parametrize(
    ("check", "value", "expected", "problem"),
    [
        (codice_fiscale_validate, " rccmnl83s18d969h ", "RCCMNL83S18D969H", ""),
        (codice_fiscale_validate, "00743110157", "00743110157", ""),  # a company's codice fiscale
        (codice_fiscale_validate, "RCCMNL83S18D969X", "", "check character"),
        (codice_fiscale_validate, "RCCMNL83", "", "wrong length"),
        (codice_fiscale_validate, "", "", "empty"),
        (partita_iva_validate, "IT 00743110157", "00743110157", ""),
        (partita_iva_validate, "00743110158", "", "check character"),
        (partita_iva_validate, "0074311015", "", "wrong length"),
        (partita_iva_validate, "ABCDEFGHIJK", "", "characters or a layout"),
    ],
)
def test_italian_identifiers(check, value, expected, problem):
    result = check(value)
    assert (result.value, result.ok) == (expected, not problem)
    assert problem in result.problem


# --- VIES --------------------------------------------------------------------------------------


def test_a_valid_number_without_requester_uses_check_vat(vies):
    soap(vies, check_vat_answer())
    answer = vat_number_check_vies("DE", "DE136695976")
    assert answer.verified and answer.result == "valid"
    assert (answer.name, answer.address, answer.consultation_reference) == ("", "", "")  # '---' is not a name
    assert answer.request_date == date(2026, 11, 30)
    sent = vies.calls[-1].request.body.decode()
    assert "checkVat>" in sent and "<ns0:countryCode>DE</ns0:countryCode>" in sent and "136695976" in sent


def test_with_the_sellers_number_the_answer_carries_a_consultation_reference(vies):
    soap(vies, APPROX_ANSWER)
    answer = vat_number_check_vies("DE", "136695976", requester=SELLER)
    assert answer.verified
    assert answer.consultation_reference == "WAPIAAAAW5xVqYbT"
    assert answer.name == "LEGO FAN GMBH" and "BERLIN" in answer.address
    assert answer.requester == SELLER
    sent = vies.calls[-1].request.body.decode()
    assert "checkVatApprox" in sent and "00743110157" in sent


def test_vies_saying_invalid(vies):
    soap(vies, check_vat_answer(valid=False))
    answer = vat_number_check_vies("DE", "136695976")
    assert answer.result == "invalid" and not answer.verified


@pytest.mark.parametrize(
    ("code", "result"),
    [
        ("MS_UNAVAILABLE", "unavailable"),
        ("SERVICE_UNAVAILABLE", "unavailable"),
        ("TIMEOUT", "unavailable"),
        ("MS_MAX_CONCURRENT_REQ", "unavailable"),
        ("INVALID_INPUT", "invalid"),
    ],
)
def test_vies_faults(vies, code, result):
    soap(vies, fault(code), status=500)
    answer = vat_number_check_vies("DE", "136695976")
    assert (answer.result, answer.detail) == (result, code)


@pytest.mark.parametrize(
    "break_it",
    [
        lambda rsps: soap(rsps, "", status=503),
        lambda rsps: rsps.post(SERVICE_URL, body=requests.ReadTimeout("slow")),
        lambda rsps: rsps.post(SERVICE_URL, body=requests.ConnectionError("down")),
        lambda rsps: soap(rsps, "<html>maintenance</html>"),
        lambda rsps: soap(rsps, "not xml at all"),
    ],
)
def test_vies_down_is_unavailable_never_an_exception(vies, break_it):
    break_it(vies)
    answer = vat_number_check_vies("DE", "136695976")
    assert answer.result == "unavailable" and not answer.verified and answer.detail


@pytest.mark.parametrize("wsdl_answer", [{"status": 503}, {"body": requests.ConnectTimeout("slow")}, {"body": "<x/>"}])
def test_an_unreadable_wsdl_is_unavailable(rsps, wsdl_answer):
    rsps.get(WSDL_URL, **wsdl_answer)
    assert vat_number_check_vies("DE", "136695976").result == "unavailable"


def test_a_malformed_number_never_reaches_vies(rsps):
    answer = vat_number_check_vies("DE", "1234")
    assert answer.result == "invalid" and "length" in answer.detail
    assert len(rsps.calls) == 0


def test_offline_mode_checks_the_format_only(rsps, settings):
    settings.VIES_MODE = "offline"
    answer = vat_number_check_vies("DE", "136695976")
    assert (answer.result, answer.detail, answer.verified) == ("not_verified", "not verified: offline", False)
    assert len(rsps.calls) == 0


def test_an_unusable_requester_falls_back_to_a_plain_check(vies):
    soap(vies, check_vat_answer())
    answer = vat_number_check_vies("DE", "136695976", requester="IT123")
    assert answer.verified and answer.requester == ""
    assert "checkVatApprox" not in vies.calls[-1].request.body.decode()


# --- evidence and the cached look-up --------------------------------------------------------------


@pytest.mark.django_db
class TestEvidence:
    def test_every_check_is_stored_as_evidence(self, vies, tenant):
        soap(vies, APPROX_ANSWER)
        check = vat_number_verify(country="DE", number="136695976", requester=SELLER, tenant_id=tenant.id)
        stored = VatNumberCheck.objects.get()
        assert stored == check and vies_is_valid(stored)
        assert (stored.country, stored.number, stored.requester) == ("DE", "136695976", SELLER)
        assert stored.consultation_reference == "WAPIAAAAW5xVqYbT"
        assert stored.raw["requestIdentifier"] == "WAPIAAAAW5xVqYbT"
        assert stored.tenant == tenant

    def test_a_recent_valid_check_is_reused_without_asking_vies(self, vies, tenant):
        soap(vies, APPROX_ANSWER)
        first = vat_number_verify(country="DE", number="DE136695976", requester=SELLER, tenant_id=tenant.id)
        calls = len(vies.calls)
        again = vat_number_verify(country="DE", number="136 695 976", requester=SELLER, tenant_id=tenant.id)
        assert again == first and len(vies.calls) == calls

    def test_an_old_valid_check_is_renewed(self, vies, tenant):
        soap(vies, APPROX_ANSWER)
        first = vat_number_verify(country="DE", number="136695976", requester=SELLER, tenant_id=tenant.id)
        VatNumberCheck.objects.filter(id=first.id).update(checked_at=timezone.now() - timedelta(days=31))
        second = vat_number_verify(country="DE", number="136695976", requester=SELLER, tenant_id=tenant.id)
        assert second.id != first.id and VatNumberCheck.objects.count() == 2

    def test_unavailable_and_invalid_answers_are_not_reused(self, vies, tenant):
        soap(vies, fault("MS_UNAVAILABLE"), status=500)
        first = vat_number_verify(country="DE", number="136695976", tenant_id=tenant.id)
        second = vat_number_verify(country="DE", number="136695976", tenant_id=tenant.id)
        assert first.result == second.result == "unavailable" and first.id != second.id

    def test_another_sellers_evidence_is_not_reused(self, vies, tenant, other_tenant):
        soap(vies, APPROX_ANSWER)
        mine = vat_number_verify(country="DE", number="136695976", requester=SELLER, tenant_id=tenant.id)
        theirs = vat_number_verify(country="DE", number="136695976", requester=SELLER, tenant_id=other_tenant.id)
        assert mine.id != theirs.id and theirs.tenant == other_tenant

    def test_offline_checks_are_stored_as_not_verified(self, rsps, settings, tenant):
        settings.VIES_MODE = "offline"
        check = vat_number_verify(country="FR", number="40303265045", tenant_id=tenant.id)
        assert (check.result, check.detail) == ("not_verified", "not verified: offline")
        assert not vies_is_valid(check)
