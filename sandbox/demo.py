"""Demo data: logins, sandbox stores with orders, and the fake Fatture in Cloud accounts.

Everything is generated in code from a fixed seed (no fixtures) and ``demo_load()`` is idempotent:
rows are found by natural keys (e-mail, store key, order id, product code) and updated in place.
Order dates are relative to an anchor day stored on the BrickLink store the first time, so the
orders look recent in a fresh demo and do not change (nor look "updated") on later loads.

What the demo shows:

- logins ``DEMO_LOGINS``: a platform admin and the pre-registered seller "Demo Bricks";
- a BrickLink store (and an extra token bound to another IP, to show ``TOKEN_IP_MISMATCHED``)
  and a BrickOwl store whose credentials the sandbox index page (``/sandbox/``) lists;
- orders to Italy, Germany, France, Spain (one to the Canary Islands), Ireland (buyer O'Brien),
  the Netherlands, the UK (``UK`` on BrickLink, VAT collected by BrickLink), the US (sales tax
  collected by BrickLink) and Switzerland; new and used lots, coupons, credit, insurance,
  etc1/etc2, several batches, a cancelled, an unpaid, a disputed and a filed order, repeat buyers;
- two Fatture users: ``seller@demo…`` (pre-registered: can connect) and ``stranger@demo…`` (not:
  shows "Email Not Registered"); the seller owns "Demo Bricks S.r.l." and, as an accountant's
  studio, controls "Verdi Mattoncini S.n.c."; each company has VAT types (22 %, 10 %, 4 %, 0 %
  art. 8 export N3.1, 0 % margin scheme art. 36 DL 41/95 N5, 0 % art. 41 N3.2, 0 % forfettario
  N2.2, a disabled one) and products for the eight slots, plus one product with a deliberately
  wrong VAT (handling at 10 %) for the mapping-mismatch demo.
"""

from __future__ import annotations

import hashlib
import html
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, ROUND_UP, Decimal
from zoneinfo import ZoneInfo

from django.apps import apps
from django.db import transaction

from .models import (
    SandboxFattureProduct,
    SandboxFattureUser,
    SandboxFattureVatType,
    SandboxOrder,
    SandboxStore,
)

SEED = 20240314
ADMIN_EMAIL = "admin@demo.brickinvoice.local"
SELLER_EMAIL = "seller@demo.brickinvoice.local"
STRANGER_EMAIL = "stranger@demo.brickinvoice.local"
DEMO_LOGINS = [
    ("admin", ADMIN_EMAIL, "demo-admin-password"),
    ("seller", SELLER_EMAIL, "demo-seller-password"),
]
SELLER_TENANT = "Demo Bricks"
DEMO_COMPANY_ID = 1001
ACCOUNTANT_COMPANY_ID = 1002
CONTROLLED_COMPANY_ID = 1003
STRANGER_COMPANY_ID = 1004
LONDON = ZoneInfo("Europe/London")
ANY_ADDRESS = "0.0.0.0"  # noqa: S104 - BrickLink's IP for a token usable from any address


def _fake_secret(label: str, length: int = 32, upper: bool = True) -> str:
    text = hashlib.sha256(f"{SEED}:{label}".encode()).hexdigest()[:length]
    return text.upper() if upper else text


BRICKLINK_CREDENTIALS = {
    "consumer_key": _fake_secret("bl-consumer-key"),
    "consumer_secret": _fake_secret("bl-consumer-secret"),
    "token_value": _fake_secret("bl-token-value"),
    "token_secret": _fake_secret("bl-token-secret"),
}
BRICKLINK_IP_BOUND_TOKEN = {"value": _fake_secret("bl-ipbound-value"), "secret": _fake_secret("bl-ipbound-secret")}
BRICKOWL_API_KEY = _fake_secret("bo-api-key", 64, upper=False)


# --- money ----------------------------------------------------------------------------------------

D = Decimal
ZERO = D("0")


def bl_money(value: Decimal) -> str:
    """BrickLink money: a 4-decimal string, rounded up (reference §1)."""
    return str(D(value).quantize(D("0.0001"), rounding=ROUND_UP))


def bo_money(value: Decimal, places: int = 2) -> str:
    return str(D(value).quantize(D(1).scaleb(-places), rounding=ROUND_HALF_UP))


