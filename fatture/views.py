"""Accounting pages under /home/accounting/: connect, OAuth callback, company, mapping, disconnect.

Thin: each view checks access, calls one service, renders. Owners change the connection; members
may look at the connect and mapping pages.
"""

import logging
import secrets
import time
from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.forms import BoundField
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import get_for_tenant_or_404, owner_required, tenant_required
from accounts.choices import Role
from accounts.services import preregistration_request, preregistrations_for
from brickinvoice.errors import ErrorBox, ServiceError
from invoicing.accounting import health_for_tenant, slot_label

from . import catalogue as catalogue_svc
from . import connection as connection_svc
from . import mapping as mapping_svc
from . import oauth, webhooks
from .forms import ACCEPT_PREFIX, BackendForm, CompanyForm, MappingForm, PreRegistrationRequestForm
from .models import FattureConnection
from .products import slot_product_create
from .suggest import Suggestion, suggest_products
from .vat_needs import vat_need_create, vat_needs

logger = logging.getLogger("fatture.views")
STATE_SESSION_KEY = "fatture_oauth_state"
STATE_MAX_AGE = 15 * 60  # seconds a consent page may stay open


def _is_owner(request) -> bool:
    return request.membership.role == Role.OWNER


@tenant_required
def connect(request):
    conn = connection_svc.connection_for(tenant=request.tenant)
    emails = [request.user.email] + ([conn.fatture_email] if conn and conn.fatture_email else [])
    return render(
        request,
        "fatture/connect.html",
        {
            "connection": conn,
            "backend_form": BackendForm(),
            "preregistrations": preregistrations_for(tenant=request.tenant, emails=emails),
            "prereg_form": PreRegistrationRequestForm(initial={"email": request.user.email}),
            "is_owner": _is_owner(request),
            "health": health_for_tenant(request.tenant),
        },
    )


@owner_required
@require_POST
def start(request):
    """Send the seller to Fatture's consent page with a single-use ``state`` bound to the session."""
    form = BackendForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Pick an accounting package."))
        return redirect("fatture:connect")
    state = secrets.token_urlsafe(32)
    request.session[STATE_SESSION_KEY] = {
        "state": state,
        "tenant": str(request.tenant.public_id),
        "issued": time.time(),
    }
    return redirect(oauth.authorization_url(state=state, redirect_uri=oauth.redirect_uri(request)))


@owner_required
@require_POST
def preregistration(request):
    form = PreRegistrationRequestForm(request.POST)
    if form.is_valid():
        entry = preregistration_request(
            email=form.cleaned_data["email"],
            user=request.user,
            tenant=request.tenant,
            message=form.cleaned_data["message"],
        )
        messages.success(
            request,
            _("Pre-registration for %(email)s: %(status)s.")
            % {"email": entry.email, "status": entry.get_status_display().lower()},
        )
    else:
        messages.error(request, _("Enter a valid e-mail address for the pre-registration request."))
    return redirect("fatture:connect")


def _failed(request, err: dict, status: int = 200):
    return render(request, "fatture/connect_failed.html", {"err": err}, status=status)


def _state_ok(request) -> bool:
    """The ``state`` must be the one issued to this session and tenant, recently, and only once."""
    issued = request.session.pop(STATE_SESSION_KEY, None)  # single use, whatever happens next
    returned = request.GET.get("state", "")
    if not issued or not returned:
        return False
    return (
        secrets.compare_digest(str(issued.get("state", "")), returned)
        and issued.get("tenant") == str(request.tenant.public_id)
        and time.time() - float(issued.get("issued", 0)) <= STATE_MAX_AGE
    )


@owner_required
def callback(request):
    if not _state_ok(request):
        detail = _(
            "The answer from Fatture in Cloud did not match this browser session (expired, reused or forged link)."
        )
        return _failed(request, ErrorBox.of("fatture_connect_failed", detail), status=400)
    error = request.GET.get("error")
    if error:
        if error == "access_denied":
            detail = _("Access was not granted on the Fatture in Cloud page.")
        else:
            description = request.GET.get("error_description", "")[:300]
            detail = (_("Fatture in Cloud answered: %(error)s") % {"error": f"{error[:60]} {description}"}).strip()
        return _failed(request, ErrorBox.of("fatture_connect_failed", detail))
    code = request.GET.get("code", "")
    if not code:
        return _failed(
            request, ErrorBox.of("fatture_connect_failed", _("Fatture in Cloud sent no authorization code."))
        )
    try:
        conn = connection_svc.connection_complete(
            tenant=request.tenant, code=code, redirect_uri=oauth.redirect_uri(request)
        )
    except ServiceError as exc:
        return _failed(request, ErrorBox.from_exception(exc))
    messages.success(
        request, _("Fatture in Cloud connected as %(email)s. Now pick the company.") % {"email": conn.fatture_email}
    )
    return redirect("fatture:company", public_id=conn.public_id)


