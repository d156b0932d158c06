"""Every seller view: anonymous users go to login, users without a tenant and outsiders get 404."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.factories import UserFactory
from tests.tenant_views import MACHINE_VIEWS, OBJECT_VIEWS, TENANT_VIEWS


def _home_url_names():
    names = set()

    def walk(patterns, prefix, namespace):
        for p in patterns:
            route = prefix + str(p.pattern)
            if isinstance(p, URLResolver):
                ns = ":".join(filter(None, [namespace, p.namespace]))
                walk(p.url_patterns, route, ns)
            elif isinstance(p, URLPattern) and route.startswith("home/") and p.name:
                names.add(f"{namespace}:{p.name}" if namespace else p.name)

    walk(get_resolver().url_patterns, "", "")
    return names


def test_every_home_view_is_registered():
    unregistered = _home_url_names() - TENANT_VIEWS - set(OBJECT_VIEWS) - MACHINE_VIEWS
    assert not unregistered, f"List these views in tests/tenant_views.py: {sorted(unregistered)}"


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(TENANT_VIEWS))
def test_anonymous_is_sent_to_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(TENANT_VIEWS))
def test_user_without_tenant_gets_404(client, name):
    client.force_login(UserFactory())
    assert client.get(reverse(name)).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(OBJECT_VIEWS))
def test_outsider_gets_404_for_another_tenants_object(outsider_client, tenant, name):
    make_kwargs, methods = OBJECT_VIEWS[name]
    url = reverse(name, kwargs=make_kwargs(tenant))
    for method in methods:
        response = getattr(outsider_client, method.lower())(url)
        assert response.status_code == 404, f"{method} {name} answered {response.status_code}"


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(OBJECT_VIEWS))
def test_owner_reaches_own_object(owner_client, tenant, name):
    make_kwargs, methods = OBJECT_VIEWS[name]
    url = reverse(name, kwargs=make_kwargs(tenant))
    response = getattr(owner_client, methods[0].lower())(url)
    assert response.status_code in (200, 302), f"{methods[0]} {name} answered {response.status_code}"
