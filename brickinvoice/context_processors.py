"""The support, privacy and terms links every page's footer shows."""

from django.conf import settings
from django.urls import reverse


def links(request):
    support = settings.SUPPORT_URL or (f"mailto:{settings.SUPPORT_EMAIL}" if settings.SUPPORT_EMAIL else "")
    return {
        "support_url": support,
        "support_email": settings.SUPPORT_EMAIL,
        "privacy_url": settings.PRIVACY_URL or reverse("privacy"),
        "terms_url": settings.TERMS_URL or reverse("terms"),
    }
