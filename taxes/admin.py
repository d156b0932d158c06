"""Read-only admin for the tax reference data (operations and support): ECB rates as the feeds
gave them, and VIES checks, which are evidence and never edited."""

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from .models import EcbPublication, EcbRate, VatNumberCheck


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(EcbPublication)
class EcbPublicationAdmin(ReadOnlyAdmin):
    list_display = ["day", "previous_day", "source", "fetched_at"]
    date_hierarchy = "day"


@admin.register(EcbRate)
class EcbRateAdmin(ReadOnlyAdmin):
    list_display = ["day", "currency", "rate"]
    list_filter = ["currency"]
    date_hierarchy = "day"


@admin.register(VatNumberCheck)
class VatNumberCheckAdmin(ReadOnlyAdmin):
    list_display = ["checked_at", "country", "number", "result", "name", "consultation_reference", "tenant"]
    list_filter = ["result", "country"]
    search_fields = ["number", "name", "consultation_reference", "tenant__name"]
    list_select_related = ["tenant"]
