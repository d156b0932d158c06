"""Stores and orders pages under /home/. Thin: access helpers, a form, one service call."""

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import get_for_tenant_or_404, owner_required, tenant_queryset, tenant_required
from accounts.choices import Role
from accounts.services import settings_for
from brickinvoice.errors import ServiceError

from . import selectors, services
from .forms import BrickLinkConnectForm, BrickOwlConnectForm, OrderFilterForm
from .models import Order, StoreConnection
from .tasks import import_store

ORDERS_PER_PAGE = 50


def _error(exc: ServiceError) -> dict:
    text = exc.text
    return {"code": exc.code, "message": text.message, "detail": exc.detail, "hint": text.hint}


def _queue_import(store: StoreConnection) -> None:
    transaction.on_commit(lambda: import_store.delay(store.id))


@tenant_required
def store_list(request):
    attention = selectors.attention_counts(tenant=request.tenant)
    stores = []
    for store in selectors.store_list(tenant=request.tenant):
        health = selectors.store_health(store)
        stores.append(
            {
                "store": store,
                "health": health,
                "err": health.err,
                "result": store.last_import_result or {},
                "attention": attention.get(store.id, 0),
                "running": selectors.store_import_running(store),
            }
        )
    return render(
        request,
        "marketplaces/stores.html",
        {
            "stores": stores,
            "is_owner": request.membership.role == Role.OWNER,
            "egress_ip": getattr(settings, "BRICKLINK_EGRESS_IP", ""),
        },
    )


@owner_required
def connect_bricklink(request):
    form = BrickLinkConnectForm(request.POST or None)
    err = None
    if request.method == "POST" and form.is_valid():
        try:
            store = services.store_connect_bricklink(tenant=request.tenant, **form.cleaned_data)
        except ServiceError as exc:
            err = _error(exc)
        else:
            _queue_import(store)
            messages.success(request, _("BrickLink store connected. The first import has started."))
            return redirect("marketplaces:stores")
    return render(
        request,
        "marketplaces/connect_bricklink.html",
        {"form": form, "err": err, "egress_ip": getattr(settings, "BRICKLINK_EGRESS_IP", "")},
        status=400 if err else 200,
    )


@owner_required
def connect_brickowl(request):
    form = BrickOwlConnectForm(request.POST or None)
    err = None
    if request.method == "POST" and form.is_valid():
        try:
            store = services.store_connect_brickowl(tenant=request.tenant, **form.cleaned_data)
        except ServiceError as exc:
            err = _error(exc)
        else:
            _queue_import(store)
            messages.success(request, _("BrickOwl store connected. The first import has started."))
            return redirect("marketplaces:stores")
    return render(request, "marketplaces/connect_brickowl.html", {"form": form, "err": err}, status=400 if err else 200)


@owner_required
def store_disconnect(request, public_id):
    store = get_for_tenant_or_404(request, StoreConnection, public_id=public_id)
    if request.method == "POST":
        services.store_disconnect(store=store)
        messages.success(
            request, _("%(store)s disconnected. Its imported orders are kept.") % {"store": store.display_name}
        )
        return redirect("marketplaces:stores")
    return render(request, "marketplaces/disconnect.html", {"store": store, "order_count": store.orders.count()})


@tenant_required
@require_POST
def store_import(request, public_id):
    store = get_for_tenant_or_404(request, StoreConnection, public_id=public_id)
    if store.status == StoreConnection.Status.DISCONNECTED:
        messages.error(request, _("This store is disconnected: connect it again to import its orders."))
    elif selectors.store_import_running(store):
        # Its end announces itself (store_imported), so the orders it finds are invoiced then.
        messages.info(
            request,
            _("An import of %(store)s is already running; the orders it finds appear when it ends.")
            % {"store": store.display_name},
        )
    else:
        _queue_import(store)
        messages.success(
            request, _("Import of %(store)s started. Refresh this page in a minute.") % {"store": store.display_name}
        )
    return redirect("marketplaces:stores")


@tenant_required
def order_list(request):
    stores = tenant_queryset(request, StoreConnection).order_by("created_at")
    form = OrderFilterForm(request.GET or None, stores=stores)
    filters = form.cleaned_data if form.is_valid() else {}
    seller = settings_for(request.tenant)
    orders = selectors.order_list(
        tenant=request.tenant,
        store=filters.get("store"),
        status=filters.get("status", ""),
        query=filters.get("q", ""),
        attention=bool(filters.get("attention")),
        stage=filters.get("stage", ""),
        date_from=filters.get("date_from"),
        date_to=filters.get("date_to"),
        invoiceable_statuses=seller.invoiceable_statuses,
        cutoff=seller.cutoff_date,
    )
    page = selectors.order_page(orders=orders, number=request.GET.get("page"), per_page=ORDERS_PER_PAGE)
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "marketplaces/orders.html", {"form": form, "page": page, "query": query.urlencode()})


@tenant_required
def order_detail(request, public_id):
    order = get_for_tenant_or_404(request, Order.objects.select_related("store"), public_id=public_id)
    return render(request, "marketplaces/order_detail.html", {"order": order, "items": order.items.all()})
