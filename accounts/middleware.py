"""Sets ``request.tenant`` and ``request.membership`` for a logged-in user.

A user normally has one tenant; with several, the session remembers the chosen one, and without a
choice the user lands in a tenant they own (the oldest), else the oldest membership.
"""

from django.db.models import Case, IntegerField, Value, When
from django.utils.functional import SimpleLazyObject

from .choices import Role
from .models import Membership

SESSION_KEY = "tenant_public_id"


def _membership(request):
    if not request.user.is_authenticated:
        return None
    memberships = Membership.objects.select_related("tenant").filter(user=request.user)
    chosen = request.session.get(SESSION_KEY)
    if chosen:
        membership = memberships.filter(tenant__public_id=chosen).first()
        if membership:
            return membership
    # Owned first, explicitly: ordering on the role's text would put "member" before "owner".
    owned_first = Case(When(role=Role.OWNER, then=Value(0)), default=Value(1), output_field=IntegerField())
    return memberships.order_by(owned_first, "created_at", "id").first()


class TenantMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        membership = SimpleLazyObject(lambda: _membership(request))
        request.membership = membership
        request.tenant = SimpleLazyObject(lambda: membership.tenant if membership else None)
        return self.get_response(request)
