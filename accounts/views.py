from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from .access import owner_required
from .forms import NotificationPreferencesForm, SellerSettingsForm
from .services import settings_for
from .signals import seller_settings_changed

# The settings page has two forms; the e-mail one says so in a hidden field.
NOTIFICATIONS_SECTION = "notifications"


@owner_required
def seller_settings(request):
    instance = settings_for(request.tenant)
    posted = request.POST if request.method == "POST" else None
    is_notifications = posted is not None and posted.get("section") == NOTIFICATIONS_SECTION
    form = SellerSettingsForm(None if is_notifications else (posted or None), instance=instance)
    notifications = NotificationPreferencesForm(posted if is_notifications else None, user=request.user)
    if is_notifications and notifications.is_valid():
        notifications.save()
        messages.success(request, _("E-mail preferences saved."))
        return redirect("accounts:settings")
    if posted and not is_notifications and form.is_valid():
        form.save()
        seller_settings_changed.send(sender=type(instance), settings=instance)
        messages.success(request, "Settings saved.")
        return redirect("accounts:settings")
    return render(request, "accounts/settings.html", {"form": form, "notifications": notifications})
