"""The order page's credit-note actions: "Refund / credit note" (owner only), the answer to a held
credit note (owner only), Retry, and reading the order again from its marketplace. Every object is
reached through the tenant access helpers (404 for another tenant's); POST only, with CSRF."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import get_for_tenant_or_404, tenant_required
from accounts.choices import Role
from marketplaces.models import Order

from . import creditrequests, einvoicefix
from .creditmodels import CreditNote
from .forms import CreditAnswerForm, CreditNoteForm
from .models import Invoice
from .tasks import kick_credit_dispatcher, reread_order, send_einvoice


def _owner_only(request) -> None:
    if request.membership.role != Role.OWNER:
        raise PermissionDenied(_("Only the account owner can make or decide credit notes."))


def _form_errors(form) -> str:
    return " ".join(str(error) for errors in form.errors.values() for error in errors)


def _to_order(order: Order):
    return redirect("invoicing:order_preview", public_id=order.public_id)


@tenant_required
@require_POST
def credit_note_create(request, public_id):
    """A refund the marketplace never shows (BrickLink refunds happen outside its API): amounts
    per part; more than is left to credit is refused with the reason."""
    order = get_for_tenant_or_404(request, Order, public_id=public_id)
    _owner_only(request)
    invoice = Invoice.objects.filter(order=order, state=Invoice.State.ISSUED).first()
    form = CreditNoteForm(request.POST)
    if invoice is None:
        messages.error(request, _("This order has no issued invoice to credit."))
    elif not form.is_valid():
        messages.error(request, _form_errors(form))
    else:
        try:
            creditrequests.credit_note_request(
                invoice=invoice, amounts=form.amounts(), reason=form.cleaned_data["note"], user=request.user
            )
        except creditrequests.CreditRefused as refused:
            messages.error(request, f"{refused.message} {refused.hint}")
        else:
            kick_credit_dispatcher(invoice.company_id)
            messages.success(request, _("The credit note is on its way; its number appears here once it is issued."))
    return _to_order(order)


@tenant_required
@require_POST
def credit_note_answer(request, public_id):
    """The seller's answer to a held credit note."""
    note = get_for_tenant_or_404(request, CreditNote.objects.select_related("invoice__order"), public_id=public_id)
    _owner_only(request)
    order = note.invoice.order
    form = CreditAnswerForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return _to_order(order)
    kind = form.cleaned_data["kind"]
    try:
        answered = creditrequests.credit_note_answer(
            credit_note=note, kind=kind, amounts=form.amounts(), note=form.cleaned_data["note"], user=request.user
        )
    except creditrequests.CreditRefused as refused:
        messages.error(request, f"{refused.message} {refused.hint}")
        return _to_order(order)
    if not answered:
        messages.info(request, _("This credit note no longer waits for a decision."))
    elif kind == "skip":
        messages.success(request, _("Your decision is recorded: no credit note."))
    else:
        kick_credit_dispatcher(note.invoice.company_id)
        messages.success(request, _("Your decision is recorded; the credit note is on its way."))
    return _to_order(order)


@tenant_required
@require_POST
def credit_note_retry(request, public_id):
    note = get_for_tenant_or_404(request, CreditNote.objects.select_related("invoice__order"), public_id=public_id)
    if creditrequests.credit_note_retry(credit_note=note):
        kick_credit_dispatcher(note.invoice.company_id)
        messages.success(request, _("The credit note is queued again."))
    else:
        messages.info(request, _("This credit note is not waiting for a retry."))
    return _to_order(note.invoice.order)


@tenant_required
@require_POST
def credit_note_einvoice_resend(request, public_id):
    """Send again a credit note SdI refused, after the seller corrected it in the package."""
    _owner_only(request)
    note = get_for_tenant_or_404(request, CreditNote.objects.select_related("invoice__order"), public_id=public_id)
    if einvoicefix.credit_note_resend(credit_note=note):
        transaction.on_commit(lambda: send_einvoice.delay(0, credit_note_id=note.id))
        messages.success(request, _("The credit note is sent to SdI again."))
    else:
        messages.info(request, _("This credit note is not waiting to be sent again."))
    return _to_order(note.invoice.order)


@tenant_required
@require_POST
def order_reread(request, public_id):
    """Read the order again now: a refund the marketplace's order list does not show (BrickOwl's
    list has no refund fields) is found by reading the order itself."""
    order = get_for_tenant_or_404(request, Order, public_id=public_id)
    reread_order.delay_on_commit(order.id)
    messages.success(
        request, _("The order is read again from the marketplace; a refund it shows becomes a credit note.")
    )
    return _to_order(order)
