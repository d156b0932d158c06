"""Demo e-invoices in the fake Fatture in Cloud: two Italian business customers of "Demo Bricks
S.r.l.", each with an e-invoice already sent to the sandbox SDI in its own series ``/E``, so the
sandbox index page shows one accepted and one rejected (00305: the buyer's VAT number fails its
check digit) without touching the numbering of the invoices the demo creates."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone

from . import fatture_sdi
from .demo_base import DEMO_COMPANY_ID
from .fatture_documents import document_create
from .models import SandboxFattureClient, SandboxFattureDocument, SandboxFattureProduct

NUMERATION = "/E"
# (marker, client code, name, VAT number, recipient code, street, CAP, city, province)
CUSTOMERS = [
    ("DEMO:einvoice:accepted", "DEMO-FERR", "Ferramenta Rossi S.r.l.", "00743110157", "M5UXCR1",
     "Via Roma 1", "20121", "Milano", "MI"),
    ("DEMO:einvoice:rejected", "DEMO-GIOC", "Giocattoli Bianchi S.n.c.", "01234567890", "KRRH6B9",
     "Corso Francia 8", "10121", "Torino", "TO"),
]  # fmt: skip


def _client(code, name, vat, ei_code, street, cap, city, province) -> tuple[int, dict]:
    data = {
        "code": code,
        "name": name,
        "type": "company",
        "vat_number": vat,
        "tax_code": vat,
        "address_street": street,
        "address_postal_code": cap,
        "address_city": city,
        "address_province": province,
        "country": "Italia",
        "country_iso": "IT",
        "e_invoice": True,
        "ei_code": ei_code,
    }
    row = SandboxFattureClient.objects.filter(company_id=DEMO_COMPANY_ID, data__code=code).first()
    if row is None:
        row = SandboxFattureClient.objects.create(company_id=DEMO_COMPANY_ID, data=data)
    return row.pk, data


def _invoice(marker: str, client_id: int, entity: dict, on: date) -> SandboxFattureDocument:
    product = SandboxFattureProduct.objects.get(company_id=DEMO_COMPANY_ID, data__code="STD-IT")
    body = {
        "data": {
            "type": "invoice",
            "numeration": NUMERATION,
            "date": on.isoformat(),
            "entity": {"id": client_id, **entity},
            "subject": marker,
            "visible_subject": "Fornitura mattoncini LEGO",
            "use_gross_prices": True,
            "e_invoice": True,
            "ei_data": {"payment_method": "MP05"},
            "items_list": [
                {"product_id": product.pk, "name": product.data["name"], "qty": 1, "gross_price": 122, "vat": {"id": 0}}
            ],
            "payments_list": [
                {"amount": 122, "due_date": on.isoformat(), "status": "paid", "paid_date": on.isoformat()}
            ],
        }
    }
    return document_create(company_id=DEMO_COMPANY_ID, body=body, view_url=lambda pk: f"/sandbox/fatture/view/{pk}")


def demo_einvoices_load(*, today: date | None = None) -> int:
    """Create (once) and send the two demo e-invoices; later loads leave them as they are."""
    on = (today or timezone.localdate()) - timedelta(days=10)
    for marker, code, name, vat, ei_code, street, cap, city, province in CUSTOMERS:
        row = SandboxFattureDocument.objects.filter(company_id=DEMO_COMPANY_ID, data__subject=marker).first()
        if row is None:
            client_id, entity = _client(code, name, vat, ei_code, street, cap, city, province)
            row = _invoice(marker, client_id, entity, on)
            fatture_sdi.advance(fatture_sdi.submit(row), at_once=True)
    return len(CUSTOMERS)
