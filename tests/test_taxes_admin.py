"""The tax reference data in Django admin: listed for staff, never editable (VIES checks are
evidence; rates are what the ECB published)."""

from datetime import date
from decimal import Decimal as D

import pytest
from django.urls import reverse

from taxes.models import EcbPublication, EcbRate, VatNumberCheck

from .factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(email="admin@example.com", is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize("model", ["ecbpublication", "ecbrate", "vatnumbercheck"])
def test_lists_render_and_nothing_can_be_added(admin_client, model):
    EcbPublication.objects.create(day=date(2026, 11, 27), source="daily")
    EcbRate.objects.create(currency="USD", day=date(2026, 11, 27), rate=D("1.1172"))
    VatNumberCheck.objects.create(country="DE", number="136695976", result="valid")
    assert admin_client.get(reverse(f"admin:taxes_{model}_changelist")).status_code == 200
    assert admin_client.get(reverse(f"admin:taxes_{model}_add")).status_code == 403


def test_a_vies_check_cannot_be_changed(admin_client):
    check = VatNumberCheck.objects.create(country="DE", number="136695976", result="valid")
    url = reverse("admin:taxes_vatnumbercheck_change", args=[check.id])
    admin_client.post(url, {"result": "invalid"})
    check.refresh_from_db()
    assert check.result == "valid"
