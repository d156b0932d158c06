"""Fake third-party endpoints, mounted under /sandbox/ only when SANDBOX is on."""

urlpatterns: list = []
