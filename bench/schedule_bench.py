"""What dispatching every tenant's scheduled sync costs: the real beat task
(``invoicing.tasks.dispatch_syncs``, which locks the dispatcher's cursor with ``FOR UPDATE SKIP
LOCKED`` and reads the tenants whose ``SellerSettings.sync_phase`` fell since: invoicing/schedules.py)
run for a simulated hour of beat ticks, at 10,000 and 100,000 tenants, plus what one settings save
costs in SQL.

The clock is moved by hand (one tick every ``SYNC_DISPATCH_EVERY_SECONDS``), and the
per-tenant ``sync_tenant.delay`` is replaced at the task boundary by a counter, so the time measured
is the dispatcher's own: its SQL round trips (PostgreSQL on loopback, its server time included)
and its Python. Publishing the messages to the broker is not included.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_schedules \\
        .venv/bin/python bench/schedule_bench.py [--tenants 10000,100000] [--minutes 60]

Runs in a throw-away test database; prints a table and writes bench/results/schedule_bench.json.
"""

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brickinvoice.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_schedules")

# The sellers' choices (accounts.choices.SyncSchedule): hourly is the default; some choose daily,
# a few every 15 minutes, a few turn it off.
MIX = (("hourly", 0.70), ("daily", 0.20), ("15min", 0.05), ("off", 0.05))
START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
CHUNK = 5000


def _choices(count: int, rng: random.Random) -> list[str]:
    names = [name for name, _ in MIX]
    return rng.choices(names, weights=[share for _, share in MIX], k=count)


def populate(count: int, rng: random.Random) -> dict:
    """``count`` tenants and their settings (bulk_create), each phase drawn uniformly within one
    interval of its schedule, as ``schedules.sync_schedule_apply`` draws it at sign-up."""
    from accounts.models import SellerSettings, Tenant
    from invoicing.schedules import interval_of

    SellerSettings.objects.all().delete()
    Tenant.objects.all().delete()
    mix: dict[str, int] = {}
    started = time.perf_counter()
    for first in range(0, count, CHUNK):
        size = min(CHUNK, count - first)
        tenants = Tenant.objects.bulk_create([Tenant(name=f"Seller {first + i}") for i in range(size)])
        rows = []
        for tenant, choice in zip(tenants, _choices(size, rng), strict=True):
            every = interval_of(choice)
            phase = rng.randrange(int(every.total_seconds())) if every else 0
            rows.append(
                SellerSettings(tenant=tenant, business_name=tenant.name, sync_schedule=choice, sync_phase=phase)
            )
            mix[choice] = mix.get(choice, 0) + 1
        SellerSettings.objects.bulk_create(rows)
    _analyze()
    return {"mix": mix, "populate_s": round(time.perf_counter() - started, 1)}


