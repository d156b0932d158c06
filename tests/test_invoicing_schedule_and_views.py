"""Schedules follow the seller's setting; Sync now, progress, retry, preview and the dashboard."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
import responses
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import SellerSettings
from accounts.services import settings_for, tenant_create_for_user
from invoicing import schedules
from invoicing.models import Invoice, ScheduleCursor, SyncRun
from tests.factories import UserFactory
from tests.factories_invoicing import connected_seller, make_order

pytestmark = pytest.mark.django_db


def _row(tenant):
    return SellerSettings.objects.get(tenant=tenant)


def _next(tenant):
    row = _row(tenant)
    return schedules.next_sync_at(choice=row.sync_schedule, phase=row.sync_phase)


def test_signup_plans_the_first_hourly_sync_within_the_hour(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        tenant = tenant_create_for_user(user=UserFactory(), business_name="Shop")
    assert timezone.now() < _next(tenant) <= timezone.now() + timedelta(hours=1)


def test_new_tenants_spread_over_the_whole_interval(django_capture_on_commit_callbacks):
    """The default phase is valid everywhere but falls in the first 15 minutes; sign-up spreads it."""
    with django_capture_on_commit_callbacks(execute=True):
        tenants = [tenant_create_for_user(user=UserFactory(), business_name=f"Shop {i}") for i in range(40)]
    assert max(_row(tenant).sync_phase for tenant in tenants) >= 900


@pytest.mark.parametrize(
    "choice,interval", [("15min", timedelta(minutes=15)), ("daily", timedelta(days=1)), ("off", None)]
)
def test_changing_the_setting_moves_or_clears_the_next_sync(
    owner_client, tenant, choice, interval, django_capture_on_commit_callbacks
):
    schedules.sync_schedule_apply(tenant=tenant)
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            reverse("accounts:settings"),
            {
                "business_name": "x",
                "country": "IT",
                "margin_rule": "off",
                "invoiceable_statuses": ["paid"],
                "invoice_date_policy": "order_date",
                "sync_schedule": choice,
            },
        )
    assert response.status_code == 302
    if interval is None:
        assert _next(tenant) is None
    else:
        assert _row(tenant).sync_phase < interval.total_seconds()
        assert timezone.now() < _next(tenant) <= timezone.now() + interval


SETTINGS_FORM = {
    "business_name": "x",
    "country": "IT",
    "margin_rule": "off",
    "invoiceable_statuses": ["paid"],
    "invoice_date_policy": "order_date",
}


def _save_settings(client, capture, **changes):
    """POST the settings page; the statements it ran on the settings row and on beat's tables."""
    with CaptureQueriesContext(connection) as queries, capture(execute=True):
        response = client.post(reverse("accounts:settings"), {**SETTINGS_FORM, **changes})
    assert response.status_code == 302
    return [q["sql"] for q in queries if "accounts_sellersettings" in q["sql"] or "django_celery_beat" in q["sql"]]


def test_saving_a_new_schedule_is_one_update_of_the_settings_row(
    owner_client, tenant, django_capture_on_commit_callbacks
):
    """The new phase goes in the same UPDATE, and no beat entry to reload: the issue's 'one row update'."""
    SellerSettings.objects.filter(tenant=tenant).update(sync_schedule="15min", sync_phase=899)
    statements = _save_settings(owner_client, django_capture_on_commit_callbacks, sync_schedule="daily")
    writes = [sql for sql in statements if not sql.startswith("SELECT")]
    assert len(writes) == 1 and writes[0].startswith('UPDATE "accounts_sellersettings"'), statements
    assert "sync_phase" in writes[0] and not any("django_celery_beat" in sql for sql in statements)
    assert timezone.now() < _next(tenant) <= timezone.now() + timedelta(days=1)


def test_a_save_that_keeps_the_schedule_keeps_the_tenants_place(
    owner_client, tenant, django_capture_on_commit_callbacks
):
    SellerSettings.objects.filter(tenant=tenant).update(sync_schedule="hourly", sync_phase=1234)
    statements = _save_settings(
        owner_client, django_capture_on_commit_callbacks, business_name="Renamed", sync_schedule="hourly"
    )
    writes = [sql for sql in statements if not sql.startswith("SELECT")]
    assert len(writes) == 1 and "sync_phase" not in writes[0]
    assert _row(tenant).sync_phase == 1234


