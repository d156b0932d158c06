"""The dashboard's set-up checklist (invoicing/setup.py, fatture/setup.py): each step's state in
the order things must happen, the first step not done highlighted, hidden once all are done."""

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import PreRegistration, SellerSettings
from fatture.models import FattureConnection, ProductMapping
from invoicing.models import SyncRun
from invoicing.setup import SetupState, setup_steps
from tests.factories import StoreConnectionFactory
from tests.factories_fatture import FattureConnectionFactory, PreRegistrationFactory
from tests.factories_invoicing import connected_seller, make_order

pytestmark = pytest.mark.django_db

KEYS = ["settings", "stores", "preregistration", "fatture", "company", "mapping", "first_sync"]


def _states(tenant) -> dict[str, str]:
    return {step.key: step.state for step in setup_steps(tenant=tenant).steps}


def _step(tenant, key):
    return next(step for step in setup_steps(tenant=tenant).steps if step.key == key)


def _ready_to_sync(tenant):
    """Everything but the first sync: VAT number, a store, connected and mapped."""
    SellerSettings.objects.filter(tenant=tenant).update(vat_number="IT01234567897")
    StoreConnectionFactory(tenant=tenant, marketplace="bricklink", name="BL")
    connected_seller(tenant, confirmed=False)


def test_a_new_tenant_sees_every_step_in_order_and_the_first_highlighted(tenant, owner):
    checklist = setup_steps(tenant=tenant)
    assert [step.key for step in checklist.steps] == KEYS
    assert _states(tenant) == {
        "settings": SetupState.TODO,
        "stores": SetupState.TODO,
        "preregistration": SetupState.TODO,
        "fatture": SetupState.BLOCKED,
        "company": SetupState.BLOCKED,
        "mapping": SetupState.BLOCKED,
        "first_sync": SetupState.BLOCKED,
    }
    assert checklist.current.key == "settings" and not checklist.complete
    assert "pre-registration" in _step(tenant, "fatture").reason


def test_settings_and_stores_are_done_with_a_vat_number_and_an_active_store(tenant, owner):
    SellerSettings.objects.filter(tenant=tenant).update(vat_number="IT01234567897")
    StoreConnectionFactory(tenant=tenant, marketplace="bricklink", name="BL")
    states = _states(tenant)
    assert states["settings"] == states["stores"] == SetupState.DONE
    assert setup_steps(tenant=tenant).current.key == "preregistration"


def test_a_store_needing_attention_is_still_to_do(tenant, owner):
    StoreConnectionFactory(tenant=tenant, marketplace="bricklink", status="needs_attention")
    StoreConnectionFactory(tenant=tenant, marketplace="brickowl", status="disconnected")
    step = _step(tenant, "stores")
    assert step.state == SetupState.TODO and "attention" in step.reason


@pytest.mark.parametrize(
    "status,state",
    [
        (PreRegistration.Status.REQUESTED, SetupState.WAITING),
        (PreRegistration.Status.REJECTED, SetupState.BLOCKED),
        (PreRegistration.Status.APPROVED, SetupState.DONE),
    ],
)
def test_the_pre_registration_of_a_members_e_mail_counts(tenant, owner, status, state):
    PreRegistrationFactory(email=owner.email, status=status)
    assert _step(tenant, "preregistration").state == state
    connect = _step(tenant, "fatture")
    assert connect.state == (SetupState.TODO if state == SetupState.DONE else SetupState.BLOCKED)


def test_another_tenants_pre_registration_does_not_count(tenant, owner, outsider):
    PreRegistrationFactory(email=outsider.email, status=PreRegistration.Status.APPROVED)
    assert _step(tenant, "preregistration").state == SetupState.TODO


def test_an_approved_request_made_for_the_tenant_with_another_e_mail_counts(tenant, owner):
    PreRegistrationFactory(email="login@fatture.example", tenant=tenant, status=PreRegistration.Status.APPROVED)
    PreRegistrationFactory(email="old@fatture.example", tenant=tenant, status=PreRegistration.Status.REJECTED)
    assert _step(tenant, "preregistration").state == SetupState.DONE


def test_a_connection_needing_reconnect_asks_to_reconnect(tenant, owner):
    PreRegistrationFactory(email=owner.email)
    FattureConnectionFactory(tenant=tenant, status=FattureConnection.Status.NEEDS_RECONNECT)
    step = _step(tenant, "fatture")
    assert step.state == SetupState.TODO and step.url == reverse("fatture:connect")
    assert _step(tenant, "company").state == SetupState.BLOCKED


