from django.urls import path

from . import creditviews, moneyviews, settingsviews, views

app_name = "invoicing"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("sync", views.sync_now, name="sync_now"),
    path("sync/confirm", views.sync_confirm, name="sync_confirm"),
    path("sync/<uuid:public_id>/progress", views.sync_progress, name="sync_progress"),
    path("invoices/retry-failed", views.retry_all_failed, name="retry_all_failed"),
    path("invoices/<uuid:public_id>/retry", views.invoice_retry, name="invoice_retry"),
    path("orders/<uuid:public_id>/preview", views.order_preview, name="order_preview"),
    path("orders/<uuid:public_id>/invoice-now", views.order_invoice_now, name="order_invoice_now"),
    path("orders/<uuid:public_id>/decide", views.order_decide, name="order_decide"),
    path("invoices/<uuid:public_id>/einvoice/resend", views.einvoice_resend, name="einvoice_resend"),
    path("settings/tax", settingsviews.tax_settings, name="tax_settings"),
    path("settings/einvoicing", settingsviews.einvoice_settings, name="einvoice_settings"),
    path("settings/numbering", settingsviews.numbering_settings, name="numbering_settings"),
    path("money/", moneyviews.money_month, name="money"),
    path("money/export.csv", moneyviews.money_export_csv, name="money_export_csv"),
    path("money/export.xlsx", moneyviews.money_export_xlsx, name="money_export_xlsx"),
    path("buyers/", views.buyer_list, name="buyer_list"),
    path("buyers/edit", views.buyer_edit, name="buyer_edit"),
    path("orders/<uuid:public_id>/credit-note", creditviews.credit_note_create, name="credit_note_create"),
    path("orders/<uuid:public_id>/reread", creditviews.order_reread, name="order_reread"),
    path("credit-notes/<uuid:public_id>/answer", creditviews.credit_note_answer, name="credit_note_answer"),
    path("credit-notes/<uuid:public_id>/retry", creditviews.credit_note_retry, name="credit_note_retry"),
    path(
        "credit-notes/<uuid:public_id>/einvoice/resend",
        creditviews.credit_note_einvoice_resend,
        name="credit_note_einvoice_resend",
    ),
]
