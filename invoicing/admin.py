"""Admin for invoices, sync runs and the customer map (support and operations; nothing secret here)."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import queueing
from .models import CustomerLink, Invoice, ScheduleCursor, SyncRun
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

    def has_delete_permission(self, request, obj=None):
        # An invoice is a fiscal document once issued, and the row is what stops a second one
        # being created for the order: it is never deleted by hand (nor "Delete selected").
        return False

    @admin.action(description=_("Retry the selected failed or held invoices"), permissions=["change"])
    def retry(self, request, queryset):
        """The seller's Retry button (queueing.invoice_retry) for each selected invoice."""
        retried = [invoice for invoice in queryset.select_related("tenant") if queueing.invoice_retry(invoice=invoice)]
        # The retry may have given a row its company only now: read it back to wake its dispatcher.
        companies = Invoice.objects.filter(pk__in=[invoice.pk for invoice in retried]).values_list("company_id")
        for (company_id,) in set(companies):
            kick_dispatcher(company_id)
        self.message_user(
            request,
            ngettext("%(count)d invoice queued again.", "%(count)d invoices queued again.", len(retried))
            % {"count": len(retried)},
            messages.SUCCESS,
        )


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


@admin.register(ScheduleCursor)
class ScheduleCursorAdmin(admin.ModelAdmin):
    """For operators: how far scheduled syncs have been started. More than a few minutes behind
    now means beat is not running (docs/operations.md, "Scheduled syncs")."""

    list_display = ["dispatched_until"]
    readonly_fields = ["dispatched_until"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CustomerLink)
class CustomerLinkAdmin(admin.ModelAdmin):
    list_display = ["code", "tenant", "company_id", "fatture_client_id", "updated_at"]
    search_fields = ["code", "tenant__name"]