def test_applying_a_schedule_is_one_row_update(tenant, django_assert_num_queries):
    settings_for(tenant)
    with django_assert_num_queries(2):  # read the settings, write the phase
        schedules.sync_schedule_apply(tenant=tenant)


def test_a_phase_outside_its_interval_is_refused_by_the_database(tenant):
    """Such a tenant would never be due: the row is refused rather than silently never synced."""
    from django.db import IntegrityError, transaction

    settings_for(tenant)
    with pytest.raises(IntegrityError), transaction.atomic():
        SellerSettings.objects.filter(tenant=tenant).update(sync_schedule="15min", sync_phase=900)


def test_next_sync_is_the_phase_in_this_or_the_next_interval():
    at = datetime(2026, 11, 30, 10, 20, 0, tzinfo=UTC)
    assert schedules.next_sync_at(choice="hourly", phase=25 * 60, now=at) == at.replace(minute=25)
    assert schedules.next_sync_at(choice="hourly", phase=20 * 60, now=at) == at.replace(hour=11)
    assert schedules.next_sync_at(choice="daily", phase=3600, now=at) == datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    assert schedules.next_sync_at(choice="off", phase=0, now=at) is None


HOUR = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def _cursor_at(moment):
    ScheduleCursor.objects.update_or_create(pk=1, defaults={"dispatched_until": moment})


def _tenants_with(*schedule_phases):
    from tests.factories import TenantFactory

    tenants = []
    for choice, phase in schedule_phases:
        tenant = TenantFactory()
        settings_for(tenant)
        SellerSettings.objects.filter(tenant=tenant).update(sync_schedule=choice, sync_phase=phase)
        tenants.append(tenant.id)
    return tenants


def test_an_hour_of_ticks_starts_each_tenant_as_often_as_its_schedule_says():
    """Ticks every minute (and one late by 90 s): an hourly tenant once, a 15-minute one four times,
    a daily one only if its phase falls in this hour, off never; nobody twice at one due time."""
    quarter, hourly, daily_now, daily_later, off = _tenants_with(
        ("15min", 7), ("hourly", 59 * 60 + 59), ("daily", 9 * 3600 + 600), ("daily", 15 * 3600), ("off", 5)
    )
    _cursor_at(HOUR)
    started = []
    seconds = [60 * minute for minute in range(1, 61) if minute != 30] + [30 * 60 + 90]
    for second in sorted(seconds):
        started += schedules.syncs_claim_due(now=HOUR + timedelta(seconds=second))
    counts = {tenant: started.count(tenant) for tenant in (quarter, hourly, daily_now, daily_later, off)}
    assert counts == {quarter: 4, hourly: 1, daily_now: 1, daily_later: 0, off: 0}


def test_a_tick_in_the_same_second_or_behind_the_cursor_starts_nothing():
    (tenant,) = _tenants_with(("hourly", 30))
    _cursor_at(HOUR)
    assert schedules.syncs_claim_due(now=HOUR + timedelta(seconds=60)) == [tenant]
    assert schedules.syncs_claim_due(now=HOUR + timedelta(seconds=60)) == []
    assert schedules.syncs_claim_due(now=HOUR + timedelta(seconds=10)) == []  # the clock stepped back


def test_a_window_across_the_end_of_an_interval_wraps():
    late, early, middle = _tenants_with(("hourly", 3590), ("hourly", 20), ("hourly", 1800))
    _cursor_at(HOUR - timedelta(seconds=30))
    assert sorted(schedules.syncs_claim_due(now=HOUR + timedelta(seconds=30))) == sorted([late, early])
    assert middle not in schedules.syncs_claim_due(now=HOUR + timedelta(minutes=29))


def test_after_an_outage_every_tenant_due_meanwhile_starts_once():
    tenants = _tenants_with(("15min", 100), ("hourly", 200), ("daily", 300))
    _cursor_at(HOUR)
    assert sorted(schedules.syncs_claim_due(now=HOUR + timedelta(days=3))) == sorted(tenants)


