"""The seller's tax profile and e-invoicing settings pages (owners only)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts.access import owner_required
from accounts.choices import ItalianConsumerPolicy
from accounts.services import settings_for
from brickinvoice.errors import ErrorBox, ServiceError
from marketplaces.models import StoreConnection
from taxes.questions import ACCOUNTANT_QUESTIONS

from .accounting import Capabilities, backend_for_tenant
from .models import Invoice
from .queueing import reopen
from .selectors import oss_position
from .settingsforms import EInvoicingForm, NumberingForm, TaxProfileForm
from .tasks import kick_dispatcher

# Invoices held by the e-invoicing choices: a new choice may let them through.
HELD_BY_EINVOICING = ("codice_fiscale_needed", "einvoice_buyer_incomplete")


@owner_required
def tax_settings(request):
    seller = settings_for(request.tenant)
    form = TaxProfileForm(request.POST or None, instance=seller)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Tax profile saved. It applies to the invoices issued from now on."))
        return redirect("invoicing:tax_settings")
    context = {"form": form, "oss": oss_position(seller), "questions": ACCOUNTANT_QUESTIONS}
    return render(request, "invoicing/settings_tax.html", context)


def _capabilities(request, *, fresh: bool = False) -> tuple[Capabilities | None, ErrorBox | None]:
    """The plan's functions, or why they cannot be read (not connected, no company, Fatture down)."""
    try:
        return backend_for_tenant(request.tenant).capabilities(fresh=fresh), None
    except ServiceError as exc:
        return None, ErrorBox.from_exception(exc)


@owner_required
def einvoice_settings(request):
    seller = settings_for(request.tenant)
    fresh = request.method == "POST" and request.POST.get("section") == "refresh"
    capabilities, problem = _capabilities(request, fresh=fresh)
    if fresh:
        if problem is None:
            messages.info(request, _("Plan read again from Fatture in Cloud."))
        else:
            messages.error(request, problem.message)
        return redirect("invoicing:einvoice_settings")
    before = (seller.einvoice_mode, seller.italian_consumers)
    form = EInvoicingForm(request.POST or None, instance=seller, capabilities=capabilities)
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        if (saved.einvoice_mode, saved.italian_consumers) != before and _release_held(request.tenant):
            kick_dispatcher()
        messages.success(request, _("E-invoicing settings saved. They apply to the invoices issued from now on."))
        return redirect("invoicing:einvoice_settings")
    context = {
        "form": form,
        "capabilities": capabilities,
        "problem": problem,
        "receipts_chosen": seller.italian_consumers == ItalianConsumerPolicy.RECEIPTS,
    }
    return render(request, "invoicing/settings_einvoicing.html", context)


def _release_held(tenant) -> int:
    """Invoices held by the old choice (a codice fiscale, a buyer's SdI data) are planned again."""
    held = Invoice.objects.filter(
        tenant=tenant, state=Invoice.State.NEEDS_ATTENTION, uncertain=False, error_code__in=HELD_BY_EINVOICING
    )
    return reopen(held)


@owner_required
def numbering_settings(request):
    """Each store's numbering series (sezionale), sent as the document's ``numeration``. A change
    applies to the invoices issued from now on; numbers follow dates within each series."""
    stores = StoreConnection.objects.filter(tenant=request.tenant).order_by("marketplace", "id")
    form = NumberingForm(request.POST or None, stores=stores)
    if request.method == "POST" and form.is_valid():
        for store_id, series in form.series().items():
            StoreConnection.objects.filter(tenant=request.tenant, id=store_id).update(numeration=series)
        messages.success(request, _("Numbering saved. It applies to the invoices issued from now on."))
        return redirect("invoicing:numbering_settings")
    return render(request, "invoicing/settings_numbering.html", {"form": form})
