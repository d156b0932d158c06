"""The demo orders, marketplace-neutral: buyers, the LEGO catalogue, lots and the scenarios the
sandbox stores serve (rendered to BrickLink / BrickOwl payloads by sandbox.demo_orders)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

from .demo_base import SEED, ZERO, D

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
    """The basket of the reference example (docs/providers/bricklink.md §11)."""
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
