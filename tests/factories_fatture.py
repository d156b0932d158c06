"""Factories and realistic Fatture in Cloud payloads (shapes from the examples of the public
OpenAPI file, docs/providers/fatture-in-cloud.md §0.2)."""

from datetime import timedelta

import factory
from django.conf import settings
from django.utils import timezone

from accounts.models import PreRegistration
from fatture.models import FattureConnection, ProductMapping
from tests.factories import TenantFactory

ACCESS = "a/eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.ACCESS-SECRET-1111"
REFRESH = "r/REFRESH-SECRET-2222-never-show-me"
NEW_ACCESS = "a/eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.ACCESS-SECRET-3333"
NEW_REFRESH = "r/REFRESH-SECRET-4444-rotated"
COMPANY_ID = 12345


def api(path: str) -> str:
    return settings.FATTURE_API_URL + path


def token_url() -> str:
    return settings.FATTURE_TOKEN_URL


class PreRegistrationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PreRegistration

    email = factory.Sequence(lambda n: f"fic{n}@example.com")
    status = PreRegistration.Status.APPROVED


class FattureConnectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FattureConnection

    tenant = factory.SubFactory(TenantFactory)
    status = FattureConnection.Status.CONNECTED
    access_token = ACCESS
    refresh_token = REFRESH
    token_expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=20))
    fatture_email = "mario.rossi@example.com"
    company_id = COMPANY_ID
    company_name = "Rossi S.r.l."
    connected_at = factory.LazyFunction(timezone.now)


class ProductMappingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductMapping

    tenant = factory.SubFactory(TenantFactory)
    company_id = COMPANY_ID
    slot = "std_domestic"
    product_id = 1001
    product_name = "Mattoncini LEGO"
    product_code = "LEGO-STD"
    vat_id = 0
    vat_value = 22
    vat_description = "22%"


# --- payloads ---------------------------------------------------------------------------------


def token_payload(access=NEW_ACCESS, refresh=NEW_REFRESH, expires_in=86400) -> dict:
    return {"token_type": "bearer", "access_token": access, "refresh_token": refresh, "expires_in": expires_in}


def user_info(email="mario.rossi@example.com") -> dict:
    return {
        "data": {
            "id": 12345,
            "name": "Mario Rossi",
            "first_name": "Mario",
            "last_name": "Rossi",
            "email": email,
            "hash": "5add29e1",
            "picture": "",
        },
        "info": {
            "need_marketing_consents_confirmation": False,
            "need_password_change": False,
            "need_terms_of_service_confirmation": False,
        },
        "email_confirmation_state": {"need_confirmation": False},
    }


def companies(*entries) -> dict:
    return {"data": {"companies": list(entries)}}


def company(cid=COMPANY_ID, name="Rossi S.r.l.", type_="company", controlled=(), **extra) -> dict:
    return {
        "id": cid,
        "name": name,
        "type": type_,
        "vat_number": "IT01234567890",
        "tax_code": "01234567890",
        "fic_plan": "standard",
        "fic_license_expire": "2099-12-31",
        "connection_id": 94566,
        "access_token": "company-token-not-used",
        "controlled_companies": list(controlled),
        **extra,
    }


VAT_TYPES = {
    "data": [
        {
            "id": 0,
            "value": 22,
            "description": "22%",
            "notes": "",
            "e_invoice": True,
            "ei_type": None,
            "ei_description": None,
            "editable": False,
            "is_disabled": False,
            "default": True,
        },
        {
            "id": 66,
            "value": 0,
            "description": "Regime del margine",
            "notes": "Regime del margine – beni usati",
            "e_invoice": True,
            "ei_type": "N5",
            "ei_description": "Regime del margine",
            "editable": True,
            "is_disabled": False,
        },
        {
            "id": 21,
            "value": 0,
            "description": "Non imp. art. 8 c.1 lett. a",
            "notes": "",
            "e_invoice": True,
            "ei_type": "N3.1",
            "ei_description": "Esportazioni",
            "editable": False,
            "is_disabled": False,
        },
        {
            "id": 10,
            "value": 10,
            "description": "10%",
            "notes": "",
            "e_invoice": True,
            "ei_type": None,
            "editable": False,
            "is_disabled": False,
        },
    ]
}


def product(pid: int, name: str, code: str = "", vat_id: int = 0, vat_value: float = 22) -> dict:
    # List answers carry only part of default_vat (docs/providers/fatture-in-cloud.md §4); ei_type comes from
    # the VAT-types list.
    return {
        "id": pid,
        "name": name,
        "code": code,
        "net_price": 10,
        "gross_price": 12.2,
        "use_gross_price": True,
        "net_cost": 0,
        "measure": "pz",
        "description": "",
        "category": "LEGO",
        "in_stock": False,
        "default_vat": {
            "id": vat_id,
            "value": vat_value,
            "description": f"{vat_value}%",
            "notes": "",
            "is_disabled": False,
        },
    }


