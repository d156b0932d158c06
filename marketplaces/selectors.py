"""Read-side queries of the marketplaces app (pages and other apps)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.choices import DEFAULT_INVOICEABLE_STATUSES
from accounts.models import Tenant
from brickinvoice.errors import describe

from .models import Order, StoreConnection
from .stages import NEEDS_ATTENTION, ordered_between, stage_condition


def order_list(
    *,
    tenant: Tenant,
    store: StoreConnection | None = None,
    status: str = "",
    query: str = "",
    attention: bool = False,
    stage: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
    invoiceable_statuses: Sequence[str] = DEFAULT_INVOICEABLE_STATUSES,
    cutoff: date | None = None,
) -> QuerySet:
    """The tenant's orders, every status, newest first, with the store and the invoice joined
    (one query per page).

    ``invoice`` is the reverse relation the invoicing app declares; naming it here imports nothing.
    ``attention`` keeps only the orders that need the seller (quarantined or with data problems).
    ``stage`` is one of stages.Stage (the seller's ``invoiceable_statuses`` and ``cutoff`` say what
    "to invoice" means); ``date_from`` / ``date_to`` bound the order date, inclusive, in Europe/Rome.
    """
    orders = Order.objects.filter(tenant=tenant).select_related("store", "invoice")
    if stage:
        orders = orders.filter(stage_condition(stage, invoiceable_statuses=invoiceable_statuses, cutoff=cutoff))
    orders = ordered_between(orders, date_from=date_from, date_to=date_to)
    if store is not None:
        orders = orders.filter(store=store)
    if status:
        orders = orders.filter(status=status)
    if attention:
        orders = orders.filter(NEEDS_ATTENTION)
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


def attention_counts(*, tenant: Tenant) -> dict[int, int]:
    """Orders that need the seller, per store id: one grouped query whose WHERE is the partial
    index's condition, so it reads those few rows and not every order of the tenant."""
    rows = Order.objects.filter(NEEDS_ATTENTION, tenant=tenant).values("store_id").annotate(n=Count("id"))
    return {row["store_id"]: row["n"] for row in rows.order_by()}


@dataclass(frozen=True)
class StoreHealth:
    """How a store is, for its card on the stores page: never "Connected" while its last import
    failed. ``badge`` is the CSS modifier; ``message`` / ``detail`` / ``hint`` describe the error."""

    label: str
    badge: str
    message: str = ""
    detail: str = ""
    hint: str = ""

    @property
    def err(self) -> dict | None:
        """The error block's context (``partials/error.html``), or None when all is well."""
        if not self.message:
            return None
        return {"message": self.message, "detail": self.detail, "hint": self.hint}


def store_health(store: StoreConnection) -> StoreHealth:
    """Connected, retrying after a transient failure, needing the seller, or disconnected."""
    if store.status == StoreConnection.Status.DISCONNECTED:
        return StoreHealth(label=_("Disconnected"), badge="")
    error = {}
    if store.last_error_code:
        error = {
            "message": store.last_error_message or describe(store.last_error_code).message,
            "detail": store.last_error_detail,
            "hint": describe(store.last_error_code).hint,
        }
    if store.status == StoreConnection.Status.NEEDS_ATTENTION:
        return StoreHealth(label=_("Needs attention"), badge="badge-err", **error)
    if error:
        # A transient failure: the import retries by itself, but the seller sees that it failed.
        return StoreHealth(label=_("Import failing, retrying"), badge="badge-warn", **error)
    return StoreHealth(label=_("Connected"), badge="badge-ok")


def store_import_running(store: StoreConnection) -> bool:
    """Whether an import of the store holds its claim right now."""
    return bool(store.import_lock_until and store.import_lock_until > timezone.now())