def bl_time(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


# --- buyers and catalogue -------------------------------------------------------------------------


@dataclass(frozen=True)
class Buyer:
    username: str
    first: str
    last: str
    email: str
    country: str  # ISO; BrickLink writes UK for GB
    street: str
    postal_code: str
    city: str
    state: str = ""
    country_name: str = ""
    phone: str = ""

    @property
    def full_name(self) -> str:
        return f"{self.first} {self.last}"


# key|username|first|last|email|country|street|postal code|city|state|country name|phone
_BUYER_ROWS = """
mario|mario_brick|Mario|Bianchi|mario.bianchi@example.it|IT|Via Garibaldi 10|20121|Milano|MI|Italy|+39 02 1234567
giulia|giulia.mattoncini|Giulia|Verdi|giulia.verdi@example.it|IT|Corso Vittorio Emanuele 55|80121|Napoli|NA|Italy|
anna|brickfan_berlin|Anna|Müller|anna.mueller@example.de|DE|Hauptstraße 12|10115|Berlin||Germany|+49 30 1234567
camille|lego_lyon|Camille|Dubois|camille.dubois@example.fr|FR|12 Rue de la République|69002|Lyon||France|
javier|madrid_minifigs|Javier|García|javier.garcia@example.es|ES|Calle Mayor 5|28013|Madrid|Madrid|Spain|
lucia|canarias_bricks|Lucía|Hernández|lucia.h@example.es|ES|Calle Triana 20|35002|Las Palmas de Gran Canaria||Spain|
oliver|london_bricks|Oliver|Smith|oliver@example.uk|GB|221B Baker Street|NW1 6XE|London||United Kingdom|+44 20 7946 0000
emily|texas_technic|Emily|Johnson|emily.johnson@example.com|US|100 Congress Ave|78701|Austin|TX|United States|
lukas|zurich_brix|Lukas|Meier|lukas.meier@example.ch|CH|Bahnhofstrasse 1|8001|Zürich|ZH|Switzerland|
sean|obrien_bricks|Seán|O'Brien|sean.obrien@example.ie|IE|14 O'Connell Street|D01 F5P2|Dublin||Ireland|
sanne|dutch_plates|Sanne|de Vries|sanne.devries@example.nl|NL|Damrak 1|1012 LG|Amsterdam||Netherlands|
"""
BUYERS = {key: Buyer(*fields) for key, *fields in (row.split("|") for row in _BUYER_ROWS.strip().splitlines())}
EU = {"IT", "DE", "FR", "ES", "IE", "NL"}

# (BrickLink no, BrickLink name with its HTML entities, type, category, unit price, weight g)
CATALOGUE = [
    ("3001", "Brick 2 x 4", "PART", 5, D("0.15"), "2.32"),
    ("3023", "Plate 1 x 2", "PART", 26, D("0.04"), "0.42"),
    ("3069b", "Tile 1 x 2 with Groove", "PART", 37, D("0.06"), "0.39"),
    ("4073", "Plate, Round 1 x 1 Straight Side", "PART", 21, D("0.03"), "0.14"),
    ("6558", "Technic, Pin 3L with Friction Ridges", "PART", 139, D("0.05"), "0.29"),
    ("973pb0001", "Torso &quot;I &#9829; LEGO&quot; Pattern", "PART", 60, D("1.20"), "0.71"),
    ("sw0585", "Stormtrooper &#40;Dotted Mouth&#41;", "MINIFIG", 65, D("4.50"), "3.20"),
    ("hp150", "Harry Potter &#45; Gryffindor Robe &amp; Scarf", "MINIFIG", 227, D("6.80"), "3.40"),
    ("col380", "Leprechaun&#39;s Apprentice, Series 22", "MINIFIG", 746, D("3.90"), "3.10"),
    ("40570-1", "Halloween Cat &amp; Mouse", "SET", 771, D("12.99"), "159.80"),
    ("10281-1", "Bonsai Tree", "SET", 782, D("44.90"), "876.00"),
    ("75192-1", "Millennium Falcon &#45; UCS &#40;2nd edition&#41;", "SET", 65, D("749.00"), "13450.00"),
]
COLORS = [(5, "Red"), (11, "Black"), (1, "White"), (7, "Blue"), (3, "Yellow"), (86, "Light Bluish Gray")]
BO_TYPES = {"PART": "Part", "MINIFIG": "Minifigure", "SET": "Set"}
BO_COLORS = {
    5: ("6", "Red"),
    11: ("38", "Black"),
    1: ("1", "White"),
    7: ("7", "Blue"),
    3: ("3", "Yellow"),
    86: ("48", "Light Bluish Gray"),
}


@dataclass
class Lot:
    no: str
    name: str
    type: str
    category: int
    quantity: int
    unit_price: Decimal
    weight: str
    used: bool
    color: tuple[int, str | None] = (0, None)
    unit_price_final: Decimal | None = None

    @property
    def final(self) -> Decimal:
        return self.unit_price_final if self.unit_price_final is not None else self.unit_price


def _lot(rng: random.Random, *, used: bool | None = None, kind: str | None = None) -> Lot:
    choices = [c for c in CATALOGUE if kind is None or c[2] == kind]
    no, name, type_, category, price, weight = rng.choice(choices[:-1] if kind is None else choices)
    quantity = rng.randint(5, 60) if type_ == "PART" else 1
    color = rng.choice(COLORS) if type_ == "PART" else (0, None)
    used = rng.random() < 0.45 if used is None else used
    unit = price * (D("0.8") if used else 1)
    return Lot(no, name, type_, category, quantity, unit.quantize(D("0.001")), weight, used, color)


# --- scenarios ------------------------------------------------------------------------------------


@dataclass
class Scenario:
    """One demo order, marketplace-neutral; rendered to a BrickLink or BrickOwl payload."""

    order_id: str
    buyer: Buyer
    batches: list[list[Lot]]
    status: str  # BrickLink vocabulary; mapped for BrickOwl
    days_ago: int
    shipping: Decimal = D("6.90")
    insurance: Decimal = ZERO
    etc1: Decimal = ZERO
    etc2: Decimal = ZERO
    credit: Decimal = ZERO
    coupon: Decimal = ZERO
    sales_tax: Decimal = ZERO  # US sales tax collected by BrickLink
    vat_by_marketplace: Decimal = ZERO  # UK VAT collected by BrickLink
    is_filed: bool = False
    payment_status: str = "Received"

    @property
    def lots(self) -> list[Lot]:
        return [lot for batch in self.batches for lot in batch]

    @property
    def subtotal(self) -> Decimal:
        return sum((lot.final * lot.quantity for lot in self.lots), ZERO)

    @property
    def grand_total(self) -> Decimal:
        return (
            self.subtotal
            + self.shipping
            + self.insurance
            + self.etc1
            + self.etc2
            - self.credit
            - self.coupon
            + self.sales_tax
            + self.vat_by_marketplace
        )


def _reference_lots() -> list[list[Lot]]:
    """The basket of the reference example (shared/reference/bricklink/README.md §11)."""
    return [
        [
            Lot("3001", "Brick 2 x 4", "PART", 5, 20, D("0.15"), "2.32", False, (5, "Red")),
            Lot("3023", "Plate 1 x 2", "PART", 26, 50, D("0.04"), "0.42", True, (11, "Black"), D("0.036")),
            Lot("sw0585", "Stormtrooper &#40;Dotted Mouth&#41;", "MINIFIG", 65, 1, D("4.50"), "3.20", True),
        ],
        [Lot("40570-1", "Halloween Cat &amp; Mouse", "SET", 771, 1, D("12.99"), "159.80", False)],
    ]


def bricklink_scenarios() -> list[Scenario]:
    rng = random.Random(SEED)
    b = BUYERS

    def basket(n: int, **kw) -> list[list[Lot]]:
        return [[_lot(rng, **kw) for _ in range(n)]]

    fixed = [
        Scenario("24680135", b["anna"], _reference_lots(), "SHIPPED", 40),
        Scenario("24680136", b["mario"], basket(3, used=False), "PAID", 38, shipping=D("5.50")),
        Scenario("24680137", b["giulia"], basket(2, used=True), "COMPLETED", 36, shipping=D("4.90")),
        Scenario("24680138", b["camille"], basket(4), "SHIPPED", 35, coupon=D("2.00")),
        Scenario("24680139", b["javier"], basket(2), "PACKED", 33, shipping=D("9.50")),
        Scenario("24680140", b["lucia"], basket(3), "SHIPPED", 31, shipping=D("14.00")),
        Scenario(
            "24680141",
            b["oliver"],
            basket(2, used=False),
            "SHIPPED",
            30,
            shipping=D("12.00"),
            vat_by_marketplace=D("0"),
        ),  # amount filled below (20 % UK VAT on goods + shipping)
        Scenario(
            "24680142", b["emily"], [[_lot(rng, kind="SET")]], "SHIPPED", 28, shipping=D("24.00"), sales_tax=D("0")
        ),  # amount filled below (8.25 % Texas)
        Scenario("24680143", b["lukas"], basket(3), "COMPLETED", 27, shipping=D("15.00"), insurance=D("2.50")),
        Scenario(
            "24680144",
            b["sean"],
            [
                [Lot("col380", "Leprechaun&#39;s Apprentice, Series 22", "MINIFIG", 746, 2, D("3.90"), "3.10", False)],
                [_lot(rng, used=True)],
            ],
            "PAID",
            26,
            shipping=D("8.00"),
        ),
        Scenario("24680145", b["sanne"], basket(5), "SHIPPED", 25, etc1=D("1.50"), etc2=D("0.80")),
        Scenario("24680146", b["mario"], basket(2, used=True), "CANCELLED", 24, payment_status="None"),
        Scenario("24680147", b["giulia"], basket(3), "PENDING", 2, payment_status="None"),
        Scenario("24680148", b["anna"], basket(2), "PAID", 21, credit=D("3.00")),
        Scenario("24680149", b["sean"], basket(2, used=True), "COMPLETED", 60, is_filed=True),
        Scenario("24680150", b["camille"], basket(2), "NPB", 19, payment_status="None"),
        Scenario("24680151", b["mario"], basket(1, kind="SET", used=False), "READY", 3, payment_status="None"),
        Scenario(
            "24680152",
            b["oliver"],
            [[_lot(rng, kind="MINIFIG", used=True)]],
            "RECEIVED",
            18,
            shipping=D("9.00"),
            vat_by_marketplace=D("0"),
        ),
    ]
    for scenario in fixed:
        if scenario.vat_by_marketplace == 0 and scenario.buyer.country == "GB":
            scenario.vat_by_marketplace = ((scenario.subtotal + scenario.shipping) * D("0.20")).quantize(D("0.01"))
        if scenario.buyer.country == "US" and scenario.sales_tax == 0:
            scenario.sales_tax = (scenario.subtotal * D("0.0825")).quantize(D("0.01"))
    filler_buyers = ["mario", "giulia", "anna", "camille", "javier", "sanne", "sean", "lukas", "mario", "anna"]
    filler = []
    for index in range(18):
        buyer = b[filler_buyers[index % len(filler_buyers)]]
        status = rng.choice(["PAID", "PACKED", "SHIPPED", "SHIPPED", "COMPLETED", "RECEIVED"])
        filler.append(
            Scenario(
                str(24680160 + index),
                buyer,
                basket(rng.randint(1, 4)),
                status,
                17 - index // 2 + 1,
                shipping=D(rng.choice(["4.90", "6.90", "8.50", "11.00"])),
                coupon=D("1.00") if index % 7 == 3 else ZERO,
            )
        )
    return fixed + filler


def brickowl_scenarios() -> list[Scenario]:
    rng = random.Random(SEED + 1)
    b = BUYERS

    def basket(n: int, **kw) -> list[list[Lot]]:
        return [[_lot(rng, **kw) for _ in range(n)]]

    fixed = [
        Scenario("7654321", b["anna"], [_reference_lots()[0] + _reference_lots()[1]], "SHIPPED", 40),
        Scenario("7654322", b["mario"], basket(2, used=False), "PAID", 34, shipping=D("5.50")),
        Scenario("7654323", b["sean"], basket(2, used=True), "SHIPPED", 30, coupon=D("1.50")),
        Scenario("7654324", b["lucia"], basket(2), "PAID", 29, shipping=D("14.00")),
        Scenario("7654325", b["lukas"], basket(2), "SHIPPED", 26, shipping=D("15.00")),
        Scenario("7654326", b["emily"], basket(1, kind="SET"), "COMPLETED", 24, shipping=D("22.00")),
        Scenario("7654327", b["oliver"], basket(3), "PAID", 20, shipping=D("12.00")),
        Scenario("7654328", b["giulia"], basket(2), "CANCELLED", 19, payment_status="None"),
        Scenario("7654329", b["camille"], basket(2), "PENDING", 1, payment_status="None"),
        Scenario("7654330", b["javier"], basket(2), "NPB", 12, payment_status="None"),  # On Hold
    ]
    filler = []
    for index in range(14):
        buyer = b[["mario", "anna", "sanne", "sean", "camille", "giulia", "mario"][index % 7]]
        status = rng.choice(["PAID", "PROCESSING", "SHIPPED", "SHIPPED", "COMPLETED"])
        filler.append(
            Scenario(
                str(7654340 + index),
                buyer,
                basket(rng.randint(1, 3)),
                status,
                16 - index,
                shipping=D(rng.choice(["4.90", "6.90", "9.90"])),
            )
        )
    return fixed + filler


# --- BrickLink payloads ---------------------------------------------------------------------------

PAID_STATUSES = {"PAID", "PACKED", "SHIPPED", "RECEIVED", "COMPLETED"}


def _moments(anchor: date, scenario: Scenario, index: int) -> tuple[datetime, datetime, datetime | None]:
    ordered = datetime(anchor.year, anchor.month, anchor.day, 9, tzinfo=UTC) - timedelta(days=scenario.days_ago)
    ordered += timedelta(minutes=(index * 137) % 600, seconds=index * 7 % 60, milliseconds=index * 53 % 1000)
    paid = ordered + timedelta(minutes=3, seconds=28) if scenario.payment_status != "None" else None
    changed = ordered + timedelta(hours=2 + index % 30, minutes=17, milliseconds=870)
    return ordered, changed, paid


def bricklink_order(scenario: Scenario, anchor: date, index: int, store: dict) -> tuple[dict, list, datetime]:
    buyer = scenario.buyer
    ordered, changed, paid = _moments(anchor, scenario, index)
    eu = buyer.country in EU
    grand = scenario.grand_total
    marketplace_tax = scenario.sales_tax + scenario.vat_by_marketplace
    # The seller's store VAT setting is on at 22 %: EU buyers see it inside the prices (§9 c).
    seller_vat = (grand * 22 / D(122)) if eu else ZERO
    cost = {
        "currency_code": "EUR",
        "subtotal": bl_money(scenario.subtotal),
        "grand_total": bl_money(grand),
        "final_total": bl_money(grand - marketplace_tax),
        "salesTax": bl_money(scenario.sales_tax),
        "vat": bl_money(scenario.vat_by_marketplace),
        "etc1": bl_money(scenario.etc1),
        "etc2": bl_money(scenario.etc2),
        "insurance": bl_money(scenario.insurance),
        "shipping": bl_money(scenario.shipping),
        "credit": bl_money(scenario.credit),
        "coupon": bl_money(scenario.coupon),
        "vat_rate": "22.00" if eu else "0.00",
        "vat_amount": bl_money(seller_vat),
    }
    country_code = "UK" if buyer.country == "GB" else buyer.country
    status_paid = scenario.status in PAID_STATUSES
    payload = {
        "order_id": int(scenario.order_id),
        "date_ordered": bl_time(ordered),
        "date_status_changed": bl_time(changed),
        "seller_name": store["seller_name"],
        "store_name": store["store_name"],
        "buyer_name": buyer.username,
        "buyer_email": buyer.email,
        "buyer_order_count": 1 + index % 4,
        "require_insurance": scenario.insurance > 0,
        "status": scenario.status,
        "is_invoiced": scenario.status in PAID_STATUSES | {"READY"},
        "is_filed": scenario.is_filed,
        "drive_thru_sent": status_paid,
        "salesTax_collected_by_bl": scenario.sales_tax > 0,
        "vat_collected_by_bl": scenario.vat_by_marketplace > 0,
        "remarks": f"Shelf {chr(65 + index % 6)}-{index % 12 + 1:02d}",
        "total_count": sum(lot.quantity for lot in scenario.lots),
        "unique_count": len(scenario.lots),
        "total_weight": f"{sum(D(lot.weight) * lot.quantity for lot in scenario.lots):.2f}",
        "payment": {
            "method": "PayPal (Onsite)" if index % 3 else "Stripe (Onsite)",
            "currency_code": "USD" if buyer.country == "US" else "GBP" if buyer.country == "GB" else "EUR",
            "date_paid": bl_time(paid) if paid else None,
            "status": scenario.payment_status,
        },
        "shipping": {
            "method_id": 48213 if buyer.country == "IT" else 48214,
            "method": "Poste Italiane Posta1 Pro (tracked)"
            if buyer.country == "IT"
            else "Poste Italiane Internazionale",
            "tracking_no": f"RR{int(scenario.order_id) % 10**9:09d}IT"
            if scenario.status in ("SHIPPED", "RECEIVED", "COMPLETED")
            else "",
            "address": {
                "name": {"full": buyer.full_name, "first": buyer.first, "last": buyer.last},
                "full": f"{buyer.street}\n{buyer.postal_code} {buyer.city}\n{buyer.country_name}",
                # Structured fields are often empty on BrickLink (§10.9): leave some orders so.
                "address1": buyer.street if index % 4 else "",
                "address2": "",
                "country_code": country_code,
                "city": buyer.city if index % 4 else "",
                "state": buyer.state if index % 4 else "",
                "postal_code": buyer.postal_code if index % 4 else "",
                "phone_number": buyer.phone,
            },
        },
        "cost": cost,
        "disp_cost": {k: v for k, v in cost.items() if k not in ("salesTax", "vat")},
    }
    items = [
        [_bl_item(lot, int(scenario.order_id) * 10 + n) for n, lot in enumerate(batch)] for batch in scenario.batches
    ]
    return payload, items, ordered


def _bl_item(lot: Lot, inventory_id: int) -> dict:
    item = {
        "inventory_id": inventory_id,
        "item": {"no": lot.no, "name": lot.name, "type": lot.type, "category_id": lot.category},
        "color_id": lot.color[0],
        "quantity": lot.quantity,
        "new_or_used": "U" if lot.used else "N",
        "unit_price": bl_money(lot.unit_price),
        "unit_price_final": bl_money(lot.final),
        "disp_unit_price": bl_money(lot.unit_price),
        "disp_unit_price_final": bl_money(lot.final),
        "currency_code": "EUR",
        "disp_currency_code": "EUR",
        "remarks": f"BIN-{inventory_id % 97:02d}",
        "description": "Light play wear" if lot.used else "",
        "weight": lot.weight,
    }
    if lot.color[1]:
        item["color_name"] = lot.color[1]
    if lot.type == "SET":
        item["completeness"] = "B" if lot.used else "S"
    return item


# --- BrickOwl payloads ----------------------------------------------------------------------------

BO_STATUS = {
    "PENDING": ("0", "Pending"),
    "PAID": ("2", "Payment Received"),
    "PROCESSING": ("3", "Processing"),
    "PACKED": ("4", "Processed"),
    "SHIPPED": ("5", "Shipped"),
    "COMPLETED": ("6", "Received"),
    "RECEIVED": ("6", "Received"),
    "NPB": ("7", "On Hold"),
    "CANCELLED": ("8", "Cancelled"),
}


def _epoch(moment: datetime | None) -> str | None:
    return str(int(moment.timestamp())) if moment else None


def _iso_london(moment: datetime | None) -> str:
    # BrickOwl's "unset" is the epoch in London time (§5).
    moment = moment or datetime(1970, 1, 1, tzinfo=UTC)
    return moment.astimezone(LONDON).isoformat(timespec="seconds")


def brickowl_order(scenario: Scenario, anchor: date, index: int, store: dict) -> tuple[dict, list, datetime]:
    buyer = scenario.buyer
    ordered, changed, paid = _moments(anchor, scenario, index)
    ordered = ordered.replace(microsecond=0)
    status_id, status = BO_STATUS[scenario.status]
    processed = changed.replace(microsecond=0) if status_id in ("4", "5", "6") else None
    items = [_bo_item(lot, int(scenario.order_id) * 10 + n, n) for n, lot in enumerate(scenario.lots)]
    sub_total = sum((D(i["base_price"]) * int(i["ordered_quantity"]) for i in items), ZERO).quantize(D("0.01"))
    total = sub_total + scenario.shipping - scenario.coupon
    paid_in_gbp = buyer.country == "GB"
    payload = {
        "order_id": scenario.order_id,
        "order_time": _epoch(ordered),
        "processed_time": _epoch(processed),
        "updated_time": _epoch(changed),
        "iso_order_time": _iso_london(ordered),
        "iso_processed_time": _iso_london(processed),
        "store_id": store["store_id"],
        "ship_method_name": "Poste Italiane Posta1 Pro (tracked)",
        "ship_method_id": "51234",
        "status": status,
        "status_id": status_id,
        "weight": f"{sum(D(i['weight']) * int(i['ordered_quantity']) for i in items):.3f}",
        "ship_total": bo_money(scenario.shipping),
        "buyer_note": "Please pack the minifigure separately" if index % 5 == 0 else "",
        "total_quantity": str(sum(int(i["ordered_quantity"]) for i in items)),
        "total_lots": str(len(items)),
        "base_currency": "EUR",
        "payment_method_type": "paypal_standard" if index % 2 else "stripe",
        "payment_currency": "GBP" if paid_in_gbp else "EUR",
        "payment_total": bo_money(total * D("0.86")) if paid_in_gbp else bo_money(total),
        "base_order_total": bo_money(total),
        "sub_total": bo_money(sub_total),
        "coupon_discount": bo_money(scenario.coupon),
        "payment_method_note": "",
        "payment_transaction_id": f"5TY{int(scenario.order_id):08d}C" if paid else "",
        "tax_rate": "0.00",
        "tax_amount": "0.00",
        "tax_scheme_id": None,
        "tracking_number": f"RR{int(scenario.order_id):09d}IT" if status_id in ("5", "6") else "",
        "tracking_advice": "",
        "buyer_name": buyer.full_name,
        "combine_with": None,
        "refund_shipping": "0.00",
        "refund_adjustment": "0.00",
        "refund_subtotal": "0.00",
        "refund_total": "0.00",
        "refund_note": None,
        "customer_feedback_left": None,
        "store_feedback_left": None,
        "my_cost_total": "0.00",
        "affiliate_fee": 0,
        "brickowl_fee": float((sub_total * D("0.025")).quantize(D("0.00001"))),
        "seller_note": None,
        "customer_email": buyer.email,
        "customer_user_id": str(345000 + sum(map(ord, buyer.username)) % 1000),
        "customer_username": buyer.username,
        "message_count": str(index % 3),
        "utm_source": None,
        "utm_medium": None,
        "url": f"https://www.brickowl.com/mystore/orders/view/{scenario.order_id}",
        **_bo_address("ship", buyer),
        **_bo_address("billing", buyer),
        "ship_tax": "",
        "billing_tax": "",
    }
    return payload, items, ordered


def _bo_address(prefix: str, buyer: Buyer) -> dict:
    return {
        f"{prefix}_first_name": buyer.first,
        f"{prefix}_last_name": buyer.last,
        f"{prefix}_country_code": buyer.country,
        f"{prefix}_country": buyer.country_name,
        f"{prefix}_post_code": buyer.postal_code,
        f"{prefix}_street_1": buyer.street,
        f"{prefix}_street_2": "",
        f"{prefix}_city": buyer.city,
        f"{prefix}_region": buyer.state,
        f"{prefix}_phone": buyer.phone if prefix == "ship" else "",
    }


def _bo_item(lot: Lot, item_id: int, n: int) -> dict:
    name = html.unescape(lot.name)
    color_id, color_name = BO_COLORS.get(lot.color[0], (None, None))
    kind = BO_TYPES[lot.type]
    if lot.type == "PART":
        display = f"LEGO {color_name} {name} ({lot.no})"
        full_con = "usedg" if lot.used else "new"
    elif lot.type == "SET":
        display = f"LEGO {name} Set {lot.no.split('-')[0]}"
        full_con = "usedc" if lot.used else "news"
    else:
        display = f"LEGO {name} Minifigure"
        full_con = "usedn" if lot.used else "new"
    condition = {
        "new": "New",
        "news": "New (Sealed)",
        "usedg": "Used (Good)",
        "usedc": "Used (Complete)",
        "usedn": "Used (Like New)",
    }[full_con]
    boid = f"{int(hashlib.md5(lot.no.encode(), usedforsecurity=False).hexdigest()[:6], 16) % 999999}"
    if color_id:
        boid = f"{boid}-{color_id}"
    return {
        "order_item_id": str(item_id),
        "lot_id": str(31234567 + item_id % 100000),
        "boid": boid,
        "name": display,
        "type": kind,
        "color_id": color_id,
        "color_name": color_name,
        "condition": condition,
        "full_con": full_con,
        "ordered_quantity": str(lot.quantity),
        "refunded_quantity": "0",
        "base_price": bo_money(lot.final, 3),
        "weight": f"{D(lot.weight):.3f}",
        "public_note": "Light play wear" if lot.used else "",
        "personal_note": f"BIN-{n:02d}",
        "remaining_quantity": str(10 + item_id % 90),
        "bl_lot_id": None,
        "external_lot_ids": {"other": ""},
        "image_small": f"//img.brickowl.com/files/image_cache/small/lego-{lot.no}.jpg",
        "ids": [
            {"id": lot.no, "type": "bl_item_no" if lot.type != "SET" else "set_number"},
            {"id": boid, "type": "boid"},
        ],
    }


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
    controlled = _company(CONTROLLED_COMPANY_ID, "Verdi Mattoncini S.n.c.", "IT09876543210", "09876543210")
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
        # Product lists may carry only these fields of the VAT type (reference §4).
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


# --- loading --------------------------------------------------------------------------------------


def _load_logins() -> int:
    from accounts.models import Membership, User
    from accounts.services import tenant_create_for_user

    admin_email, admin_password = DEMO_LOGINS[0][1], DEMO_LOGINS[0][2]
    seller_email, seller_password = DEMO_LOGINS[1][1], DEMO_LOGINS[1][2]
    # Existing users keep their password: a seller who changed it in the demo is not reset.
    admin = User.objects.filter(email=admin_email).first() or User.objects.create_superuser(admin_email, admin_password)
    seller = User.objects.filter(email=seller_email).first() or User.objects.create_user(seller_email, seller_password)
    for user in (admin, seller):
        _verified_email(user)
    if not Membership.objects.filter(user=seller).exists():
        tenant_create_for_user(user=seller, business_name=SELLER_TENANT, country="IT")
    try:
        preregistration = apps.get_model("accounts", "PreRegistration")
    except LookupError:
        preregistration = None  # not merged yet: nothing to pre-register
    if preregistration is not None:
        row, _ = preregistration.objects.get_or_create(email=seller_email, defaults={"status": "approved"})
        if row.status != "approved":
            row.status = "approved"
            row.save(update_fields=["status"])
    return 2


def _verified_email(user) -> None:
    """Mark the demo e-mails verified so allauth never asks to confirm them."""
    try:
        email_model = apps.get_model("account", "EmailAddress")
    except LookupError:
        return
    email_model.objects.update_or_create(user=user, email=user.email, defaults={"verified": True, "primary": True})


def _load_store(marketplace: str, name: str, key: str, credentials: dict, profile: dict) -> SandboxStore:
    store = SandboxStore.objects.filter(lookup_key=key).first()
    if store is None:
        return SandboxStore.objects.create(
            marketplace=marketplace, name=name, lookup_key=key, credentials=credentials, profile=profile
        )
    anchor = store.profile.get("anchor")
    store.marketplace, store.name, store.credentials = marketplace, name, credentials
    store.profile = {**profile, "anchor": anchor or profile["anchor"]}
    store.save()
    return store


def _load_orders(store: SandboxStore, scenarios: list[Scenario], render) -> int:
    anchor = date.fromisoformat(store.profile["anchor"])
    for index, scenario in enumerate(scenarios):
        payload, items, ordered = render(scenario, anchor, index, store.profile)
        _, changed, _ = _moments(anchor, scenario, index)
        SandboxOrder.objects.update_or_create(
            store=store,
            order_id=scenario.order_id,
            defaults={"payload": payload, "items": items, "ordered_at": ordered, "updated_at": changed},
        )
    return len(scenarios)


def _load_fatture() -> tuple[int, int, int]:
    users = 0
    for spec in fatture_users():
        SandboxFattureUser.objects.update_or_create(
            email=spec["email"],
            defaults={
                "first_name": spec["first_name"],
                "last_name": spec["last_name"],
                "companies": spec["companies"],
            },
        )
        users += 1
    vat_count = products = 0
    for company_id in (DEMO_COMPANY_ID, CONTROLLED_COMPANY_ID, STRANGER_COMPANY_ID):
        for vat_id, data in VAT_TYPES:
            SandboxFattureVatType.objects.update_or_create(
                company_id=company_id, vat_id=vat_id, defaults={"data": data}
            )
            vat_count += 1
        catalogue = SLOT_PRODUCTS + (CATALOGUE_PRODUCTS if company_id == DEMO_COMPANY_ID else [])
        for code, name, vat_id, gross in catalogue:
            data = _product_data(code, name, vat_id, gross)
            row = SandboxFattureProduct.objects.filter(company_id=company_id, data__code=code).first()
            if row is None:
                SandboxFattureProduct.objects.create(company_id=company_id, data=data)
            else:
                row.data = data
                row.save(update_fields=["data"])
            products += 1
    return users, vat_count, products


@transaction.atomic
def demo_stores_load(*, today: date | None = None) -> dict[str, int]:
    """The sandbox BrickLink and BrickOwl stores and their orders (``today`` anchors a new store)."""
    anchor = (today or datetime.now(UTC).date()).isoformat()
    bricklink = _load_store(
        SandboxStore.Marketplace.BRICKLINK,
        "Mattoncini Demo (BrickLink)",
        BRICKLINK_CREDENTIALS["consumer_key"],
        {
            "consumer_secret": BRICKLINK_CREDENTIALS["consumer_secret"],
            "tokens": [
                {
                    "value": BRICKLINK_CREDENTIALS["token_value"],
                    "secret": BRICKLINK_CREDENTIALS["token_secret"],
                    "ip": ANY_ADDRESS,
                    "mask": ANY_ADDRESS,
                },
                {**BRICKLINK_IP_BOUND_TOKEN, "ip": "203.0.113.7", "mask": "255.255.255.255"},
            ],
        },
        {
            "anchor": anchor,
            "seller_name": "mattoncini_demo",
            "store_name": "Mattoncini Demo",
            "shipping_methods": [
                {
                    "method_id": 48213,
                    "name": "Poste Italiane Posta1 Pro (tracked)",
                    "note": "",
                    "insurance": False,
                    "is_default": True,
                    "area": "D",
                    "is_available": True,
                },
                {
                    "method_id": 48214,
                    "name": "Poste Italiane Internazionale",
                    "note": "",
                    "insurance": True,
                    "is_default": False,
                    "area": "I",
                    "is_available": True,
                },
            ],
        },
    )
    brickowl = _load_store(
        SandboxStore.Marketplace.BRICKOWL,
        "Mattoncini Demo (BrickOwl)",
        BRICKOWL_API_KEY,
        {},
        {
            "anchor": anchor,
            "store_id": "23456",
            "username": "mattoncini_demo",
            "uid": "2933999",
            "currency": "EUR",
            "country": "IT",
        },
    )
    orders = _load_orders(bricklink, bricklink_scenarios(), bricklink_order)
    orders += _load_orders(brickowl, brickowl_scenarios(), brickowl_order)
    return {"stores": 2, "orders": orders}


@transaction.atomic
def demo_fatture_load() -> dict[str, int]:
    """The fake Fatture users, their companies, VAT types and products."""
    users, vat_types, products = _load_fatture()
    return {"fatture_users": users, "vat_types": vat_types, "products": products}


@transaction.atomic
def demo_load(*, today: date | None = None) -> dict[str, int]:
    """Create or refresh every demo row; returns how many of each kind the demo defines."""
    return {"logins": _load_logins(), **demo_stores_load(today=today), **demo_fatture_load()}