def test_connected_without_a_company_links_to_the_company_page(tenant, owner):
    connection = FattureConnectionFactory(tenant=tenant, company_id=None, company_name="")
    states = _states(tenant)
    assert states["preregistration"] == states["fatture"] == SetupState.DONE  # connecting checked it
    company = _step(tenant, "company")
    assert company.state == SetupState.TODO
    assert company.url == reverse("fatture:company", kwargs={"public_id": connection.public_id})
    assert _step(tenant, "mapping").state == SetupState.BLOCKED


def test_a_company_without_products_mapped_leads_to_the_mapping_page(tenant, owner):
    FattureConnectionFactory(tenant=tenant)
    step = _step(tenant, "mapping")
    assert step.state == SetupState.TODO and step.url == reverse("fatture:mapping")
    assert "Standard goods — domestic" in step.reason
    assert _step(tenant, "first_sync").state == SetupState.BLOCKED


def test_a_product_with_the_wrong_vat_keeps_the_mapping_to_do_until_accepted(tenant, owner):
    _ready_to_sync(tenant)
    ProductMapping.objects.filter(tenant=tenant, slot="shipping").update(vat_value=10)
    step = _step(tenant, "mapping")
    assert step.state == SetupState.TODO and "Shipping" in step.reason
    ProductMapping.objects.filter(tenant=tenant, slot="shipping").update(mismatch_accepted=True)
    assert _step(tenant, "mapping").state == SetupState.DONE


def test_ready_to_sync_offers_sync_now_as_a_form(tenant, owner):
    _ready_to_sync(tenant)
    checklist = setup_steps(tenant=tenant)
    step = checklist.current
    assert step.key == "first_sync" and step.state == SetupState.TODO
    assert step.post and step.url == reverse("invoicing:sync_now")


def test_orders_waiting_for_the_dry_run_lead_to_check_and_start(tenant, owner):
    _ready_to_sync(tenant)
    make_order(tenant)
    step = _step(tenant, "first_sync")
    assert step.state == SetupState.TODO and not step.post and step.url == reverse("invoicing:sync_confirm")


def test_a_first_sync_that_found_nothing_waits_for_orders(tenant, owner):
    _ready_to_sync(tenant)
    SyncRun.objects.create(tenant=tenant, trigger=SyncRun.Trigger.MANUAL)
    assert _step(tenant, "first_sync").state == SetupState.WAITING


def test_a_confirmed_dry_run_completes_the_set_up(tenant, owner):
    _ready_to_sync(tenant)
    SellerSettings.objects.filter(tenant=tenant).update(invoicing_confirmed_at=timezone.now())
    checklist = setup_steps(tenant=tenant)
    assert checklist.complete and checklist.current is None


def test_the_checklist_costs_a_few_queries(tenant, owner, django_assert_max_num_queries):
    _ready_to_sync(tenant)
    with django_assert_max_num_queries(12):
        setup_steps(tenant=tenant)


def test_the_dashboard_shows_the_checklist_with_the_next_button(owner_client, tenant):
    html = owner_client.get(reverse("invoicing:dashboard")).content.decode()
    assert 'data-testid="setup-checklist"' in html
    assert 'data-testid="setup-settings" data-state="todo" aria-current="step"' in html
    assert f'href="{reverse("invoicing:tax_settings")}" data-testid="setup-next-settings"' in html
    assert 'data-testid="setup-next-fatture"' not in html  # blocked: no button
    assert 'data-testid="sync-now" disabled' in html


def test_the_dashboard_hides_the_checklist_once_set_up(owner_client, tenant):
    _ready_to_sync(tenant)
    SellerSettings.objects.filter(tenant=tenant).update(invoicing_confirmed_at=timezone.now())
    html = owner_client.get(reverse("invoicing:dashboard")).content.decode()
    assert 'data-testid="setup-checklist"' not in html


def test_the_dashboard_with_the_checklist_stays_within_its_query_budget(
    owner_client, tenant, django_assert_max_num_queries
):
    from fatture.health import note_answered

    _ready_to_sync(tenant)
    note_answered(tenant.fatture_connection.pk)  # checked recently: no background check (eager here)
    make_order(tenant)
    with django_assert_max_num_queries(25):
        html = owner_client.get(reverse("invoicing:dashboard")).content.decode()
    assert 'data-testid="setup-first_sync" data-state="todo" aria-current="step"' in html
    assert f'href="{reverse("invoicing:sync_confirm")}" data-testid="setup-next-first_sync"' in html
