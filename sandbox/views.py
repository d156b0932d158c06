"""Sandbox pages for people: the index (fake credentials to paste into the connect forms, Fatture
users, issued invoices, fault hooks) and the invoice page that ``FATTURE_INVOICE_VIEW_URL`` opens."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from . import fatture_sdi
from .conf import DEFAULTS, fatture_client, knob
from .fatture_documents import compute_totals, round2
from .fatture_oauth import tokens_expire, tokens_revoke
from .faults import OPERATIONS, fault_inject, faults_clear
from .models import (
    SandboxEInvoice,
    SandboxFattureDocument,
    SandboxFattureUser,
    SandboxFault,
    SandboxOrder,
    SandboxStore,
)
from .order_events import NotApplicable, order_event, paid_orders


def company_names() -> dict[int, str]:
    """Every sandbox company id → name, nested controlled companies included."""
    names: dict[int, str] = {}
    for user in SandboxFattureUser.objects.all():
        for company in user.companies:
            names[int(company["id"])] = company["name"]
            for inner in company.get("controlled_companies") or []:
                names[int(inner["id"])] = inner["name"]
    return names


@require_GET
def index(request):
    stores = list(SandboxStore.objects.all())
    for store in stores:
        store.order_count = store.orders.count()
        store.paid_orders = paid_orders(store)  # the refund and cancellation buttons (credit notes)
    context = {
        "bricklink_stores": [s for s in stores if s.marketplace == SandboxStore.Marketplace.BRICKLINK],
        "brickowl_stores": [s for s in stores if s.marketplace == SandboxStore.Marketplace.BRICKOWL],
        "fatture_users": SandboxFattureUser.objects.all(),
        "fatture_client_id": fatture_client()[0],
        "documents": SandboxFattureDocument.objects.order_by("-id")[:25],
        "einvoices": _einvoices(),
        "rejection_codes": sorted(fatture_sdi.REASONS.items()),
        "sdi_step": knob("SANDBOX_SDI_STEP_SECONDS"),
        "company_names": company_names(),
        "faults": SandboxFault.objects.filter(remaining__gt=0),
        "operations": OPERATIONS,
        "modes": SandboxFault.Mode.choices,
        "knobs": [(name, knob(name)) for name in DEFAULTS],
        "urls": {
            "BRICKLINK_API_URL": settings.BRICKLINK_API_URL,
            "BRICKOWL_API_URL": settings.BRICKOWL_API_URL,
            "FATTURE_API_URL": settings.FATTURE_API_URL,
            "FATTURE_AUTHORIZE_URL": settings.FATTURE_AUTHORIZE_URL,
            "FATTURE_INVOICE_VIEW_URL": settings.FATTURE_INVOICE_VIEW_URL,
        },
    }
    return render(request, "sandbox/index.html", context)


@require_POST
def faults(request):
    """The fault-hook form of the index page: inject, clear, expire or revoke tokens."""
    action = request.POST.get("action")
    if action == "inject":
        try:
            fault = fault_inject(
                operation=request.POST.get("operation", ""),
                mode=request.POST.get("mode", ""),
                count=int(request.POST.get("count") or 1),
                delay_seconds=float(request.POST.get("delay_seconds") or 35),
            )
        except ValueError as exc:
            messages.error(request, f"Not injected: {exc}")
        else:
            messages.success(request, f"Fault armed: {fault}.")
    elif action == "clear":
        messages.success(request, f"{faults_clear()} fault(s) removed.")
    elif action == "expire_tokens":
        messages.success(request, f"{tokens_expire()} Fatture access token(s) expired.")
    elif action == "revoke_tokens":
        messages.success(request, f"{tokens_revoke()} Fatture grant(s) revoked.")
    return redirect("sandbox:index")


@require_POST
def order_event_view(request, order_id: int):
    """The index page's refund and cancellation buttons: the order changes as the marketplace
    would show it (sandbox/order_events.py); the product's next import sees it."""
    order = SandboxOrder.objects.select_related("store").filter(pk=order_id).first()
    if order is None:
        raise Http404("No such order in the sandbox.")
    try:
        messages.success(request, order_event(order, request.POST.get("event", "")))
    except NotApplicable as exc:
        messages.error(request, f"Order {order.order_id}: not done, {exc}.")
    return redirect("sandbox:index")


def _einvoices() -> list[SandboxEInvoice]:
    """The latest e-invoices, their statuses brought up to date first."""
    for company_id in SandboxEInvoice.objects.values_list("document__company_id", flat=True).distinct():
        fatture_sdi.advance_due(company_id)
    return list(SandboxEInvoice.objects.select_related("document").order_by("-document_id")[:25])


@require_POST
def einvoice_action(request, document_id: int):
    """The index page's e-invoice buttons: send, advance to the outcome now, or reject with a code."""
    row = SandboxFattureDocument.objects.filter(pk=document_id).first()
    if row is None:
        raise Http404("No such document in the sandbox.")
    action = request.POST.get("action")
    if action == "send":
        problems = fatture_sdi.xml_problems(row.company_id, row.data)
        if problems:
            messages.error(request, f"Not sent: {'; '.join(problems)}")
        else:
            fatture_sdi.submit(row)
            messages.success(request, f"Document {row.number}{row.numeration} sent to the sandbox SDI.")
    elif action == "advance":
        einvoice = fatture_sdi.advance(fatture_sdi.einvoice_of(row), at_once=True)
        messages.success(request, f"Document {row.number}{row.numeration} is now {einvoice.status}.")
    elif action == "reject":
        code = request.POST.get("code") or "00305"
        fatture_sdi.reject(fatture_sdi.einvoice_of(row), code)
        messages.success(request, f"Document {row.number}{row.numeration} discarded by SDI with {code}.")
    return redirect("sandbox:index")


@require_GET
def invoice_view(request, document_id: int):
    """What a seller sees when opening an invoice link: number, date, client, lines, VAT, totals."""
    row = SandboxFattureDocument.objects.filter(pk=document_id).first()
    if row is None:
        raise Http404("No such document in the sandbox.")
    doc = row.data
    items = doc.get("items_list") or []
    use_gross = bool(doc.get("use_gross_prices"))
    vat_values = {int(i["vat"]["id"]): Decimal(str(i["vat"]["value"])) for i in items}
    totals = compute_totals(items, use_gross_prices=use_gross, vat_values=vat_values)
    descriptions = {str(i["vat"]["value"]): i["vat"].get("description", "") for i in items}
    context = {
        "doc": doc,
        "company_name": company_names().get(row.company_id, f"Company {row.company_id}"),
        "full_number": f"{doc['number']}{doc.get('numeration') or ''}",
        "lines": [
            {
                **item,
                "line_total": round2(
                    Decimal(str(item["gross_price" if use_gross else "net_price"]))
                    * Decimal(str(item["qty"]))
                    * (1 - Decimal(str(item.get("discount") or 0)) / 100)
                ),
            }
            for item in items
        ],
        "vat_rows": [
            {"rate": rate, "description": descriptions.get(rate, ""), **amounts}
            for rate, amounts in totals["vat_list"].items()
        ],
    }
    return render(request, "sandbox/invoice.html", context)
