from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from . import views

admin.site.site_header = "BrickInvoice administration"
admin.site.site_title = "BrickInvoice admin"

urlpatterns = [
    path("", views.landing, name="landing"),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("home/", include("accounts.urls")),
    path("home/", include("invoicing.urls")),
    path("home/", include("marketplaces.urls")),
    path("home/accounting/", include("fatture.urls")),
]

if settings.SANDBOX:
    urlpatterns.append(path("sandbox/", include("sandbox.urls")))
