from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .models import Membership, PreRegistration, SellerSettings, Tenant, User
from .services import preregistration_decide, preregistration_queue_approved_email


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "is_active", "date_joined"]
    search_fields = ["email", "full_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (_("Profile"), {"fields": ["full_name", "language"]}),
        (_("Permissions"), {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        (_("Dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class SellerSettingsInline(admin.StackedInline):
    model = SellerSettings
    can_delete = False


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "public_id", "created_at"]
    search_fields = ["name", "memberships__user__email"]
    readonly_fields = ["public_id", "created_at"]
    inlines = [SellerSettingsInline, MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "tenant", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "tenant__name"]
    autocomplete_fields = ["user", "tenant"]


@admin.register(SellerSettings)
class SellerSettingsAdmin(admin.ModelAdmin):
    list_display = ["tenant", "business_name", "country", "margin_rule", "sync_schedule"]
    list_filter = ["country", "margin_rule", "sync_schedule", "vat_registered"]
    search_fields = ["business_name", "tenant__name"]


@admin.register(PreRegistration)
class PreRegistrationAdmin(admin.ModelAdmin):
    """The Fatture in Cloud e-mail allow-list: filter on status "Requested" to see pending requests."""

    list_display = ["email", "status", "tenant", "requested_by", "created_at", "decided_by", "decided_at"]
    list_filter = ["status", "created_at"]
    search_fields = ["email", "requested_by__email", "tenant__name", "message", "note"]
    readonly_fields = ["requested_by", "tenant", "message", "decided_by", "decided_at", "created_at"]
    fields = ["email", "status", "note", "message", "tenant", "requested_by", "decided_by", "decided_at", "created_at"]
    actions = ["approve", "reject"]

    def save_model(self, request, obj, form, change):
        # Editing the status by hand records who decided, like the bulk actions do.
        decided = "status" in form.changed_data and obj.status != PreRegistration.Status.REQUESTED
        if decided:
            obj.decided_by, obj.decided_at = request.user, timezone.now()
        super().save_model(request, obj, form, change)
        if decided and obj.status == PreRegistration.Status.APPROVED:
            preregistration_queue_approved_email(preregistration_id=obj.id)

    @admin.action(description=_("Approve selected e-mails"))
    def approve(self, request, queryset):
        changed = preregistration_decide(queryset=queryset, status=PreRegistration.Status.APPROVED, by=request.user)
        self.message_user(
            request, ngettext("%(n)d e-mail approved.", "%(n)d e-mails approved.", changed) % {"n": changed}
        )

    @admin.action(description=_("Reject selected e-mails"))
    def reject(self, request, queryset):
        changed = preregistration_decide(queryset=queryset, status=PreRegistration.Status.REJECTED, by=request.user)
        self.message_user(
            request, ngettext("%(n)d e-mail rejected.", "%(n)d e-mails rejected.", changed) % {"n": changed}
        )
