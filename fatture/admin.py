"""Admin for the Fatture connection (token columns are never rendered) and product mappings."""

from django.contrib import admin

from .models import FattureConnection, ProductMapping


@admin.register(FattureConnection)
class FattureConnectionAdmin(admin.ModelAdmin):
    list_display = ["tenant", "status", "fatture_email", "company_name", "company_id", "connected_at"]
    list_filter = ["status"]
    search_fields = ["tenant__name", "fatture_email", "company_name"]
    # Secrets stay out of every admin page: not in forms, lists, searches or read-only fields.
    exclude = ["access_token", "refresh_token"]
    readonly_fields = [
        "tenant",
        "public_id",
        "fatture_email",
        "fatture_user_name",
        "token_expires_at",
        "company_id",
        "company_name",
        "last_error_code",
        "last_error_message",
        "last_error_detail",
        "connected_at",
        "created_at",
        "updated_at",
    ]

    def has_add_permission(self, request):
        return False  # connections are made by the seller's OAuth consent only


@admin.register(ProductMapping)
class ProductMappingAdmin(admin.ModelAdmin):
    list_display = ["tenant", "company_id", "slot", "product_id", "product_name", "vat_value", "vat_ei_type"]
    list_filter = ["slot"]
    search_fields = ["tenant__name", "product_name", "product_code"]
