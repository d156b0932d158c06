from django.shortcuts import render

from accounts.access import tenant_required


@tenant_required
def dashboard(request):
    return render(request, "invoicing/dashboard.html", {})
