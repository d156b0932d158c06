"""Company capabilities (cached), payment accounts, corrispettivi receipts (one per day, found again
before a retry, Premium explained) and VAT-type creation, at the HTTP boundary."""

import json
from datetime import date
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from fatture.cache import vat_types_key
from fatture.catalogue import VatType
from fatture.client import FattureClient
from fatture.company import company_info, company_info_clear, parse_company_info
from fatture.errors import (
    FattureNotInPlan,
    FatturePermissionDenied,
    FattureRejected,
    FattureScopeMissing,
    FattureUnavailable,
)
from fatture.receipts import (
    ReceiptDraft,
    ReceiptLine,
    payment_account_ensure,
    payment_accounts_list,
    receipt_create,
    receipt_find,
    receipt_payload,
    receipts_check,
)
from fatture.vat_types import vat_type_create, vat_type_find, vat_type_payload
from tests.factories_fatture import (
    PAYMENT_ACCOUNTS,
    FattureConnectionFactory,
    api,
    page,
    receipt,
)
from tests.factories_fatture import company_info as company_info_payload

INFO = "/c/12345/company/info"
NO_PERMISSION = {"error": {"message": "Non hai i permessi per accedere a questa risorsa.", "code": "NO_PERMISSION"}}


@pytest.fixture
def client(db):
    return FattureClient(FattureConnectionFactory())


def draft(**extra) -> ReceiptDraft:
    lines = (
        ReceiptLine(vat_id=0, vat_value=Decimal(22), amount_gross=Decimal("12.20"), category="LEGO"),
        ReceiptLine(vat_id=0, vat_value=Decimal(22), amount_gross=Decimal("7.80")),
        ReceiptLine(vat_id=66, vat_value=Decimal(0), amount_gross=Decimal("5.00")),
    )
    values = {"date": date(2025, 3, 5), "payment_account_id": 21, "marker": "BI:corr:2025-03-05:paypal", "lines": lines}
    return ReceiptDraft(**{**values, **extra})


# --- company info ---------------------------------------------------------------------------------


def test_company_info_reads_plan_functions_and_permissions_and_is_cached(client, rsps):
    rsps.get(api(INFO), json=company_info_payload())

    first = company_info(client)
    second = company_info(client)

    assert len(rsps.calls) == 1  # each read costs quota: the second comes from the shared cache
    assert first == second
    assert (first.plan, first.e_invoice, first.receipts_allowed, first.role) == ("premium_plus", True, True, "master")
    assert first.can_write("fic_issued_documents", "credit_notes") and first.can_write("fic_receipts")
    company_info_clear(company_id=12345)
    company_info(client)
    assert len(rsps.calls) == 2


def test_receipts_follow_the_plan_when_functions_do_not_say():
    standard = {"data": {"fic_plan_name": "standard", "plan_info": {"functions": {"e_invoice": True}}}}
    premium = {"data": {"fic_plan_name": "premium", "plan_info": {}}}

    assert not parse_company_info(1, standard).receipts_allowed
    assert parse_company_info(1, premium).receipts_allowed
    odd = parse_company_info(1, {"data": {"plan_info": "junk", "access_info": {"permissions": {"fic_receipts": 3}}}})
    assert (odd.e_invoice, odd.receipts_allowed, odd.permissions) == (False, False, {})
    assert parse_company_info(1, None).plan == ""


def test_read_only_receipts_permission_is_not_write():
    info = parse_company_info(1, company_info_payload(fic_receipts="read"))

    assert not info.can_write("fic_receipts") and info.can_write("fic_unknown_area")


# --- payment accounts -----------------------------------------------------------------------------


def test_payment_accounts_are_listed_and_found_by_name_before_creating(client, rsps):
    rsps.get(api("/c/12345/info/payment_accounts"), json=PAYMENT_ACCOUNTS)

    accounts = payment_accounts_list(client)
    found = payment_account_ensure(client, name="  indesa ")

    assert [a.id for a in accounts] == [21, 109] and found.id == 109
    assert all(c.request.method == "GET" for c in rsps.calls)


