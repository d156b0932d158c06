"""marketplaces views for the isolation tests (see tests/tenant_views.py for the format)."""


def _store(tenant):
    from tests.factories import StoreConnectionFactory

    return {"public_id": StoreConnectionFactory(tenant=tenant).public_id}


def _order(tenant):
    from tests.factories import OrderFactory, StoreConnectionFactory

    return {"public_id": OrderFactory(store=StoreConnectionFactory(tenant=tenant)).public_id}


MARKETPLACES_TENANT_VIEWS: set[str] = {
    "marketplaces:stores",
    "marketplaces:connect_bricklink",
    "marketplaces:connect_brickowl",
    "marketplaces:orders",
}
MARKETPLACES_OBJECT_VIEWS: dict[str, tuple] = {
    "marketplaces:store_disconnect": (_store, ("GET", "POST")),
    "marketplaces:store_import": (_store, ("POST",)),
    "marketplaces:order_detail": (_order, ("GET",)),
}