def test_the_first_tick_on_a_fresh_database_looks_one_tick_back():
    (tenant,) = _tenants_with(("hourly", 30))
    ScheduleCursor.objects.all().delete()
    assert schedules.syncs_claim_due(now=HOUR + timedelta(seconds=45)) == [tenant]
    assert ScheduleCursor.objects.get().dispatched_until == HOUR + timedelta(seconds=45)


def test_a_tick_is_a_few_statements_whatever_the_number_due(django_assert_num_queries):
    _tenants_with(*[("hourly", 1 + 9 * i) for i in range(30)])
    _cursor_at(HOUR)
    # savepoint, lock the cursor, read the due tenants, move the cursor, release
    with django_assert_num_queries(5):
        assert len(schedules.syncs_claim_due(now=HOUR + timedelta(minutes=5))) == 30


@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_at_once_never_start_a_tenant_twice():
    """SKIP LOCKED on the cursor: a dispatcher that finds it held skips the tick; the one holding it
    starts everyone due, and a later tick does not start them again."""
    import threading

    from django.db import connection, transaction

    tenants = _tenants_with(*[("hourly", 10 + i) for i in range(6)])
    _cursor_at(HOUR)
    now = HOUR + timedelta(minutes=1)
    held = threading.Event()
    release = threading.Event()
    results: dict[str, list[int]] = {}

    def first():
        with transaction.atomic():
            list(ScheduleCursor.objects.select_for_update())  # a slow first dispatcher
            held.set()
            release.wait(5)
        connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    held.wait(5)
    results["while_held"] = schedules.syncs_claim_due(now=now)
    release.set()
    thread.join()
    results["after"] = schedules.syncs_claim_due(now=now)
    results["again"] = schedules.syncs_claim_due(now=now + timedelta(seconds=30))
    assert results == {"while_held": [], "after": results["after"], "again": []}
    assert sorted(results["after"]) == sorted(tenants)


def test_sync_now_with_nothing_connected_is_refused_with_the_reason(owner_client, tenant):
    response = owner_client.post(reverse("invoicing:sync_now"), follow=True)
    assert SyncRun.objects.filter(tenant=tenant).count() == 0
    assert "connect your BrickLink or BrickOwl store first" in response.content.decode()


def test_dashboard_disables_sync_now_until_invoicing_can_work(owner_client, tenant):
    html = owner_client.get(reverse("invoicing:dashboard")).content.decode()
    assert 'data-testid="sync-blocker"' in html and "disabled" in html


def test_sync_now_starts_one_run_and_not_two(owner_client, tenant, django_capture_on_commit_callbacks):
    from django.conf import settings as django_settings

    from tests.factories import StoreConnectionFactory

    connected_seller(tenant)
    StoreConnectionFactory(
        tenant=tenant,
        marketplace="bricklink",
        credentials='{"consumer_key": "ck", "consumer_secret": "cs", "token_value": "tv", "token_secret": "ts"}',
    )
    with responses.RequestsMock() as rsps, django_capture_on_commit_callbacks(execute=True):
        rsps.add(
            responses.GET,
            f"{django_settings.BRICKLINK_API_URL}/orders",
            json={"meta": {"description": "OK", "message": "OK", "code": 200}, "data": []},
        )
        owner_client.post(reverse("invoicing:sync_now"))
    run = SyncRun.objects.get(tenant=tenant)
    assert run.trigger == "manual" and run.state == "finished"
    SyncRun.objects.filter(id=run.id).update(state="running")
    owner_client.post(reverse("invoicing:sync_now"))
    assert SyncRun.objects.filter(tenant=tenant).count() == 1


