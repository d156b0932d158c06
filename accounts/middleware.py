"""Sets ``request.tenant`` and ``request.membership`` for a logged-in user, and activates the
user's own language.

A user normally has one tenant; with several, the session remembers the chosen one, and without a
choice the user lands in a tenant they own (the oldest), else the oldest membership.
"""

from django.conf import settings
from django.db.models import Case, IntegerField, Value, When
from django.utils import translation
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


def user_language(user) -> str:
    """The language ``user`` chose with the switch, if it is still one the product offers."""
    language = getattr(user, "language", "") if getattr(user, "is_authenticated", False) else ""
    return language if language in dict(settings.LANGUAGES) else ""


class UserLanguageMiddleware:
    """A signed-in user's own language over the cookie and the browser's (LocaleMiddleware chose
    those before): the choice follows the user to any browser, from the first page after login.
    The cookie is brought in line, so the pages after signing out keep the language too."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = user_language(request.user)
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        response = self.get_response(request)
        cookie = settings.LANGUAGE_COOKIE_NAME
        # Not over a cookie this response sets: the language switch's own answer.
        if language and cookie not in response.cookies and request.COOKIES.get(cookie) != language:
            set_language_cookie(response, language)
        return response


def set_language_cookie(response, language: str) -> None:
    """The language cookie, set as Django's set_language view sets it."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
