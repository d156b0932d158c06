"""Admin for invoices, sync runs and the customer map (support and operations; nothing secret here)."""

from django.contrib import admin, messages

from . import queueing
from .models import CustomerLink, Invoice, SyncRun
from .tasks import kick_dispatcher


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = ["order", "tenant", "state", "display_number", "attempts", "uncertain", "error_code", "updated_at"]
    list_filter = ["state", "uncertain", "error_code"]
    search_fields = ["order__marketplace_order_id", "order__buyer_username", "tenant__name", "number"]
    list_select_related = ["order", "tenant"]
    actions = ["retry"]
    # The state machine owns these; editing them by hand could create a second invoice.
    readonly_fields = [f.name for f in Invoice._meta.fields]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Retry the selected failed or held invoices")
    def retry(self, request, queryset):
        count = sum(queueing.invoice_retry(invoice=invoice) for invoice in queryset)
        kick_dispatcher()
        self.message_user(request, f"{count} invoice(s) queued again.", messages.SUCCESS)


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = [
        "tenant",
        "trigger",
        "state",
        "started_at",
        "finished_at",
        "orders_imported",
        "invoices_created",
        "invoices_failed",
        "api_calls",
    ]
    list_filter = ["state", "trigger"]
    search_fields = ["tenant__name"]
    readonly_fields = [f.name for f in SyncRun._meta.fields]


@admin.register(CustomerLink)
class CustomerLinkAdmin(admin.ModelAdmin):
    list_display = ["code", "tenant", "company_id", "fatture_client_id", "updated_at"]
    search_fields = ["code", "tenant__name"]