def test_a_missing_payment_account_is_created(client, rsps):
    rsps.get(api("/c/12345/info/payment_accounts"), json={"data": [{"name": "no id"}, "junk"]})
    rsps.post(
        api("/c/12345/settings/payment_accounts"), json={"data": {"id": 555, "name": "PayPal", "type": "standard"}}
    )

    created = payment_account_ensure(client, name="PayPal")

    assert created.id == 555
    assert json.loads(rsps.calls[-1].request.body) == {"data": {"name": "PayPal", "type": "standard"}}


def test_creating_a_payment_account_without_settings_scope_asks_to_reconnect(client, rsps):
    rsps.get(api("/c/12345/info/payment_accounts"), json={"data": []})
    rsps.post(api("/c/12345/settings/payment_accounts"), json=NO_PERMISSION, status=403)

    with pytest.raises(FattureScopeMissing) as caught:
        payment_account_ensure(client, name="PayPal")

    assert caught.value.code == "fatture_scope_missing" and not caught.value.transient


# --- receipts -------------------------------------------------------------------------------------


def test_receipt_payload_splits_by_vat_type_with_net_and_gross_and_carries_the_marker():
    body = receipt_payload(draft(description="Corrispettivi PayPal"))

    assert body["autocomplete_number"] is True
    data = body["data"]
    assert (data["date"], data["type"], data["payment_account"]) == ("2025-03-05", "sales_receipt", {"id": 21})
    assert data["description"] == "Corrispettivi PayPal [BI:corr:2025-03-05:paypal]"
    assert data["items_list"] == [
        {"amount_net": 16.39, "amount_gross": 20.0, "vat": {"id": 0}, "category": "LEGO"},
        {"amount_net": 5.0, "amount_gross": 5.0, "vat": {"id": 66}},
    ]
    assert (data["amount_net"], data["amount_vat"], data["amount_gross"]) == (21.39, 3.61, 25.0)


def test_receipt_create_returns_the_receipt(client, rsps):
    rsps.post(api("/c/12345/receipts"), json={"data": receipt(rid=777, day="2025-03-05")})

    created = receipt_create(client, draft())

    assert (created.id, created.date, created.number, created.amount_gross) == (777, "2025-03-05", "5", Decimal(20))
    with pytest.raises(ValueError):
        receipt_create(client, draft(lines=()))


def test_receipts_refused_on_a_plan_without_them_say_so(client, rsps):
    rsps.post(api("/c/12345/receipts"), json=NO_PERMISSION, status=403)
    rsps.get(api(INFO), json=company_info_payload(plan="standard", receipts=False))

    with pytest.raises(FattureNotInPlan) as caught:
        receipt_create(client, draft())
    with pytest.raises(FattureNotInPlan):
        receipts_check(client)

    assert caught.value.code == "receipts_not_in_plan"


def test_receipts_refused_on_a_premium_plan_mean_scope_or_permission(client, rsps):
    rsps.post(api("/c/12345/receipts"), json=NO_PERMISSION, status=403)
    rsps.get(api(INFO), json=company_info_payload(fic_receipts="write"))
    receipts_check(client)  # the plan has them

    with pytest.raises(FattureScopeMissing):
        receipt_create(client, draft())
    rsps.replace(responses.GET, api(INFO), json=company_info_payload(fic_receipts="read"))
    with pytest.raises(FatturePermissionDenied):
        receipt_create(client, draft())


def test_receipt_find_filters_on_the_day_and_matches_the_marker(client, rsps):
    other = receipt(rid=1, day="2025-03-05", description="Corrispettivi [BI:corr:2025-03-05:card]")
    ours = receipt(rid=2, day="2025-03-05", description="Corrispettivi [BI:corr:2025-03-05:paypal]")
    rsps.get(api("/c/12345/receipts"), json=page([other, ours], 1, 1))

    found = receipt_find(client, day=date(2025, 3, 5), marker="BI:corr:2025-03-05:paypal")
    absent = receipt_find(client, day=date(2025, 3, 5), marker="BI:corr:2025-03-05:bank")

    assert found.id == 2 and absent is None
    query = parse_qs(urlsplit(rsps.calls[0].request.url).query)
    assert query["q"] == ["date = '2025-03-05'"] and "description" in query["fields"][0]


