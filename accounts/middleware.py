"""Sets ``request.tenant`` and ``request.membership`` for a logged-in user.

A user normally has one tenant; with several, the session remembers the chosen one.
"""

from django.utils.functional import SimpleLazyObject

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
    return memberships.order_by("role", "created_at").first()  # "member" sorts after "owner"


class TenantMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        membership = SimpleLazyObject(lambda: _membership(request))
        request.membership = membership
        request.tenant = SimpleLazyObject(lambda: membership.tenant if membership else None)
        return self.get_response(request)
