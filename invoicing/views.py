"""Seller pages of the invoicing app: dashboard, sync now and its progress, retries, preview."""

from urllib.parse import quote

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from accounts.access import get_for_tenant_or_404, tenant_queryset, tenant_required
from accounts.choices import Role
from accounts.services import settings_for, settings_pin
from brickinvoice.errors import ErrorBox, ServiceError
from marketplaces.models import Order

from . import buyers as buyer_svc
from . import creditselectors, decisions, dryrun, einvoicefix, einvoicing, queueing, selectors, syncruns
from .accounting import account_of
from .customers import customer_code
from .forms import BuyerForm, DecisionForm, SyncConfirmForm
from .models import Buyer, Invoice, OrderDecision, SyncRun
from .plan import PlanError
from .setup import setup_steps
from .tasks import kick_dispatcher, reread_order, send_einvoice, sync_tenant


@tenant_required
def dashboard(request):
    tenant = request.tenant
    seller = settings_pin(tenant)  # a read-only page: a dozen readers, one query
    counts = dict(tenant_queryset(request, Invoice).order_by().values_list("state").annotate(n=Count("id")))
    health = selectors.connection_health(tenant=tenant)
    context = {
        "health": health,
        "counts": [(label, counts.get(value, 0), value) for value, label in Invoice.State.choices],
        # Needs the seller (an action or a decision) vs. retrying by itself (nothing to do).
        "failures": tenant_queryset(request, Invoice)
        .filter(state=Invoice.State.NEEDS_ATTENTION)
        .select_related("order")
        .order_by("-updated_at")[:10],
        "retrying": selectors.retrying_summary(tenant=tenant),
        "run": tenant_queryset(request, SyncRun).order_by("-started_at").first(),
        "schedule": selectors.schedule_info(tenant=tenant),
        "eligible_waiting": queueing.eligible_orders(tenant=tenant).count(),
        "sync_blocker": selectors.sync_blocker(health),
        "awaiting_confirmation": queueing.awaiting_confirmation(tenant=tenant),
        "oss": selectors.oss_position(seller),
        "einvoices": selectors.einvoice_summary(tenant=tenant),
        "credit_counts": creditselectors.credit_counts(tenant=tenant),
        "credit_needs_seller": creditselectors.credit_notes_needing_seller(tenant=tenant),
        # Once the first sync is confirmed the set-up is over; the connection rows report later trouble.
        "checklist": None if seller.invoicing_confirmed_at else setup_steps(tenant=tenant),
    }
    return render(request, "invoicing/dashboard.html", context)


@tenant_required
def sync_confirm(request):
    """The first sync (or a large one): what would be issued, and the seller's go."""
    form = SyncConfirmForm(
        request.POST or request.GET or None, initial={"start": settings_for(request.tenant).cutoff_date}
    )
    start = form.cleaned_data.get("start") if form.is_valid() else None
    if request.method == "POST":
        if request.membership.role != Role.OWNER:
            raise PermissionDenied(_("Only the account owner can start invoicing."))
        if form.is_valid():
            queued = dryrun.sync_confirm(tenant=request.tenant, start=start)
            kick_dispatcher(account_of(request.tenant))
            messages.success(
                request,
                ngettext(
                    "Invoicing started: %(n)s order, oldest first.",
                    "Invoicing started: %(n)s orders, oldest first.",
                    queued,
                )
                % {"n": queued},
            )
            return redirect("invoicing:dashboard")
    summary = dryrun.dry_run(tenant=request.tenant, start=start)
    return render(request, "invoicing/sync_confirm.html", {"form": form, "summary": summary})


@tenant_required
@require_POST
def sync_now(request):
    blocker = selectors.sync_blocker(selectors.connection_health(tenant=request.tenant))
    if blocker:
        messages.error(request, _("Nothing can be invoiced yet: %(reason)s") % {"reason": blocker})
        return redirect("invoicing:dashboard")
    run = syncruns.sync_run_start(tenant=request.tenant, trigger=SyncRun.Trigger.MANUAL)
    if run is None:
        messages.info(request, _("A sync is already running; its progress is shown below."))
    else:
        sync_tenant.delay_on_commit(request.tenant.id, SyncRun.Trigger.MANUAL, run.id)
        messages.success(request, _("Sync started. Orders are imported first, then invoiced."))
    return redirect("invoicing:dashboard")


@tenant_required
def sync_progress(request, public_id):
    run = get_for_tenant_or_404(request, SyncRun, public_id=public_id)
    response = render(request, "invoicing/_sync_progress.html", {"run": run})
    if request.htmx and run.state != SyncRun.State.RUNNING:
        # The run just ended while the dashboard polled: reload it so counts and failures are current.
        response["HX-Refresh"] = "true"
    return response


@tenant_required
@require_POST
def invoice_retry(request, public_id):
    invoice = get_for_tenant_or_404(request, Invoice, public_id=public_id)
    if queueing.invoice_retry(invoice=invoice):
        kick_dispatcher(invoice.company_id)
        messages.success(
            request, _("Order %(number)s is queued again.") % {"number": invoice.order.marketplace_order_id}
        )
    else:
        messages.info(request, _("This invoice is not waiting for a retry."))
    # `next` comes from the form: only a path on this site, never another host or a view name.
    target = request.POST.get("next", "")
    if not target.startswith("/") or not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect("invoicing:dashboard")
    return HttpResponseRedirect(target)


