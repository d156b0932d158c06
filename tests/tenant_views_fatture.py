"""fatture views for the isolation tests (see tests/tenant_views.py for the format)."""


def _connection(tenant):
    from fatture.models import FattureConnection
    from tests.factories_fatture import FattureConnectionFactory

    # Needs reconnecting: the pages render without calling Fatture (no network in tests).
    connection = FattureConnectionFactory(tenant=tenant, status=FattureConnection.Status.NEEDS_RECONNECT)
    return {"public_id": connection.public_id}


FATTURE_TENANT_VIEWS: set[str] = {
    "fatture:vat_type_create",
    "fatture:product_create",
    "fatture:connect",
    "fatture:start",
    "fatture:preregistration",
    "fatture:callback",
    "fatture:mapping",
    "fatture:products_refresh",
}
FATTURE_OBJECT_VIEWS: dict[str, tuple] = {
    "fatture:company": (_connection, ("get", "post")),
    "fatture:disconnect": (_connection, ("get", "post")),
}
# Views under /home/ that no session reaches: the provider authenticates itself (a signed token) and
# names the company, so they are checked in tests/test_fatture_webhooks.py instead.
FATTURE_MACHINE_VIEWS: set[str] = {"fatture:webhook"}
