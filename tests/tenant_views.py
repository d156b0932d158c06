"""The registry of every seller view under /home/, for the isolation tests.

Adding a view under /home/ without listing it here fails ``test_every_home_view_is_registered``.

- ``TENANT_VIEWS``: views that take no object id; they reach data only through ``request.tenant``.
- ``OBJECT_VIEWS``: views whose URL names a tenant-owned object. Each entry maps the URL name to
  ``(make_kwargs, methods)``: ``make_kwargs(tenant)`` creates an object in ``tenant`` and returns
  the URL kwargs; ``methods`` are the HTTP methods the view accepts.
"""

from tests.factories import StoreConnectionFactory

TENANT_VIEWS: set[str] = {
    "accounts:settings",
    "invoicing:dashboard",
}


def _store(tenant):
    return {"public_id": StoreConnectionFactory(tenant=tenant).public_id}


OBJECT_VIEWS: dict[str, tuple] = {}
