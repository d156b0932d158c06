"""Read-side queries of the marketplaces app (pages and other apps)."""

from django.core.paginator import Paginator
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
    if query.isdigit():
        # An order number: an index look-up, not a scan of every buyer name.
        orders = orders.filter(marketplace_order_id=query)
    elif query:
        orders = orders.filter(
            Q(marketplace_order_id=query)
            | Q(buyer_username__icontains=query)
            | Q(buyer_name__icontains=query)
            | Q(ship_name__icontains=query)
        )
    # Only what the list shows: the raw payload can be large.
    return orders.defer("raw").order_by("-ordered_at", "-id")


def order_page(*, orders: QuerySet, number, per_page: int):
    """One page of ``orders`` with a deferred join: OFFSET walks only the (tenant, date, id)
    index, then the page's rows are loaded with their store and invoice by primary key. A deep
    page no longer builds and throws away tens of thousands of joined rows (docs/benchmarks.md)."""
    page = Paginator(orders.values_list("id", flat=True), per_page).get_page(number)
    rows = {order.id: order for order in orders.filter(id__in=list(page.object_list))}
    page.object_list = [rows[i] for i in page.object_list if i in rows]
    return page


def store_list(*, tenant: Tenant) -> QuerySet:
    return StoreConnection.objects.filter(tenant=tenant).order_by("created_at")
