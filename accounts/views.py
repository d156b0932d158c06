from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import i18n
from django.views.decorators.http import require_POST

from .access import owner_required
from .forms import NotificationPreferencesForm, SellerSettingsForm
from .models import User
from .services import seller_settings_update, settings_for

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
        form.save(commit=False)
        seller_settings_update(seller_settings=instance, fields=list(form.fields), changed=form.changed_data)
        messages.success(request, _("Settings saved."))
        return redirect("accounts:settings")
    return render(request, "accounts/settings.html", {"form": form, "notifications": notifications})


@require_POST
def set_language(request):
    """The language switch of the user menu: Django's set_language (the cookie, and a redirect to
    ``next`` only when it is a page of this site), and for a signed-in user the choice is kept on
    the account, so every browser and every e-mail uses it."""
    response = i18n.set_language(request)
    chosen = request.POST.get(i18n.LANGUAGE_QUERY_PARAMETER, "")
    if request.user.is_authenticated and chosen in dict(settings.LANGUAGES):
        User.objects.filter(pk=request.user.pk).update(language=chosen)
    return response
