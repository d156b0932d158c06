"""The product's URLs plus the sandbox's, whatever SANDBOX says: for tests that run the fakes
(``@pytest.mark.urls("sandbox.test_urls")``) while CI runs with SANDBOX off."""

from django.urls import include, path

from brickinvoice.urls import urlpatterns as product_urlpatterns

_mounted = any(getattr(p, "app_name", None) == "sandbox" for p in product_urlpatterns)

urlpatterns = [*product_urlpatterns]
if not _mounted:
    urlpatterns.append(path("sandbox/", include("sandbox.urls")))
