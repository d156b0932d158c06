"""The registry of every seller view under /home/, for the isolation tests.

Adding a view under /home/ without listing it here fails ``test_every_home_view_is_registered``.

- ``TENANT_VIEWS``: views that take no object id; they reach data only through ``request.tenant``.
- ``MACHINE_VIEWS``: endpoints a provider calls (webhooks): no session, no tenant; each app tests
  their own authentication.
- ``OBJECT_VIEWS``: views whose URL names a tenant-owned object. Each entry maps the URL name to
  ``(make_kwargs, methods)``: ``make_kwargs(tenant)`` creates an object in ``tenant`` and returns
  the URL kwargs; ``methods`` are the HTTP methods the view accepts.
"""

TENANT_VIEWS: set[str] = {"accounts:settings"}


OBJECT_VIEWS: dict[str, tuple] = {}
MACHINE_VIEWS: set[str] = set()

# Each app registers its own views in its own module (kept apart so parallel work does not collide).
from tests.tenant_views_fatture import (  # noqa: E402
    FATTURE_MACHINE_VIEWS,
    FATTURE_OBJECT_VIEWS,
    FATTURE_TENANT_VIEWS,
)
from tests.tenant_views_invoicing import INVOICING_OBJECT_VIEWS, INVOICING_TENANT_VIEWS  # noqa: E402
from tests.tenant_views_marketplaces import MARKETPLACES_OBJECT_VIEWS, MARKETPLACES_TENANT_VIEWS  # noqa: E402

TENANT_VIEWS |= MARKETPLACES_TENANT_VIEWS | FATTURE_TENANT_VIEWS | INVOICING_TENANT_VIEWS
OBJECT_VIEWS |= MARKETPLACES_OBJECT_VIEWS | FATTURE_OBJECT_VIEWS | INVOICING_OBJECT_VIEWS
MACHINE_VIEWS |= FATTURE_MACHINE_VIEWS
