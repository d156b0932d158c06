from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render


def landing(request):
    if request.user.is_authenticated:
        return redirect("invoicing:dashboard")
    return render(request, "landing.html")


def privacy(request):
    """What the product keeps and where it sends it; PRIVACY_URL replaces it in the footer."""
    return render(request, "legal/privacy.html")


def terms(request):
    return render(request, "legal/terms.html")


def healthz(request):
    """Liveness plus a database round trip, for the load balancer."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
