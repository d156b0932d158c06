import uuid
from datetime import UTC, datetime
from decimal import Decimal

import factory

from accounts.choices import OrderStatus, Role
from accounts.models import Membership, SellerSettings, Tenant, User
from marketplaces.models import Marketplace, Order, OrderItem, StoreConnection

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"seller{n}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Brick Shop {n}")
    settings = factory.RelatedFactory("tests.factories.SellerSettingsFactory", factory_related_name="tenant")


class SellerSettingsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SellerSettings

    business_name = factory.LazyAttribute(lambda o: o.tenant.name)
    country = "IT"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    tenant = factory.SubFactory(TenantFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.OWNER


class StoreConnectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StoreConnection

    tenant = factory.SubFactory(TenantFactory)
    marketplace = Marketplace.BRICKOWL
    name = "My BrickOwl store"
    credentials = '{"api_key": "bo-test-key-0123456789"}'
    credentials_hint = "••••6789"


class BrickLinkStoreFactory(StoreConnectionFactory):
    marketplace = Marketplace.BRICKLINK
    name = "My BrickLink store"
    credentials = (
        '{"consumer_key": "CK7F3A9B2C4D5E6F70812", "consumer_secret": "CS91AB0C2D3E4F5061728394A5B6C7D8", '
        '"token_value": "TV5566AA7788BB99CC00DD11EE22FF33", "token_secret": "TS77CD8899AABBCCDDEEFF001122334455"}'
    )
    credentials_hint = "••••FF33"


class OrderFactory(factory.django.DjangoModelFactory):
    """A paid BrickLink-style order of the example basket (22.29 items + 6.90 shipping,
    docs/providers/bricklink.md §11)."""

    class Meta:
        model = Order

    store = factory.SubFactory(BrickLinkStoreFactory)
    tenant = factory.LazyAttribute(lambda o: o.store.tenant)
    marketplace = factory.LazyAttribute(lambda o: o.store.marketplace)
    marketplace_order_id = factory.Sequence(lambda n: str(24680000 + n))
    buyer_username = factory.Sequence(lambda n: f"buyer_{n}")
    buyer_name = "Anna Müller"
    buyer_email = "anna.mueller@example.de"
    ship_name = "Anna Müller"
    ship_address1 = "Hauptstraße 12"
    ship_postal_code = "10115"
    ship_city = "Berlin"
    ship_country = "DE"
    ordered_at = factory.LazyFunction(lambda: datetime(2024, 3, 14, 9, 21, 37, tzinfo=UTC))
    paid_at = factory.LazyAttribute(lambda o: o.ordered_at)
    raw_status = "PAID"
    status = OrderStatus.PAID
    currency = "EUR"
    items_subtotal = Decimal("22.2900")
    shipping = Decimal("6.9000")
    grand_total = Decimal("29.1900")
    amount_paid_to_seller = Decimal("29.1900")
    payload_hash = factory.LazyFunction(lambda: uuid.uuid4().hex)


class OrderItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderItem

    order = factory.SubFactory(OrderFactory)
    tenant = factory.LazyAttribute(lambda o: o.order.tenant)
    lot_id = factory.Sequence(lambda n: str(387654000 + n))
    item_no = "3001"
    item_type = "PART"
    name = "Brick 2 x 4"
    color = "Red"
    condition = "new"
    quantity = 20
    unit_price = Decimal("0.1500")
    line_total = Decimal("3.0000")
