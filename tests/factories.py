import factory

from accounts.choices import Role
from accounts.models import Membership, SellerSettings, Tenant, User
from marketplaces.models import Marketplace, StoreConnection

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
