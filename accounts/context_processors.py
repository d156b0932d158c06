from django.conf import settings


def tenant(request):
    return {
        "tenant": getattr(request, "tenant", None),
        "membership": getattr(request, "membership", None),
        "site_name": settings.SITE_NAME,
    }