@tenant_required
@require_POST
def retry_all_failed(request):
    count = queueing.invoices_retry_all_failed(tenant=request.tenant)
    kick_dispatcher()
    messages.success(request, ngettext("%(n)s order queued again.", "%(n)s orders queued again.", count) % {"n": count})
    return redirect("invoicing:dashboard")


@tenant_required
def order_preview(request, public_id):
    order = get_for_tenant_or_404(request, Order.objects.select_related("store"), public_id=public_id)
    preview = selectors.invoice_preview(order=order)
    context = {
        "order": order,
        "preview": preview,
        "question": selectors.order_question(order=order),
        "decisions": decisions.decisions_of(order),
        "decide_form": DecisionForm(),
        "buyer_code": customer_code(order),
        "resend_deadline": einvoicing.resend_window_ends(order.invoice) if hasattr(order, "invoice") else None,
        "credit": creditselectors.credit_section(order=order),
        "is_owner": request.membership.role == Role.OWNER,
    }
    return render(request, "invoicing/preview.html", context)


@tenant_required
@require_POST
def order_decide(request, public_id):
    """The seller's answer to a held order: invoice as computed, do not invoice, or read again."""
    order = get_for_tenant_or_404(request, Order.objects.select_related("store"), public_id=public_id)
    question = selectors.order_question(order=order)
    form = DecisionForm(
        request.POST, choices=question.choices if question else (), current_series=order.store.numeration
    )
    if question is None or not form.is_valid():
        problems = [str(e) for errors in form.errors.values() for e in errors] if question else []
        messages.error(
            request,
            " ".join(problems) or _("This order has no open question, or the answer was not one of the choices."),
        )
        return redirect("invoicing:order_preview", public_id=order.public_id)
    kind = form.cleaned_data["kind"]
    decisions.order_decide(
        order=order,
        kind=kind,
        reason=form.cleaned_data["reason"],
        user=request.user,
        question_code=question.code,
        numeration=form.cleaned_data.get("numeration") or "",
    )
    if kind == OrderDecision.Kind.REREAD:
        reread_order.delay_on_commit(order.id)
        messages.success(request, _("The order is read again from the marketplace; its invoice follows by itself."))
    else:
        kick_dispatcher(order.invoice.company_id if hasattr(order, "invoice") else None)
        messages.success(request, _("Your decision is recorded."))
    return redirect("invoicing:order_preview", public_id=order.public_id)


@tenant_required
@require_POST
def order_invoice_now(request, public_id):
    order = get_for_tenant_or_404(request, Order, public_id=public_id)
    if queueing.invoice_now(order=order):
        kick_dispatcher()
        messages.success(request, _("Invoicing order %(number)s now.") % {"number": order.marketplace_order_id})
    else:
        messages.info(request, _("This order already has an invoice or is being invoiced."))
    return redirect("invoicing:order_preview", public_id=order.public_id)


@tenant_required
def buyer_list(request):
    query = request.GET.get("q", "").strip()[:100]
    buyers = buyer_svc.known_buyers(tenant=request.tenant, query=query)
    return render(request, "invoicing/buyers.html", {"buyers": buyers, "query": query})


@tenant_required
def buyer_edit(request):
    """Record a buyer's VAT number, codice fiscale, SdI code or PEC (the buyer is named by the client
    code of the tenant's own orders: nothing of another tenant can be reached)."""
    code = request.GET.get("code", "").strip()[:120]
    country = buyer_svc.buyer_country(tenant=request.tenant, code=code)
    if not code or not country:
        raise Http404(_("No order of yours has this buyer."))
    record = Buyer.objects.filter(tenant=request.tenant, code=code).first()
    initial = {f: getattr(record, f) for f in ("vat_number", "codice_fiscale", "sdi_code", "pec")} if record else {}
    form = BuyerForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if request.membership.role != Role.OWNER:
            raise PermissionDenied(_("Only the account owner can change this."))
        if form.is_valid():
            checked = buyer_svc.buyer_check(country=country, **form.cleaned_data)
            for field, problem in checked.problems.items():
                form.add_error(field, problem)
            if not checked.problems:
                buyer_svc.buyer_save(tenant=request.tenant, code=code, country=country, values=checked.values)
                kick_dispatcher()
                messages.success(request, _("Buyer saved. Orders that waited for this are invoiced again."))
                return redirect(f"{reverse('invoicing:buyer_edit')}?code={quote(code)}")
    context = {"form": form, "code": code, "country": country, "record": record}
    return render(request, "invoicing/buyer_edit.html", context)


@tenant_required
@require_POST
def einvoice_resend(request, public_id):
    """Send again an e-invoice SdI refused, after the seller corrected the buyer's data."""
    if request.membership.role != Role.OWNER:
        raise PermissionDenied(_("Only the account owner can change this."))
    invoice = get_for_tenant_or_404(request, Invoice.objects.select_related("order", "tenant"), public_id=public_id)
    try:
        sent_again = einvoicefix.einvoice_resend(invoice=invoice)
    except (ServiceError, PlanError) as exc:
        messages.error(request, ErrorBox.from_exception(exc).message)
    else:
        if sent_again:
            transaction.on_commit(lambda: send_einvoice.delay(invoice.id))
            messages.success(request, _("The corrected e-invoice is sent to SdI again."))
        else:
            messages.info(request, _("This e-invoice is not waiting for a correction."))
    return redirect("invoicing:order_preview", public_id=invoice.order.public_id)
