"""Tenant access helpers: the only way views reach tenant-owned rows (docs/architecture.md §5.2).

Every lookup is filtered by ``request.tenant``; anything of another tenant is a 404,
never a 403, so that its existence does not leak.
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from .choices import Role


def _has_tenant(request) -> bool:
    return bool(getattr(request, "membership", None))


def tenant_required(view):
    """Logged in and member of a tenant; sets nothing new, only refuses."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not _has_tenant(request):
            raise Http404(_("No seller account for this user."))
        return view(request, *args, **kwargs)

    return wrapper


def owner_required(view):
    """Like tenant_required, and only the tenant's owners may use it (settings, connections)."""

    @tenant_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.membership.role != Role.OWNER:
            raise PermissionDenied(_("Only the account owner can change this."))
        return view(request, *args, **kwargs)

    return wrapper


def tenant_queryset(request, model_or_queryset: type[Model] | QuerySet) -> QuerySet:
    """The rows of the request's tenant only."""
    queryset = model_or_queryset._default_manager.all() if isinstance(model_or_queryset, type) else model_or_queryset
    if not _has_tenant(request):
        return queryset.none()
    return queryset.filter(tenant=request.tenant)


def get_for_tenant_or_404(request, model_or_queryset, **lookup):
    """One row of the request's tenant, or 404 (also for malformed ids)."""
    try:
        return get_object_or_404(tenant_queryset(request, model_or_queryset), **lookup)
    except (ValueError, TypeError) as exc:  # e.g. a malformed UUID in the URL
        raise Http404(_("Not found.")) from exc
