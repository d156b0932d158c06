"""Writing one order into ``Order`` / ``OrderItem``: a normalised read, or a quarantine.

Idempotent on (store, marketplace order id), under a row lock. Which orders are quarantined and
what the placeholders are is explained on ``marketplaces.models.Order``.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.choices import OrderStatus

from .boundary import MAX_PROBLEMS
from .models import Order, OrderItem, StoreConnection
from .normalised import NormalisedOrder, fmt
from .rawpayload import bounded_raw
from .sources import ListedOrder

# A quarantined order is read again after this long even if its listing row did not change: the
# marketplace may have fixed the data, or the detail call may work again.
REREAD_AFTER = timedelta(days=1)
NOT_PAID_NOW = frozenset({OrderStatus.PENDING, OrderStatus.AWAITING_PAYMENT})


@dataclass(frozen=True)
class Saved:
    """What writing one order did, for the import's result."""

    pk: int
    created: bool
    changed: bool
    flagged: bool
    quarantined: bool


def order_save(*, store: StoreConnection, listed: ListedOrder, normalised: NormalisedOrder) -> Saved:
    """Create or update the order from a read. An unchanged payload writes nothing but the
    listing marker; a changed one replaces the order's fields and items."""
    now = timezone.now()
    values = normalised.order_fields()
    values["marketplace_order_id"] = listed.order_id
    values["list_marker"] = listed.marker
    # Only a quarantined read lacks its date: the listing's, else the import time, as placeholder.
    values["ordered_at"] = values["ordered_at"] or listed.ordered_at or now
    values["reread_at"] = now + REREAD_AFTER if normalised.quarantined else None
    with transaction.atomic():
        order = Order.objects.select_for_update().filter(store=store, marketplace_order_id=listed.order_id).first()
        if (
            order is not None
            and order.payload_hash == values["payload_hash"]
            and order.quarantined == values["quarantined"]
        ):
            Order.objects.filter(pk=order.pk).update(list_marker=listed.marker, reread_at=values["reread_at"])
            return Saved(order.pk, created=False, changed=False, flagged=False, quarantined=order.quarantined)
        _remember_payment(order, normalised, values)
        created = order is None
        order = order or Order(tenant=store.tenant, store=store)
        for name, value in values.items():
            setattr(order, name, value)
        order.save()
        if not created:
            order.items.all().delete()
        OrderItem.objects.bulk_create(
            [OrderItem(tenant=store.tenant, order=order, **vars(item)) for item in normalised.items]
        )
    return Saved(
        order.pk, created=created, changed=True, flagged=bool(order.data_errors), quarantined=order.quarantined
    )


def _remember_payment(order: Order | None, normalised: NormalisedOrder, values: dict) -> None:
    """``ever_paid`` never goes back, and an order that was paid but no longer looks paid is said
    out loud: BrickLink's item-removal request after payment sets UPDATED and payment status None
    and recomputes the total (docs/providers/bricklink.md §8.4), which would otherwise read as a new pending
    order."""
    values["ever_paid"] = (order is not None and order.ever_paid) or normalised.looks_paid
    if not values["ever_paid"] or values["status"] not in NOT_PAID_NOW:
        return
    paid_at = values["paid_at"] or (order.paid_at if order is not None else None)
    note = _(
        "This order was paid%(when)s and now shows as %(status)s (%(raw)s, payment status %(payment)s) with a "
        "total of %(total)s %(currency)s: items were probably removed after payment. Check whether a credit note "
        "is needed."
    ) % {
        "when": _(" on %(date)s") % {"date": paid_at.date().isoformat()} if paid_at else "",
        "status": values["status"],
        "raw": values["raw_status"] or "?",
        "payment": values["payment_status"] or "?",
        "total": fmt(values["amount_paid_to_seller"]),
        "currency": values["currency"],
    }
    if order is not None and order.amount_paid_to_seller != values["amount_paid_to_seller"]:
        note += " " + _("Before, it was %(before)s.") % {"before": fmt(order.amount_paid_to_seller)}
    values["data_errors"] = [*values["data_errors"], note]


def order_quarantine(*, store: StoreConnection, listed: ListedOrder, problem: str, raw=None) -> Saved:
    """Quarantine an order without a usable read (its detail keeps failing, or it could not be
    stored). A stored order keeps the data of its last read; a new one gets placeholders from the
    listing row. Either way it is not invoiced, and is read again at ``reread_at``."""
    now = timezone.now()
    with transaction.atomic():
        order = Order.objects.select_for_update().filter(store=store, marketplace_order_id=listed.order_id).first()
        if order is None:
            order = Order.objects.create(
                tenant=store.tenant,
                store=store,
                marketplace=store.marketplace,
                marketplace_order_id=listed.order_id,
                ordered_at=listed.ordered_at or now,
                status=OrderStatus.ON_HOLD,
                raw={"listing": bounded_raw(listed.row), "unreadable": bounded_raw(raw)},
                list_marker=listed.marker,
                data_errors=[problem],
                quarantined=True,
                reread_at=now + REREAD_AFTER,
            )
            return Saved(order.pk, created=True, changed=True, flagged=True, quarantined=True)
        errors = [problem, *(e for e in order.data_errors if e != problem)][: MAX_PROBLEMS + 1]
        Order.objects.filter(pk=order.pk).update(
            quarantined=True,
            data_errors=errors,
            list_marker=listed.marker,
            reread_at=now + REREAD_AFTER,
            updated_at=now,
        )
    return Saved(order.pk, created=False, changed=True, flagged=True, quarantined=True)
