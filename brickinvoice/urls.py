from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from accounts.views import set_language

from . import views

admin.site.site_header = _("BrickInvoice administration")
admin.site.site_title = _("BrickInvoice admin")

urlpatterns = [
    path("", views.landing, name="landing"),
    path("healthz", views.healthz, name="healthz"),
    # The language switch (POST, CSRF-checked; accounts.views.set_language).
    path("i18n/setlang/", set_language, name="set_language"),
    # The seller's guide, public (guide/__init__.py).
    path("guida/", include("guide.urls")),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("home/", include("accounts.urls")),
    path("home/", include("invoicing.urls")),
    path("home/", include("marketplaces.urls")),
    path("home/accounting/", include("fatture.urls")),
]

if settings.SANDBOX:
    urlpatterns.append(path("sandbox/", include("sandbox.urls")))
