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
  wrong VAT (handling at 10 %) for the mapping-mismatch demo; "Demo Bricks" is on the Premium plan
  (corrispettivi allowed), "Verdi Mattoncini" on Standard (corrispettivi refused);
- two e-invoices of "Demo Bricks" already sent to the sandbox SDI (series ``/E``): one accepted,
  one rejected with 00305 (the buyer's VAT number is invalid); the sandbox index page can send,
  advance and reject e-invoices (sandbox.demo_einvoice, sandbox.fatture_sdi).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from django.apps import apps
from django.db import transaction

# The demo's parts live in sandbox.demo_base / demo_scenarios / demo_orders / demo_fatture; the
# names below are the demo's public face (tests, benchmarks and the management command use them).
from .demo_base import (  # noqa: F401
    ACCOUNTANT_COMPANY_ID,
    ADMIN_EMAIL,
    ANY_ADDRESS,
    BRICKLINK_CREDENTIALS,
    BRICKLINK_IP_BOUND_TOKEN,
    BRICKOWL_API_KEY,
    CONTROLLED_COMPANY_ID,
    DEMO_COMPANY_ID,
    DEMO_LOGINS,
    SEED,
    SELLER_EMAIL,
    SELLER_TENANT,
    STRANGER_COMPANY_ID,
    STRANGER_EMAIL,
)
from .demo_einvoice import demo_einvoices_load
from .demo_fatture import (  # noqa: F401
    CATALOGUE_PRODUCTS,
    SLOT_PRODUCTS,
    VAT_TYPES,
    _company,
    _product_data,
    fatture_users,
)
from .demo_orders import _moments, bricklink_order, brickowl_order  # noqa: F401
from .demo_scenarios import BUYERS, CATALOGUE, Buyer, Scenario, bricklink_scenarios, brickowl_scenarios  # noqa: F401
from .models import (
    SandboxFattureProduct,
    SandboxFattureUser,
    SandboxFattureVatType,
    SandboxOrder,
    SandboxStore,
)

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
    counts = {"logins": _load_logins(), **demo_stores_load(today=today), **demo_fatture_load()}
    with transaction.atomic():
        counts["einvoices"] = demo_einvoices_load(today=today)
    return counts
