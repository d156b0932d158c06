from django.urls import path

from . import views

app_name = "fatture"
urlpatterns = [
    path("connect", views.connect, name="connect"),
    path("connect/start", views.start, name="start"),
    path("pre-registration", views.preregistration, name="preregistration"),
    path("callback", views.callback, name="callback"),
    path("company/<uuid:public_id>", views.company, name="company"),
    path("mapping", views.mapping, name="mapping"),
    path("products/refresh", views.products_refresh, name="products_refresh"),
    path("vat-types/create", views.vat_type_create, name="vat_type_create"),
    path("products/create", views.product_create, name="product_create"),
    path("disconnect/<uuid:public_id>", views.disconnect, name="disconnect"),
    # Fatture in Cloud posts e-invoice status updates here (fatture/webhooks.py); no session.
    path("webhooks/fatture", views.webhook, name="webhook"),
]
