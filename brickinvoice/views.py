from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render


def landing(request):
    if request.user.is_authenticated:
        return redirect("invoicing:dashboard")
    return render(request, "landing.html")


def healthz(request):
    """Liveness plus a database round trip, for the load balancer."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
