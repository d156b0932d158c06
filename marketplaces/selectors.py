"""Read-side queries of the marketplaces app (pages and other apps)."""

from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
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


def order_page(*, orders: QuerySet, number, per_page: int) -> Page:
    """One page of ``orders`` with a deferred join: OFFSET walks only the (tenant, date, id)
    index, then the page's rows are loaded with their store and invoice by primary key. A deep
    page no longer builds and throws away tens of thousands of joined rows (docs/benchmarks.md).

    A page past the middle is read from the other end: the ids in the reversed ordering with a
    small OFFSET (``count - end``), turned back, so the last page costs what the first does
    instead of walking the whole index. That needs a total ordering (ending on the primary key),
    else rows tied on the sort key could come back in a different order; ``order_list`` has one.
    The page behaves as ``Paginator.get_page`` (number, count, has_next, ...), in the same three
    queries (count, ids, rows).
    """
    ids = orders.values_list("id", flat=True)
    paginator = Paginator(ids, per_page)
    try:
        number = paginator.validate_number(number)
    except PageNotAnInteger:
        number = 1
    except EmptyPage:
        number = paginator.num_pages
    bottom = (number - 1) * paginator.per_page
    top = bottom + paginator.per_page
    if top + paginator.orphans >= paginator.count:
        top = paginator.count
    from_end = paginator.count - top
    if from_end < bottom and _ends_on_primary_key(orders):
        page_ids = list(ids.reverse()[from_end : paginator.count - bottom])[::-1]
    else:
        page_ids = list(ids[bottom:top])
    page = Page(page_ids, number, paginator)
    rows = {order.id: order for order in orders.filter(id__in=page_ids)}
    page.object_list = [rows[i] for i in page_ids if i in rows]
    return page


def _ends_on_primary_key(orders: QuerySet) -> bool:
    """Whether the ordering is total, i.e. its last key is the primary key (either direction)."""
    query = orders.query
    ordering = query.order_by or (orders.model._meta.ordering if query.default_ordering else ())
    return bool(ordering) and isinstance(ordering[-1], str) and ordering[-1].lstrip("-") in ("id", "pk")


def store_list(*, tenant: Tenant) -> QuerySet:
    return StoreConnection.objects.filter(tenant=tenant).order_by("created_at")
