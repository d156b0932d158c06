"""Demo scenarios rendered as the marketplaces answer them: BrickLink order resources and item
batches, BrickOwl ``order/view`` objects and item lists."""

from __future__ import annotations

import hashlib
import html
from datetime import UTC, date, datetime, timedelta

from .demo_base import LONDON, ZERO, D, bl_money, bl_time, bo_money
from .demo_scenarios import BO_COLORS, BO_TYPES, EU, Buyer, Lot, Scenario

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
    # The seller's store VAT setting is on at 22 %: EU buyers see it inside the prices (docs/providers/bricklink.md
    # §9 c).
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
                # Structured fields are often empty on BrickLink (docs/providers/bricklink.md §10.9): leave
                # some orders so.
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
    # BrickOwl's "unset" is the epoch in London time (docs/providers/brickowl.md §5).
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