def test_a_backlog_in_line_never_blocks_the_next_sync_nor_fails_its_run(tenant):
    """A first sync of thousands of orders is issued over days, as the quota allows: its run ends
    after STALE_AFTER with what it did and how many still wait, and the next sync starts (and takes
    over the waiting invoices) instead of being refused until the run is failed for taking long."""
    from invoicing import queueing, syncruns
    from tests.factories import StoreConnectionFactory

    connected_seller(tenant)
    store = StoreConnectionFactory(tenant=tenant, marketplace="bricklink")
    orders = [make_order(tenant, store=store, username=f"in-line-{i}") for i in range(3)]
    run = syncruns.sync_run_start(tenant=tenant, trigger=SyncRun.Trigger.SCHEDULE)
    queueing.invoices_queue_eligible(tenant=tenant, sync_run=run)
    syncruns.sync_run_store_done(run=run, store=store, orders_imported=3, api_calls=1)
    Invoice.objects.filter(order=orders[0]).update(state=Invoice.State.ISSUED)
    syncruns.sync_run_maybe_finish(run_id=run.id)
    assert SyncRun.objects.get(id=run.id).state == SyncRun.State.RUNNING  # two still in line
    assert syncruns.sync_run_start(tenant=tenant, trigger=SyncRun.Trigger.SCHEDULE) is None  # not yet stale

    SyncRun.objects.filter(id=run.id).update(started_at=timezone.now() - syncruns.STALE_AFTER - timedelta(minutes=1))
    new = syncruns.sync_run_start(tenant=tenant, trigger=SyncRun.Trigger.SCHEDULE)
    assert new is not None
    old = SyncRun.objects.get(id=run.id)
    assert old.state == SyncRun.State.FINISHED and old.finished_at is not None
    assert old.invoices_created == 1 and old.invoices_queued == 3
    assert "2 invoices are still waiting their turn" in old.message
    queueing.invoices_queue_eligible(tenant=tenant, sync_run=new)
    assert set(Invoice.objects.filter(state=Invoice.State.PENDING).values_list("sync_run_id", flat=True)) == {new.id}


def test_an_import_that_never_ended_stops_its_run_after_two_hours(tenant):
    from invoicing import syncruns
    from tests.factories import StoreConnectionFactory

    StoreConnectionFactory(tenant=tenant, marketplace="bricklink")
    run = syncruns.sync_run_start(tenant=tenant, trigger=SyncRun.Trigger.SCHEDULE)
    assert run.stores_total == 1 and run.stores_done == 0
    SyncRun.objects.filter(id=run.id).update(started_at=timezone.now() - syncruns.STALE_AFTER - timedelta(minutes=1))
    assert syncruns.sync_run_start(tenant=tenant, trigger=SyncRun.Trigger.SCHEDULE) is not None
    old = SyncRun.objects.get(id=run.id)
    assert old.state == SyncRun.State.FAILED and old.message == "Stopped: took longer than two hours."


def test_progress_partial_polls_while_running(owner_client, tenant):
    run = SyncRun.objects.create(
        tenant=tenant, trigger="manual", stores_total=2, stores_done=1, invoices_queued=4, invoices_created=2
    )
    html = owner_client.get(reverse("invoicing:sync_progress", args=[run.public_id])).content.decode()
    assert 'hx-trigger="every 2s"' in html and "Stores 1/2" in html


def test_dashboard_shows_failures_with_hint_and_retry(owner_client, tenant, django_assert_max_num_queries):
    from fatture.health import note_answered

    note_answered(connected_seller(tenant).pk)  # checked recently: no background check (eager here)
    for _ in range(3):
        invoice = Invoice.objects.create(
            tenant=tenant,
            order=make_order(tenant),
            state="needs_attention",
            error_code="vat_rate_mismatch",
            error_message="VAT rate mismatch: …",
            error_hint="Pick a product with the expected VAT rate",
        )
    with django_assert_max_num_queries(25):
        html = owner_client.get(reverse("invoicing:dashboard")).content.decode()
    assert "VAT rate mismatch" in html and "Pick a product with the expected VAT rate" in html
    assert reverse("invoicing:invoice_retry", args=[invoice.public_id]) in html
    assert "Retry all failed" in html


def test_preview_shows_lines_without_any_call(owner_client, tenant):
    connected_seller(tenant)
    order = make_order(
        tenant, items=(("new", 2, "10.0000"),), shipping=D("4.9000"), ship_country="DE", ship_postal_code="10115"
    )
    with responses.RequestsMock():
        html = owner_client.get(reverse("invoicing:order_preview", args=[order.public_id])).content.decode()
    assert "€14.90" in html and "Standard goods — EU" in html and "Invoice this order now" in html
    assert not Invoice.objects.filter(order=order).exists()


