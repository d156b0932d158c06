"""The demo's fake Fatture in Cloud: users and companies, VAT types and products (sandbox.demo
loads them)."""

from __future__ import annotations

import html
from decimal import ROUND_HALF_UP, Decimal

from .demo_base import (
    ACCOUNTANT_COMPANY_ID,
    CONTROLLED_COMPANY_ID,
    DEMO_COMPANY_ID,
    SELLER_EMAIL,
    STRANGER_COMPANY_ID,
    STRANGER_EMAIL,
    D,
)
from .demo_scenarios import CATALOGUE

# --- Fatture in Cloud -----------------------------------------------------------------------------

VAT_TYPES = [
    (
        0,
        {
            "value": 22,
            "description": "Ordinaria 22%",
            "notes": "",
            "e_invoice": True,
            "ei_type": None,
            "ei_description": None,
            "editable": False,
            "is_disabled": False,
            "default": True,
        },
    ),
    (
        1,
        {
            "value": 10,
            "description": "Ridotta 10%",
            "notes": "",
            "e_invoice": True,
            "ei_type": None,
            "ei_description": None,
            "editable": False,
            "is_disabled": False,
            "default": False,
        },
    ),
    (
        2,
        {
            "value": 4,
            "description": "Minima 4%",
            "notes": "",
            "e_invoice": True,
            "ei_type": None,
            "ei_description": None,
            "editable": False,
            "is_disabled": False,
            "default": False,
        },
    ),
    (
        3,
        {
            "value": 0,
            "description": "Non imponibile art. 8 c.1 lett. a DPR 633/72",
            "notes": "Operazione non imponibile art. 8, c.1, lett. a) D.P.R. 633/1972",
            "e_invoice": True,
            "ei_type": "N3.1",
            "ei_description": "Non imponibili - esportazioni",
            "editable": True,
            "is_disabled": False,
            "default": False,
        },
    ),
    (
        4,
        {
            "value": 0,
            "description": "Regime del margine art. 36 DL 41/95",
            "notes": "Regime del margine – beni usati – art. 36 D.L. 41/1995",
            "e_invoice": True,
            "ei_type": "N5",
            "ei_description": "Regime del margine / IVA non esposta in fattura",
            "editable": True,
            "is_disabled": False,
            "default": False,
        },
    ),
    (
        5,
        {
            "value": 0,
            "description": "Non imponibile art. 41 DL 331/93",
            "notes": "Operazione non imponibile art. 41, c.1, lett. a) D.L. 331/1993",
            "e_invoice": True,
            "ei_type": "N3.2",
            "ei_description": "Non imponibili - cessioni intracomunitarie",
            "editable": True,
            "is_disabled": False,
            "default": False,
        },
    ),
    (
        6,
        {
            "value": 0,
            "description": "Franchigia art. 1 c. 54-89 L. 190/2014",
            "notes": "Operazione in franchigia da IVA ai sensi dell'art. 1, commi 54-89, L. 190/2014",
            "e_invoice": True,
            "ei_type": "N2.2",
            "ei_description": "Non soggette - altri casi",
            "editable": True,
            "is_disabled": False,
            "default": False,
        },
    ),
    (
        7,
        {
            "value": 5,
            "description": "5% (non più in uso)",
            "notes": "",
            "e_invoice": True,
            "ei_type": None,
            "ei_description": None,
            "editable": True,
            "is_disabled": True,
            "default": False,
        },
    ),
]
# (code, name, VAT type id, gross unit price) — the eight slots, the wrong-VAT one, and a catalogue.
SLOT_PRODUCTS = [
    ("STD-IT", "Mattoncini LEGO nuovi — Italia", 0, D("1.00")),
    ("STD-UE", "Mattoncini LEGO nuovi — UE", 0, D("1.00")),
    ("STD-EXP", "Mattoncini LEGO nuovi — export", 3, D("1.00")),
    ("MRG-IT", "Mattoncini LEGO usati (regime del margine) — Italia", 4, D("1.00")),
    ("MRG-UE", "Mattoncini LEGO usati (regime del margine) — UE", 4, D("1.00")),
    ("MRG-EXP", "Mattoncini LEGO usati — export", 3, D("1.00")),
    ("SPED", "Spese di spedizione", 0, D("1.00")),
    ("GEST", "Gestione ordine e imballaggio", 0, D("1.00")),
    ("GEST-10", "Gestione ordine (IVA 10% — errata per la demo)", 1, D("1.00")),
]
CATALOGUE_PRODUCTS = [
    (f"SET-{no.split('-')[0]}", f"Set LEGO {no} {html.unescape(name)}", 0, price)
    for no, name, kind, _category, price, _weight in CATALOGUE
    if kind == "SET"
] + [(f"BULK-{n:02d}", f"Lotto mattoncini assortiti n. {n}", 0, D("9.90") + n) for n in range(1, 10)]


def _company(company_id: int, name: str, vat_number: str, tax_code: str, **extra) -> dict:
    return {
        "id": company_id,
        "name": name,
        "type": "company",
        "vat_number": vat_number,
        "tax_code": tax_code,
        "fic_plan": "premium",
        "fic_license_expire": "2099-12-31",
        "connection_id": 94000 + company_id,
        "controlled_companies": [],
        **extra,
    }


def fatture_users() -> list[dict]:
    # On Standard: no corrispettivi register (FH-20), to show the Premium requirement.
    controlled = _company(
        CONTROLLED_COMPANY_ID, "Verdi Mattoncini S.n.c.", "IT09876543210", "09876543210", fic_plan="standard"
    )
    controlled.pop("controlled_companies")
    return [
        {
            "email": SELLER_EMAIL,
            "first_name": "Mario",
            "last_name": "Rossi",
            "companies": [
                _company(DEMO_COMPANY_ID, "Demo Bricks S.r.l.", "IT01234567890", "01234567890"),
                {
                    **_company(
                        ACCOUNTANT_COMPANY_ID, "Studio Verdi Commercialisti", "IT05555555555", "VRDLGU70A01F205X"
                    ),
                    "type": "accountant",
                    "controlled_companies": [controlled],
                },
            ],
        },
        {
            "email": STRANGER_EMAIL,
            "first_name": "Sara",
            "last_name": "Neri",
            "companies": [_company(STRANGER_COMPANY_ID, "Neri Giocattoli S.r.l.", "IT04444444444", "04444444444")],
        },
    ]


def _product_data(code: str, name: str, vat_id: int, gross: Decimal) -> dict:
    vat = dict(VAT_TYPES)[vat_id]
    value = D(vat["value"])
    net = (gross / (1 + value / 100)).quantize(D("0.00001"), rounding=ROUND_HALF_UP)
    return {
        "name": name,
        "code": code,
        "net_price": float(net),
        "gross_price": float(gross),
        "use_gross_price": True,
        # Product lists may carry only these fields of the VAT type (docs/providers/fatture-in-cloud.md §4).
        "default_vat": {
            "id": vat_id,
            "value": vat["value"],
            "description": vat["description"],
            "notes": vat["notes"],
            "is_disabled": vat["is_disabled"],
        },
        "net_cost": 0,
        "measure": "pz",
        "description": "",
        "category": "LEGO",
        "notes": "",
        "in_stock": False,
        "created_at": "2024-01-15 10:00:00",
        "updated_at": "2024-01-15 10:00:00",
    }