def _analyze() -> None:
    """Fresh planner statistics, as autovacuum keeps them in production."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE accounts_tenant")
        cursor.execute("VACUUM ANALYZE accounts_sellersettings")


def simulate(minutes: int, every: float) -> dict:
    """One dispatcher tick every ``every`` seconds of a moved clock, for ``minutes`` minutes."""
    from unittest import mock

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from invoicing import tasks
    from invoicing.models import ScheduleCursor

    # The previous tick ran at START: the first tick starts the tenants due in the minute after it.
    ScheduleCursor.objects.update_or_create(pk=1, defaults={"dispatched_until": START})
    sent: list[int] = []
    ticks = []
    with (
        # A plain function, not a Mock: the stub should cost next to nothing per message.
        mock.patch.object(tasks.sync_tenant, "delay", new=lambda tenant_id, *a: sent.append(tenant_id)),
        mock.patch("django.utils.timezone.now") as now,
    ):
        for tick in range(int(minutes * 60 / every)):
            now.return_value = START + timedelta(seconds=tick * every)
            cpu, wall, sql_ms = time.process_time(), time.perf_counter(), [0.0]
            with CaptureQueriesContext(connection) as queries, connection.execute_wrapper(_timed(sql_ms)):
                dispatched = tasks.dispatch_syncs()
            ticks.append(
                {
                    "minute": int(tick * every // 60),
                    "wall_ms": (time.perf_counter() - wall) * 1000,
                    "cpu_ms": (time.process_time() - cpu) * 1000,
                    "sql_ms": sql_ms[0],
                    "sql": len(queries),
                    "dispatched": dispatched,
                }
            )
    return {"ticks": ticks, "messages": len(sent), "distinct_tenants": len(set(sent))}


def _timed(total: list[float]):
    """An execute wrapper adding each statement's round trip (PostgreSQL's time included) to total[0]."""

    def wrapper(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            total[0] += (time.perf_counter() - started) * 1000

    return wrapper


def per_minute(ticks: list[dict]) -> dict:
    from bench._harness import percentile

    minutes: dict[int, dict] = {}
    for tick in ticks:
        slot = minutes.setdefault(
            tick["minute"], {"wall_ms": 0.0, "cpu_ms": 0.0, "sql_ms": 0.0, "sql": 0, "dispatched": 0}
        )
        for key in slot:
            slot[key] += tick[key]
    wall = [m["wall_ms"] for m in minutes.values()]
    cpu = [m["cpu_ms"] for m in minutes.values()]
    dispatched = [m["dispatched"] for m in minutes.values()]
    return {
        "minutes": len(minutes),
        "ms_per_minute_mean": round(statistics.mean(wall), 2),
        "ms_per_minute_p95": round(percentile(wall, 95), 2),
        "ms_per_minute_max": round(max(wall), 2),
        "ms_per_minute_max_at_minute": wall.index(max(wall)),
        "cpu_ms_per_minute_mean": round(statistics.mean(cpu), 2),
        "sql_ms_per_minute_mean": round(statistics.mean(m["sql_ms"] for m in minutes.values()), 2),
        "sql_ms_per_minute_p95": round(percentile([m["sql_ms"] for m in minutes.values()], 95), 2),
        "sql_per_minute_mean": round(statistics.mean(m["sql"] for m in minutes.values()), 1),
        "dispatched_per_minute_mean": round(statistics.mean(dispatched), 1),
        "dispatched_per_minute_max": max(dispatched),
        "core_share_pct": round(statistics.mean(wall) / 60_000 * 100, 3),
    }


def settings_save_cost() -> dict:
    """The SQL of one settings save through the settings page (the owner changes hourly to daily),
    and of one that leaves the schedule alone: statements on the settings row and on beat's tables."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from accounts.choices import Role
    from accounts.models import Membership, SellerSettings, User

    instance = SellerSettings.objects.filter(sync_schedule="hourly").select_related("tenant").first()
    assert instance is not None
    user = User.objects.create_user(email=f"owner{instance.id}@example.com", password=None)
    Membership.objects.create(tenant=instance.tenant, user=user, role=Role.OWNER)
    client = Client()
    client.force_login(user)
    data = {
        "business_name": instance.business_name,
        "country": "IT",
        "margin_rule": "off",
        "invoiceable_statuses": ["paid"],
        "invoice_date_policy": "order_date",
        "sync_schedule": "daily",
    }
    result = {}
    for case, business_name in (("schedule_changed", instance.business_name), ("schedule_unchanged", "Renamed")):
        with CaptureQueriesContext(connection) as queries:
            response = client.post(reverse("accounts:settings"), {**data, "business_name": business_name})
        assert response.status_code == 302, response.status_code
        statements = [q["sql"] for q in queries.captured_queries]
        result[case] = {
            "statements": len(statements),
            "settings_updates": sum(s.startswith('UPDATE "accounts_sellersettings"') for s in statements),
            "settings_selects": sum(s.startswith('SELECT "accounts_sellersettings"') for s in statements),
            "beat_statements": sum("django_celery_beat" in s for s in statements),
        }
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", default="10000,100000", help="comma-separated tenant counts")
    parser.add_argument("--minutes", type=int, default=60, help="simulated minutes of beat ticks")
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()

    import django

    django.setup()
    import logging

    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_test_environment

    logging.disable(logging.INFO)
    setup_test_environment()
    every = float(settings.CELERY_BEAT_SCHEDULE["dispatch-syncs"]["schedule"])
    db_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    result: dict = {"tick_every_s": every, "minutes": args.minutes, "runs": []}
    try:
        for count in (int(n) for n in args.tenants.split(",")):
            run = {"tenants": count, **populate(count, random.Random(args.seed))}
            simulated = simulate(args.minutes, every)
            run.update(per_minute(simulated["ticks"]))
            run.update(messages=simulated["messages"], distinct_tenants=simulated["distinct_tenants"])
            run["settings_save"] = settings_save_cost()
            result["runs"].append(run)
            _print(run)
    finally:
        connection.creation.destroy_test_db(db_name, verbosity=0)
    out = ROOT / "bench" / "results" / "schedule_bench.json"
    out.write_text(json.dumps(result, indent=2))
    print(f"written {out.relative_to(ROOT)}")


def _print(run: dict) -> None:
    save = run["settings_save"]
    print(
        f"{run['tenants']:>7} tenants {run['mix']}: {run['minutes']} min, "
        f"{run['ms_per_minute_mean']:.2f} ms/min mean, p95 {run['ms_per_minute_p95']:.2f}, "
        f"max {run['ms_per_minute_max']:.2f} at minute {run['ms_per_minute_max_at_minute']} "
        f"(CPU {run['cpu_ms_per_minute_mean']:.2f}, SQL {run['sql_ms_per_minute_mean']:.2f}); "
        f"SQL/min {run['sql_per_minute_mean']}; dispatched {run['messages']} "
        f"({run['distinct_tenants']} tenants, {run['dispatched_per_minute_mean']}/min, "
        f"max {run['dispatched_per_minute_max']}); "
        f"settings save: {save}"
    )


if __name__ == "__main__":
    main()
