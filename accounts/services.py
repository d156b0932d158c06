"""Account services: creating a seller's tenant, updating seller settings."""

from django.db import transaction

from .choices import Role
from .models import Membership, SellerSettings, Tenant, User


@transaction.atomic
def tenant_create_for_user(*, user: User, business_name: str, country: str = "IT") -> Tenant:
    """A new seller business owned by ``user``, with default settings."""
    name = business_name.strip() or user.email.split("@")[0]
    tenant = Tenant.objects.create(name=name)
    Membership.objects.create(tenant=tenant, user=user, role=Role.OWNER)
    SellerSettings.objects.create(tenant=tenant, business_name=name, country=country)
    return tenant


def settings_for(tenant: Tenant) -> SellerSettings:
    """The tenant's settings, created with defaults if an admin-made tenant lacks them."""
    seller_settings, _ = SellerSettings.objects.get_or_create(tenant=tenant, defaults={"business_name": tenant.name})
    return seller_settings