def page(items: list, current: int, last: int, per_page: int = 100, total: int | None = None) -> dict:
    total = total if total is not None else len(items)
    return {
        "current_page": current,
        "last_page": last,
        "per_page": per_page,
        "total": total,
        "from": (current - 1) * per_page + 1,
        "to": (current - 1) * per_page + len(items),
        "first_page_url": "page=1",
        "last_page_url": f"page={last}",
        "next_page_url": f"page={current + 1}" if current < last else None,
        "prev_page_url": f"page={current - 1}" if current > 1 else None,
        "path": "/products",
        "data": items,
    }


STANDARD_CATALOGUE = [
    product(1001, "Mattoncini LEGO", "LEGO-STD", 0, 22),
    product(1002, "LEGO usato (margine)", "LEGO-MARG", 66, 0),
    product(1003, "LEGO export", "LEGO-EXP", 21, 0),
    product(1004, "Spedizione", "SHIP", 0, 22),
    product(1005, "Gestione ordine", "HAND", 0, 22),
    product(1006, "Libri", "BOOK", 10, 10),
]


# --- e-invoicing, receipts, webhooks (shapes from the openapi.yaml examples) --------------------

VERIFY_OK = {"data": {"success": True}}
SEND_OK = {"data": {"name": "CARICATO", "date": "2021-08-23 10:38:03"}}
# The spec's shape (VerifyEInvoiceXmlErrorResponse) and the docs guide's plain array (§8.2).
VERIFY_422_SPEC = {
    "error": {
        "message": "Validation XML",
        "validation_result": {
            "xml_errors": [
                "Nel cessionario/committente, il campo CAP deve contenere 5 cifre",
                "Nel dettaglio linee, per l'aliquota 0 il campo Natura è obbligatorio",
            ]
        },
    },
    "extra": {"errors": ["Il campo Nazione del cessionario non è valido"]},
}
VERIFY_422_ARRAY = {
    "error": {
        "message": "Validation XML",
        "validation_result": [
            'Nei dati generali del documento, il contenuto "0000-00-00" del campo Data non è nel formato valido'
        ],
    }
}
ERROR_REASON = {
    "data": {
        "reason": "La Partita IVA della tua azienda risulta sbagliata e/o cessata.",
        "ei_status": "rejected",
        "solution": "Puoi correggere la tua Partita IVA in: Impostazioni > Azienda > Informazioni di fatturazione.",
        "date": "2023-06-06",
    }
}


def company_info(plan="premium_plus", e_invoice=True, receipts=True, fic_receipts="write") -> dict:
    permissions = {
        "fic_situation": "read",
        "fic_clients": "write",
        "fic_products": "write",
        "fic_issued_documents": "detailed",
        "fic_issued_documents_detailed": {"invoices": "write", "credit_notes": "write", "receipts": "write"},
        "fic_receipts": fic_receipts,
        "fic_settings": "write",
        "dic_employees": "none",
    }
    return {
        "data": {
            "id": COMPANY_ID,
            "name": "Rossi S.r.l.",
            "email": "mario.rossi@example.com",
            "type": "company",
            "fic": True,
            "fic_plan_name": plan,
            "fic_license_expire": "2030-12-31",
            "access_info": {"role": "master", "through_accountant": False, "permissions": permissions},
            "plan_info": {
                "limits": {"clients": 5000, "suppliers": 5000, "products": 5000, "documents": 3000},
                "functions": {"e_invoice": e_invoice, "receipts": receipts, "archive": True, "stock": True},
            },
            "is_accountant": False,
        }
    }


PAYMENT_ACCOUNTS = {
    "data": [
        {"id": 21, "name": "Indesa - Carta conto", "type": "standard", "iban": None, "sia": None, "virtual": False},
        {"id": 109, "name": "Indesa", "type": "bank", "iban": "IT17A1234563200000003498936", "sia": "IN234"},
    ]
}


def receipt(rid=12345, day="2021-08-20", description="cassa 1", gross=20) -> dict:
    return {
        "id": rid,
        "date": day,
        "number": 5,
        "numeration": "REC005",
        "amount_net": 16.39,
        "amount_vat": 3.61,
        "amount_gross": gross,
        "use_gross_prices": True,
        "type": "sales_receipt",
        "description": description,
        "rc_center": "",
        "payment_account": {"id": 222, "name": "carta di credito"},
        "items_list": [{"id": 666, "amount_net": 16.39, "amount_gross": 20, "category": "altro", "vat": {"id": 0}}],
    }


def subscription(sub_id="SUB123", sink="https://bi.example.com/home/accounting/webhooks/fatture") -> dict:
    return {
        "data": {
            "id": sub_id,
            "sink": sink,
            "verified": False,
            "types": ["it.fattureincloud.webhooks.issued_documents.e_invoices.status_update"],
        },
        "warnings": [],
    }