@owner_required
def company(request, public_id):
    connection = get_for_tenant_or_404(request, FattureConnection, public_id=public_id)
    err, companies = None, []
    try:
        companies = connection_svc.companies_list(connection=connection)
    except ServiceError as exc:
        err = ErrorBox.from_exception(exc)
    form = CompanyForm(
        request.POST or None,
        companies=companies,
        initial={"company": connection.company_id} if connection.company_id else None,
    )
    if request.method == "POST" and not err and form.is_valid():
        try:
            chosen = connection_svc.company_select(connection=connection, company_id=form.cleaned_data["company"])
        except ServiceError as exc:
            err = ErrorBox.from_exception(exc)
        else:
            messages.success(request, _("Invoices will be issued from %(company)s.") % {"company": chosen.name})
            return redirect("fatture:mapping")
    saved_missing = bool(connection.company_id and companies and all(c.id != connection.company_id for c in companies))
    if saved_missing and not err:
        detail = _("The saved company “%(company)s” is not among this user's companies.") % {
            "company": connection.company_name
        }
        err = ErrorBox.of("company_not_found", detail)
    return render(
        request,
        "fatture/company.html",
        {
            "connection": connection,
            "form": form,
            "companies": companies,
            "err": err,
        },
    )


@tenant_required
def mapping(request):
    if request.method == "POST" and not _is_owner(request):
        raise PermissionDenied(_("Only the account owner can change this."))
    connection = connection_svc.connection_for(tenant=request.tenant)
    context = {"connection": connection, "is_owner": _is_owner(request), "err": None, "form": None}
    problem = connection_svc.connection_issue(connection=connection)
    if problem:
        context["err"] = problem
        return render(request, "fatture/mapping.html", context)
    mappings = mapping_svc.mapping_for(tenant=request.tenant)
    required = mapping_svc.required_slots(tenant=request.tenant)
    try:
        products = catalogue_svc.catalogue(connection=connection)
    except ServiceError as exc:
        context.update(err=ErrorBox.from_exception(exc), mappings=mappings)
        return render(request, "fatture/mapping.html", context)
    expected = mapping_svc.expected_vat(tenant=request.tenant)
    suggestions = suggest_products(products=products, expected=expected)
    form = MappingForm(
        request.POST or None,
        products=products,
        mappings=mappings,
        required=required,
        suggested={slot: s.product.id for slot, s in suggestions.items()},
        initial={"invoice_subject": connection.invoice_subject},
    )
    if request.method == "POST" and form.is_valid():
        try:
            mapping_svc.mapping_save(
                connection=connection,
                choices=form.slot_choices(),
                products=products,
                subject=form.cleaned_data["invoice_subject"],
                accepted=form.accepted(),
            )
        except ServiceError as exc:
            context["err"] = ErrorBox.from_exception(exc)
        else:
            messages.success(request, _("Product mapping saved."))
            return redirect("fatture:mapping")
    issues = mapping_svc.mapping_check(tenant=request.tenant)
    mismatched = {i.at for i in issues if i.code == "vat_rate_mismatch"}
    rows = [
        MappingRow(
            field=field,
            expected=expected[field.name].label,
            required=field.name in required,
            accept=form[f"{ACCEPT_PREFIX}{field.name}"]
            if field.name in mismatched or (field.name in mappings and mappings[field.name].mismatch_accepted)
            else None,
            suggestion=_suggestion_shown(field.name, suggestions, mappings, mismatched),
            preselected=field.name not in mappings,
            # No product of the catalogue fits: offer to create one with the right VAT type.
            creatable=field.name not in suggestions and (field.name not in mappings or field.name in mismatched),
        )
        for field in form.slot_fields()
    ]
    try:
        needs = vat_needs(tenant=request.tenant, connection=connection)
    except ServiceError:
        needs = []  # the VAT-type list cannot be read now; the catalogue error shows above if it persists
    context.update(form=form, products=products, issues=issues, rows=rows, vat_needs=needs)
    return render(request, "fatture/mapping.html", context)


@dataclass(frozen=True)
class MappingRow:
    field: BoundField
    expected: str
    required: bool
    accept: BoundField | None
    suggestion: Suggestion | None = None
    preselected: bool = False  # the suggestion fills an empty slot
    creatable: bool = False


