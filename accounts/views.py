from django.contrib import messages
from django.shortcuts import redirect, render

from .access import owner_required
from .forms import SellerSettingsForm
from .services import settings_for
from .signals import seller_settings_changed


@owner_required
def seller_settings(request):
    instance = settings_for(request.tenant)
    form = SellerSettingsForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        form.save()
        seller_settings_changed.send(sender=type(instance), settings=instance)
        messages.success(request, "Settings saved.")
        return redirect("accounts:settings")
    return render(request, "accounts/settings.html", {"form": form})