def test_preview_explains_an_unpaid_order(owner_client, tenant):
    connected_seller(tenant)
    order = make_order(tenant, status="awaiting_payment")
    html = owner_client.get(reverse("invoicing:order_preview", args=[order.public_id])).content.decode()
    assert "not invoiced automatically" in html and "Invoice this order now" not in html


def test_member_sees_dashboard_but_outsider_sees_only_own_failures(member_client, tenant, other_tenant, client):
    connected_seller(tenant)
    Invoice.objects.create(
        tenant=tenant,
        order=make_order(tenant, marketplace_order_id="SECRET-ORDER-1"),
        state="needs_attention",
        error_code="internal_error",
    )
    assert "SECRET-ORDER-1" in member_client.get(reverse("invoicing:dashboard")).content.decode()
    from tests.factories import MembershipFactory

    stranger = MembershipFactory(tenant=other_tenant).user
    client.force_login(stranger)
    assert "SECRET-ORDER-1" not in client.get(reverse("invoicing:dashboard")).content.decode()


def test_orders_page_links_each_invoice_number_without_extra_queries(
    owner_client, tenant, django_assert_max_num_queries
):
    connected_seller(tenant)
    for i in range(3):
        Invoice.objects.create(
            tenant=tenant,
            order=make_order(tenant),
            state="issued",
            number=str(i + 1),
            numeration="/A",
            fatture_id=100 + i,
            view_url=f"https://fic.example/view/{100 + i}",
        )
    with django_assert_max_num_queries(20) as few:
        owner_client.get("/home/orders")
    for i in range(3, 30):
        Invoice.objects.create(
            tenant=tenant,
            order=make_order(tenant),
            state="issued",
            number=str(i + 1),
            fatture_id=100 + i,
            view_url=f"https://fic.example/view/{100 + i}",
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = owner_client.get("/home/orders").content.decode()
    assert 'href="https://fic.example/view/100"' in html and ">1/A</a>" in html


def test_dashboard_counts_invoices_by_state(owner_client, tenant):
    connected_seller(tenant)
    for state in ["issued", "issued", "needs_attention"]:
        Invoice.objects.create(tenant=tenant, order=make_order(tenant), state=state)
    counts = {label: n for label, n, _ in owner_client.get(reverse("invoicing:dashboard")).context["counts"]}
    assert counts["Invoiced"] == 2 and counts["Needs your attention"] == 1 and counts["Waiting"] == 0


def test_progress_poll_reloads_the_dashboard_when_the_run_ends(owner_client, tenant):
    run = SyncRun.objects.create(tenant=tenant, trigger="manual", state="finished")
    url = reverse("invoicing:sync_progress", args=[run.public_id])
    assert owner_client.get(url, headers={"HX-Request": "true"})["HX-Refresh"] == "true"
    run.state = "running"
    run.save()
    assert "HX-Refresh" not in owner_client.get(url, headers={"HX-Request": "true"})


def test_admin_lists_invoices_and_retries_them(client, tenant):
    from accounts.models import User

    connected_seller(tenant)
    invoice = Invoice.objects.create(
        tenant=tenant, order=make_order(tenant), state="needs_attention", error_code="internal_error"
    )
    client.force_login(User.objects.create_superuser("ops@example.com", "ops-password-123456"))
    assert client.get("/admin/invoicing/invoice/").status_code == 200
    assert client.get(f"/admin/invoicing/invoice/{invoice.pk}/change/").status_code == 200
    assert client.get("/admin/invoicing/syncrun/").status_code == 200
    with responses.RequestsMock(assert_all_requests_are_fired=False):
        client.post("/admin/invoicing/invoice/", {"action": "retry", "_selected_action": [invoice.pk]})
    assert Invoice.objects.get(pk=invoice.pk).state != "needs_attention"


def test_operators_see_how_far_scheduled_syncs_were_started_and_cannot_edit_it(admin_client):
    _cursor_at(HOUR)
    changelist = admin_client.get(reverse("admin:invoicing_schedulecursor_changelist"))
    html = changelist.content.decode()
    assert changelist.status_code == 200 and "30 Nov 2026, 10:00" in html  # 09:00 UTC, shown in Rome's time
    assert admin_client.get(reverse("admin:invoicing_schedulecursor_add")).status_code == 403