def test_receipt_find_reads_newest_first_when_the_date_filter_is_refused(client, rsps):
    rows = [
        receipt(rid=3, day="2025-03-06", description="[BI:corr:2025-03-05:paypal]"),
        receipt(rid=2, day="2025-03-05", description="[BI:corr:2025-03-05:paypal]"),
    ]

    def answer(request):
        query = parse_qs(urlsplit(request.url).query)
        if "q" in query:
            return 422, {}, json.dumps({"error": {"message": "Invalid query"}})
        return 200, {}, json.dumps(page(rows, 1, 9))

    rsps.add_callback(responses.GET, api("/c/12345/receipts"), callback=answer)

    assert receipt_find(client, day=date(2025, 3, 5), marker="BI:corr:2025-03-05:paypal").id == 2


def test_a_failed_receipt_look_up_cannot_tell(client, rsps):
    rsps.get(api("/c/12345/receipts"), status=503)

    with pytest.raises(FattureUnavailable) as caught:
        receipt_find(client, day=date(2025, 3, 5), marker="m")

    assert caught.value.status is None  # never read as "the create was refused"


def test_a_receipt_list_without_descriptions_cannot_prove_absence(client, rsps):
    rsps.get(api("/c/12345/receipts"), json=page([{"id": 1, "date": "2025-03-05"}], 1, 1))

    with pytest.raises(Exception) as caught:
        receipt_find(client, day=date(2025, 3, 5), marker="m")

    assert caught.value.code == "fatture_unavailable" and caught.value.transient


# --- VAT types ------------------------------------------------------------------------------------


def test_vat_type_create_posts_natura_and_forgets_the_cached_catalogue(client, rsps):
    from django.core.cache import cache

    cache.set(vat_types_key(12345), [{"id": 0}])
    created_body = {"id": 77, "value": 0, "description": "Art. 41", "ei_type": "N3.2", "is_disabled": False}
    rsps.post(api("/c/12345/settings/vat_types"), json={"data": created_body})

    created = vat_type_create(
        client,
        value=0,
        natura="n3.2",
        description="Art. 41",
        notes="Operazione non imponibile art. 41 D.L. 331/1993",
        ei_description="Non imponibili - cessioni intracomunitarie",
    )

    assert (created.id, created.ei_type) == (77, "N3.2") and cache.get(vat_types_key(12345)) is None
    sent = json.loads(rsps.calls[0].request.body)["data"]
    assert sent["ei_type"] == "N3.2" and sent["e_invoice"] is True and sent["value"] == 0


def test_vat_type_payload_refuses_what_sdi_would_reject():
    for value, natura in ((0, ""), (0, "N3"), (22, "N5"), ("abc", ""), (150, "")):
        with pytest.raises(ValueError):
            vat_type_payload(value=value, natura=natura, description="", notes="", ei_description="")
    assert "ei_type" not in vat_type_payload(value=22, natura="", description="", notes="", ei_description="")["data"]


def test_vat_type_create_without_settings_scope_asks_to_reconnect(client, rsps):
    rsps.post(api("/c/12345/settings/vat_types"), json=NO_PERMISSION, status=403)
    rsps.post(api("/c/12345/settings/vat_types"), json={"error": {"message": "Invalid"}}, status=422)

    with pytest.raises(FattureScopeMissing):
        vat_type_create(client, value=0, natura="N5", description="M", notes="", ei_description="")
    with pytest.raises(FattureRejected):
        vat_type_create(client, value=0, natura="N5", description="M", notes="", ei_description="")


def test_vat_types_are_found_by_rate_and_natura():
    types = [
        VatType(1, Decimal(0), "old", "N3.2", is_disabled=True),
        VatType(2, Decimal(0), "ok", "N3.2"),
        VatType(3, Decimal(22), "std", ""),
    ]

    assert vat_type_find(types, value=0, natura="n3.2").id == 2
    assert vat_type_find(types, value="22").id == 3
    assert vat_type_find(types, value=0, natura="N5") is None and vat_type_find(types, value="x") is None