def _suggestion_shown(slot: str, suggestions: dict[str, Suggestion], mappings, mismatched: set[str]):
    """The suggestion of an empty slot (pre-selected), or of a slot whose product's VAT does not fit."""
    suggestion = suggestions.get(slot)
    if suggestion is None or (slot in mappings and slot not in mismatched):
        return None
    return None if slot in mappings and mappings[slot].product_id == suggestion.product.id else suggestion


def _usable_connection(request) -> FattureConnection | None:
    """The tenant's connection when it can be used now; else None, with the reason as a message."""
    connection = connection_svc.connection_for(tenant=request.tenant)
    problem = connection_svc.connection_issue(connection=connection)
    if problem or connection is None:
        messages.error(request, (problem or ErrorBox.of("fatture_not_connected")).message)
        return None
    return connection


@owner_required
@require_POST
def vat_type_create(request):
    """Create, in the seller's Fatture company, a 0 % VAT type the invoices need (vat_needs.py)."""
    connection = _usable_connection(request)
    if connection is None:
        return redirect("fatture:mapping")
    natura = request.POST.get("natura", "")
    try:
        created = vat_need_create(tenant=request.tenant, connection=connection, natura=natura)
    except ValueError as exc:
        raise Http404(_("This VAT type is not one your invoices need.")) from exc
    except ServiceError as exc:
        messages.error(request, f"{exc.text.message} {exc.text.hint}".strip())
    else:
        messages.success(
            request,
            _("VAT type %(natura)s is in your Fatture in Cloud company (id %(id)s). Orders held for it are retried.")
            % {"natura": natura, "id": created.id},
        )
    return redirect("fatture:mapping")


@owner_required
@require_POST
def product_create(request):
    """Create, in the seller's Fatture company, the product a slot lacks (fatture/products.py)."""
    connection = _usable_connection(request)
    if connection is None:
        return redirect("fatture:mapping")
    slot = request.POST.get("slot", "")
    try:
        created = slot_product_create(tenant=request.tenant, connection=connection, slot=slot)
    except ValueError as exc:
        raise Http404(_("There is no such slot.")) from exc
    except ServiceError as exc:
        messages.error(request, f"{exc.text.message} {exc.text.hint}".strip())
    else:
        messages.success(
            request,
            _("Product “%(name)s” created in Fatture in Cloud (id %(id)s) for the slot %(slot)s.")
            % {"name": created.name, "id": created.id, "slot": slot_label(slot)},
        )
    return redirect("fatture:mapping")


@owner_required
@require_POST
def products_refresh(request):
    connection = connection_svc.connection_for(tenant=request.tenant)
    try:
        if connection is None:
            raise ServiceError(code="fatture_not_connected")
        products = catalogue_svc.products_refresh(connection=connection)
    except ServiceError as exc:
        messages.error(request, f"{exc.text.message} {exc.detail}".strip())
    else:
        messages.success(
            request,
            ngettext(
                "Products reloaded from Fatture in Cloud: %(n)d found.",
                "Products reloaded from Fatture in Cloud: %(n)d found.",
                len(products),
            )
            % {"n": len(products)},
        )
    return redirect("fatture:mapping")


@owner_required
def disconnect(request, public_id):
    """GET asks for confirmation; POST forgets the tokens."""
    connection = get_for_tenant_or_404(request, FattureConnection, public_id=public_id)
    if request.method == "POST":
        connection_svc.connection_disconnect(connection=connection)
        messages.success(
            request, _("Fatture in Cloud disconnected. Your invoices, mappings and pre-registration are kept.")
        )
        return redirect("fatture:connect")
    return render(request, "fatture/disconnect.html", {"connection": connection})


@csrf_exempt
@require_http_methods(["GET", "POST"])
def webhook(request):
    """Fatture in Cloud's webhook sink (fatture/webhooks.py): no session and no tenant, since FiC
    authenticates with a signed token and names the company in ``ce-subject``. ``GET`` answers
    the subscription's verification challenge; ``POST`` takes a notification and answers at once.
    404 while webhooks are off."""
    if not webhooks.webhooks_enabled():
        raise Http404
    if request.method == "GET":
        challenge = request.headers.get(webhooks.CHALLENGE_HEADER) or request.GET.get(webhooks.CHALLENGE_HEADER)
        if not challenge or len(challenge) > 512:
            return JsonResponse({"error": "missing verification challenge"}, status=400)
        return JsonResponse({"verification": challenge})
    try:
        notification = webhooks.notification_from_request(request)
    except webhooks.WebhookRefused as exc:
        logger.warning("fatture webhook refused (%s): %s", exc.status, exc)
        return JsonResponse({"error": str(exc)}, status=exc.status)
    webhooks.notification_handle(notification)
    return JsonResponse({})
