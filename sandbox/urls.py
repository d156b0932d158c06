"""Fake third-party endpoints, mounted under /sandbox/ only when SANDBOX is on.

``bricklink/`` mirrors ``https://api.bricklink.com/api/store/v1``, ``brickowl/`` mirrors
``https://api.brickowl.com/v1``, ``fatture/`` mirrors ``https://api-v2.fattureincloud.it`` and
``ecb/`` mirrors ``https://www.ecb.europa.eu/stats/eurofxref``,
so the product's clients only change their base URL (settings point there when SANDBOX is on).
"""

from django.urls import path, re_path

from . import (
    bricklink,
    brickowl,
    ecb,
    fatture_api,
    fatture_einvoice,
    fatture_oauth,
    fatture_receipts,
    fatture_settings,
    views,
)

app_name = "sandbox"

urlpatterns = [
    path("", views.index, name="index"),
    path("faults", views.faults, name="faults"),
    path("einvoices/<int:document_id>", views.einvoice_action, name="einvoice_action"),
    path("orders/<int:order_id>/event", views.order_event_view, name="order_event"),
    # BrickLink Store API v1
    path("bricklink/orders", bricklink.orders),
    path("bricklink/orders/<str:order_id>", bricklink.order_detail),
    path("bricklink/orders/<str:order_id>/items", bricklink.order_items),
    path("bricklink/settings/shipping_methods", bricklink.shipping_methods),
    path("bricklink/notifications", bricklink.notifications),
    re_path(r"^bricklink/(?P<rest>.*)$", bricklink.not_found),
    # BrickOwl API v1
    path("brickowl/order/list", brickowl.order_list),
    path("brickowl/order/view", brickowl.order_view),
    path("brickowl/order/items", brickowl.order_items),
    path("brickowl/user/details", brickowl.user_details),
    re_path(r"^brickowl/(?P<rest>.*)$", brickowl.not_found),
    # Fatture in Cloud API v2
    path("fatture/oauth/authorize", fatture_oauth.authorize, name="fatture_authorize"),
    path("fatture/oauth/token", fatture_oauth.token, name="fatture_token"),
    path("fatture/view/<int:document_id>", views.invoice_view, name="fatture_view"),
    path("fatture/user/info", fatture_api.user_info),
    path("fatture/user/companies", fatture_api.user_companies),
    path("fatture/c/<int:company_id>/info/vat_types", fatture_api.vat_types),
    path("fatture/c/<int:company_id>/products", fatture_api.products),
    path("fatture/c/<int:company_id>/products/<int:product_id>", fatture_api.product_detail),
    path("fatture/c/<int:company_id>/entities/clients", fatture_api.clients),
    path("fatture/c/<int:company_id>/entities/clients/<int:client_id>", fatture_api.client_detail),
    path("fatture/c/<int:company_id>/issued_documents", fatture_api.documents),
    path("fatture/c/<int:company_id>/issued_documents/<int:document_id>", fatture_api.document_detail),
    path(
        "fatture/c/<int:company_id>/issued_documents/<int:document_id>/e_invoice/xml_verify",
        fatture_einvoice.xml_verify,
    ),
    path("fatture/c/<int:company_id>/issued_documents/<int:document_id>/e_invoice/send", fatture_einvoice.send),
    path(
        "fatture/c/<int:company_id>/issued_documents/<int:document_id>/e_invoice/error_reason",
        fatture_einvoice.error_reason,
    ),
    path("fatture/c/<int:company_id>/company/info", fatture_settings.company_info),
    path("fatture/c/<int:company_id>/info/payment_accounts", fatture_settings.payment_accounts),
    path("fatture/c/<int:company_id>/settings/payment_accounts", fatture_settings.payment_account_create),
    path("fatture/c/<int:company_id>/settings/vat_types", fatture_settings.vat_type_create),
    path("fatture/c/<int:company_id>/subscriptions", fatture_settings.subscriptions),
    path("fatture/c/<int:company_id>/subscriptions/<str:subscription_id>", fatture_settings.subscription_detail),
    path("fatture/c/<int:company_id>/subscriptions/<str:subscription_id>/verify", fatture_settings.subscription_verify),
    path("fatture/c/<int:company_id>/receipts", fatture_receipts.receipts),
    path("fatture/c/<int:company_id>/receipts/<int:receipt_id>", fatture_receipts.receipt_detail),
    re_path(r"^fatture/(?P<rest>.*)$", fatture_api.not_found),
    # ECB reference rates (the daily and 90-day feeds)
    path("ecb/eurofxref-daily.xml", ecb.daily),
    path("ecb/eurofxref-hist-90d.xml", ecb.history_90d),
]
