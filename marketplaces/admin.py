"""Admin for stores (credentials excluded) and imported orders (read-only)."""

from django.contrib import admin

from .models import Order, OrderItem, StoreConnection


@admin.register(StoreConnection)
class StoreConnectionAdmin(admin.ModelAdmin):
    # Secrets never reach admin pages: the encrypted field is excluded, only the masked hint shows.
    exclude = ["credentials"]
    list_display = ["__str__", "name", "marketplace", "status", "credentials_hint", "last_import_at", "api_calls_today"]
    list_filter = ["marketplace", "status"]
    search_fields = ["name", "tenant__name"]
    readonly_fields = [
        "tenant",
        "public_id",
        "marketplace",
        "credentials_hint",
        "account_ref",
        "last_error_code",
        "last_error_message",
        "last_error_detail",
        "last_error_at",
        "import_cursor",
        "last_import_result",
        "last_import_at",
        "last_synced_at",
        "api_calls_day",
        "api_calls_today",
        "order_failures",
    ]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


ITEM_FIELDS = [
    "lot_id",
    "item_no",
    "item_type",
    "name",
    "color",
    "condition",
    "quantity",
    "refunded_quantity",
    "unit_price",
    "line_total",
]


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    extra = 0
    can_delete = False
    fields = tuple(ITEM_FIELDS)
    readonly_fields = tuple(ITEM_FIELDS)

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = [
        "marketplace_order_id",
        "marketplace",
        "tenant",
        "buyer_username",
        "status",
        "ordered_at",
        "amount_paid_to_seller",
        "currency",
        "quarantined",
    ]
    list_filter = ["marketplace", "status", "quarantined"]
    search_fields = ["marketplace_order_id", "buyer_username", "buyer_name", "tenant__name"]
    list_select_related = ["tenant"]
    inlines = [OrderItemInline]


@admin.register(OrderItem)
class OrderItemAdmin(ReadOnlyAdmin):
    list_display = ["order", "lot_id", "name", "condition", "quantity", "unit_price", "line_total"]
    search_fields = ["order__marketplace_order_id", "name", "item_no"]
    list_select_related = ["order"]
