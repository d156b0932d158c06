"""Builders for invoicing tests: a connected, mapped seller and orders ready to invoice."""

from datetime import UTC, datetime
from decimal import Decimal as D

from django.conf import settings
from django.utils import timezone

from accounts.models import SellerSettings
from marketplaces.models import Order, OrderItem
from tests.factories import StoreConnectionFactory
from tests.factories_fatture import COMPANY_ID, FattureConnectionFactory, ProductMappingFactory

# slot -> (product id, name, vat id, vat value, natura): 0 = 22 %, 66 = margin N5, 21 = export N3.1
SLOT_PRODUCTS = {
    "std_domestic": (1001, "Mattoncini LEGO", 0, 22, ""),
    "std_eu": (1001, "Mattoncini LEGO", 0, 22, ""),
    "std_export": (1003, "LEGO export", 21, 0, "N3.1"),
    "margin_domestic": (1002, "LEGO usato (margine)", 66, 0, "N5"),
    "margin_eu": (1002, "LEGO usato (margine)", 66, 0, "N5"),
    "margin_export": (1003, "LEGO export", 21, 0, "N3.1"),
    "shipping": (1004, "Spedizione", 0, 22, ""),
    "handling": (1005, "Gestione ordine", 0, 22, ""),
}


def connected_seller(tenant, *, subject="Vendita mattoncini LEGO", confirmed=True):
    """Connected, mapped, and (unless ``confirmed=False``) past the first sync's confirmation."""
    connection = FattureConnectionFactory(tenant=tenant, invoice_subject=subject)
    if confirmed:
        SellerSettings.objects.filter(tenant=tenant).update(invoicing_confirmed_at=timezone.now())
    for slot, (pid, name, vat_id, vat_value, natura) in SLOT_PRODUCTS.items():
        ProductMappingFactory(
            tenant=tenant,
            slot=slot,
            product_id=pid,
            product_name=name,
            vat_id=vat_id,
            vat_value=vat_value,
            vat_ei_type=natura,
        )
    return connection


_seq = iter(range(100000, 10**9))


def make_order(tenant, *, store=None, items=(("new", 10, "12.5000"),), username="brickfan", **fields):
    store = store or StoreConnectionFactory(tenant=tenant, marketplace="bricklink", name="BL")
    lines = [(c, q, D(t)) for c, q, t in items]
    subtotal = sum((t for _, _, t in lines), D(0))
    values = dict(
        tenant=tenant,
        store=store,
        marketplace=store.marketplace,
        marketplace_order_id=str(next(_seq)),
        buyer_username=username,
        buyer_name="Luca Bianchi",
        buyer_email=f"{username}@example.com",
        ship_name="Luca Bianchi",
        ship_address1="Via Roma 1",
        ship_postal_code="20121",
        ship_city="Milano",
        ship_state="MI",
        ship_country="IT",
        ordered_at=datetime(2026, 3, 1, 10, tzinfo=UTC),
        paid_at=datetime(2026, 3, 2, 9, tzinfo=UTC),
        raw_status="PAID",
        status="paid",
        currency="EUR",
        items_subtotal=subtotal,
        shipping=D("5.0000"),
        insurance=D(0),
        etc1=D(0),
        etc2=D(0),
        additional_charges=D(0),
        credit=D(0),
        coupon=D(0),
        marketplace_tax=D(0),
    )
    values.update(fields)
    if "amount_paid_to_seller" not in fields:
        values["amount_paid_to_seller"] = (
            values["items_subtotal"]
            + values["shipping"]
            + values["insurance"]
            + values["etc1"]
            + values["etc2"]
            + values["additional_charges"]
            - values["credit"]
            - values["coupon"]
        )
    values.setdefault("grand_total", values["amount_paid_to_seller"] + values["marketplace_tax"])
    order = Order.objects.create(**values)
    for i, (condition, qty, total) in enumerate(lines):
        OrderItem.objects.create(
            tenant=tenant,
            order=order,
            position=i,
            lot_id=str(i),
            item_no=f"3001-{i}",
            item_type="PART",
            name="Brick 2 x 4",
            condition=condition,
            quantity=qty,
            unit_price=total / qty,
            line_total=total,
        )
    return order


def fic(path: str) -> str:
    return f"{settings.FATTURE_API_URL}/c/{COMPANY_ID}/{path}"
