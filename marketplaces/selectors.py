"""Read-side queries of the marketplaces app (pages and other apps)."""

from django.db.models import Q, QuerySet

from accounts.models import Tenant

from .models import Order, StoreConnection


def order_list(*, tenant: Tenant, store: StoreConnection | None = None, status: str = "", query: str = "") -> QuerySet:
    """The tenant's orders, newest first, with the store and the invoice joined (one query per page).

    ``invoice`` is the reverse relation the invoicing app declares; naming it here imports nothing.
    """
    orders = Order.objects.filter(tenant=tenant).select_related("store", "invoice")
    if store is not None:
        orders = orders.filter(store=store)
    if status:
        orders = orders.filter(status=status)
    if query:
        orders = orders.filter(
            Q(marketplace_order_id=query)
            | Q(buyer_username__icontains=query)
            | Q(buyer_name__icontains=query)
            | Q(ship_name__icontains=query)
        )
    # Only what the list shows: the raw payload can be large.
    return orders.defer("raw").order_by("-ordered_at", "-id")


def store_list(*, tenant: Tenant) -> QuerySet:
    return StoreConnection.objects.filter(tenant=tenant).order_by("created_at")
