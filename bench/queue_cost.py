"""What queueing a large backlog costs, and what a backlog costs every dispatcher pass.

A whale's first sync turns its eligible orders into invoice rows (``invoices_queue_eligible``)
on the same cores as every other seller's first invoice (docs/benchmarks.md, the whale). This
measures that sync alone, in a throw-away database seeded like ``bench/whale_bench.py``: one
seller with ``--whale`` paid orders and ``--tenants`` - 1 small ones with a few orders each.

- queueing: wall time, our CPU, the PostgreSQL backend's CPU (read from /proc: the server runs on
  this machine) and SQL statements, for the whale's backlog, ``--repeat`` times (the rows are
  deleted in between);
- a dispatcher pass (``due_heads`` and ``in_flight``, the statements every pass runs, and the
  window look-up ``due_heads`` used before, as a baseline) with the whale's rows queued, without
  them, and with every small seller's invoice in a company of its own (many companies, little
  work each). Passes are compared by wall time: the backend's CPU is read in 10 ms ticks.

    .venv/bin/python bench/queue_cost.py [--whale 20000] [--tenants 200]

with ``DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_queue_cost`` (a name starting with
``bench_``: the script creates that database and drops it at the end).

Prints a table and writes bench/results/queue_cost.json.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brickinvoice.settings")
# The seeding (bench/_pipeline.py) writes the sandbox Fatture's companies too.
os.environ.setdefault("SANDBOX", "true")
os.environ.setdefault("SANDBOX_ALLOW_WITHOUT_DEBUG", "true")


def backend_cpu(connection) -> float:
    """CPU seconds used so far by this connection's PostgreSQL backend process."""
    from bench._scaled import tree_cpu

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return tree_cpu(cursor.fetchone()[0])


def measure(fn, connection) -> dict:
    statements = []

    def count(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    pg, cpu, wall = backend_cpu(connection), time.process_time(), time.perf_counter()
    with connection.execute_wrapper(count):
        result = fn()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    pg = backend_cpu(connection) - pg
    return {"wall_s": wall, "cpu_s": cpu, "pg_cpu_s": pg, "sql": len(statements), "result": result}


# The dispatcher's look-up before this benchmark (until da24c30): a window over every open row,
# kept here as the baseline it is measured against.
WINDOW_SQL = """
SELECT id, company_id, state, queued_at FROM (
    SELECT d.id, d.company_id, d.state, d.queued_at, d.claimed_at, d.next_attempt_at,
           ROW_NUMBER() OVER (PARTITION BY d.company_id ORDER BY d.sort_at, d.id) AS rank
    FROM invoicing_invoice d
    WHERE d.state IN ('pending', 'claimed', 'submitting', 'failed') AND d.company_id IS NOT NULL
) heads
WHERE rank = 1
  AND (queued_at IS NULL OR queued_at < %(queued_stale)s)
  AND (
        (state IN ('pending', 'failed') AND (next_attempt_at IS NULL OR next_attempt_at <= %(now)s))
     OR (state IN ('claimed', 'submitting') AND claimed_at < %(claim_stale)s)
  )
ORDER BY ((company_id + %(salt)s) * 2654435761) %% 4294967296
LIMIT %(limit)s
"""


def window_heads(connection, now) -> int:
    from datetime import timedelta

    from django.conf import settings

    params = {
        "now": now,
        "queued_stale": now - timedelta(seconds=settings.INVOICE_QUEUED_LEASE_SECONDS),
        "claim_stale": now - timedelta(seconds=settings.INVOICE_CLAIM_LEASE_SECONDS),
        "salt": 12345,
        "limit": 200,
    }
    with connection.cursor() as cursor:
        cursor.execute(WINDOW_SQL, params)
        return len(cursor.fetchall())


def summary(rows: list[dict]) -> dict:
    return {key: round(statistics.median(r[key] for r in rows), 4) for key in ("wall_s", "cpu_s", "pg_cpu_s", "sql")}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--whale", type=int, default=20000, help="orders of the large seller")
    parser.add_argument("--tenants", type=int, default=200, help="sellers in all, the whale included")
    parser.add_argument("--small-orders", type=int, default=30, help="orders of each small seller")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--passes", type=int, default=20, help="dispatcher passes timed per case")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").rsplit("/", 1)[-1].startswith("bench_"):
        raise SystemExit("DATABASE_URL must name a throw-away database called bench_…")

    import django

    from bench._harness import create_database, database_url, drop_database, migrate

    name = os.environ["DATABASE_URL"].rsplit("/", 1)[-1]
    create_database(name)
    env = dict(os.environ, DATABASE_URL=database_url(name))
    migrate(env)
    try:
        django.setup()
        import logging

        logging.disable(logging.WARNING)
        from django.db import connection
        from django.db.models import F
        from django.utils import timezone

        from accounts.models import Tenant
        from bench._pipeline import seed
        from invoicing import queueing
        from invoicing.models import Invoice

        t = time.perf_counter()
        seeded = seed(
            tenants=args.tenants,
            orders_per_tenant=[args.whale] + [args.small_orders] * (args.tenants - 1),
            returning_share=0.5,
        )
        seed_s = time.perf_counter() - t
        whale, small = seeded["tenants"][0], seeded["tenants"][1:]
        for row in small:
            queueing.invoices_queue_eligible(tenant=Tenant.objects.get(id=row["tenant_id"]), confirmed=True)
        tenant = Tenant.objects.get(id=whale["tenant_id"])
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")

        small_company = small[0]["company_id"]

        def passes() -> dict:
            """The statements of a dispatcher pass, each timed on its own: the in-flight count, the
            heads of every company (beat's pass) and of one small company (the pass kicked after
            each of its invoices)."""
            now = timezone.now()
            cases = {
                "in_flight": lambda: queueing.in_flight(now=now),
                "heads_all": lambda: len(queueing.due_heads(Invoice, "sort_at", now=now, company_id=None, limit=200)),
                "heads_all, window (before)": lambda: window_heads(connection, now),
                "heads_one_small_company": lambda: len(
                    queueing.due_heads(Invoice, "sort_at", now=now, company_id=small_company, limit=200)
                ),
                "heads_whale_company": lambda: len(
                    queueing.due_heads(Invoice, "sort_at", now=now, company_id=whale["company_id"], limit=200)
                ),
            }
            timed = {name: summary([measure(fn, connection) for _ in range(args.passes)]) for name, fn in cases.items()}
            # A small seller's own sync beside the whale: its 30 orders queued again from scratch.
            small_tenant = Tenant.objects.get(id=small[1]["tenant_id"])

            def queue_small():
                Invoice.objects.filter(tenant=small_tenant).delete()
                return queueing.invoices_queue_eligible(tenant=small_tenant, confirmed=True)

            timed["queue_one_small_seller"] = summary([measure(queue_small, connection) for _ in range(args.passes)])
            return timed

        without = passes()
        queued = []
        if os.environ.get("BENCH_PROFILE"):
            import cProfile
            import pstats

            Invoice.objects.filter(tenant=tenant).delete()
            with cProfile.Profile() as profile:
                queueing.invoices_queue_eligible(tenant=tenant, confirmed=True)
            pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
        for _ in range(args.repeat):
            Invoice.objects.filter(tenant=tenant).delete()
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE invoicing_invoice")
            queued.append(measure(lambda: queueing.invoices_queue_eligible(tenant=tenant, confirmed=True), connection))
        assert all(r["result"] == args.whale for r in queued), [r["result"] for r in queued]
        with_whale = passes()
        requeue = [
            measure(lambda: queueing.invoices_queue_eligible(tenant=tenant, confirmed=True), connection)
            for _ in range(args.repeat)
        ]
        # Many companies with a little work each (the other shape of load): every small seller's
        # invoice its own company.
        spread = Invoice.objects.exclude(tenant=tenant)
        companies = spread.count() + 1
        spread.update(company_id=F("id") + 10_000_000)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE invoicing_invoice")
        with_spread = passes()
    finally:
        drop_database(name)

    report = {
        "args": vars(args),
        "seed_seconds": round(seed_s, 1),
        "queue_whale": summary(queued),
        "requeue_whale_already_queued": summary(requeue),
        **{f"{name} (without the whale)": r for name, r in without.items()},
        **{f"{name} (whale queued)": r for name, r in with_whale.items()},
        "spread_companies": companies,
        **{f"{name} ({companies} companies)": r for name, r in with_spread.items()},
    }
    print(f"{'':50} {'wall s':>9} {'our CPU s':>10} {'PG CPU s':>9} {'SQL':>6}")
    for key, r in report.items():
        if not isinstance(r, dict) or "wall_s" not in r:
            continue
        print(f"{key:50} {r['wall_s']:9.4f} {r['cpu_s']:10.4f} {r['pg_cpu_s']:9.4f} {r['sql']:6.0f}")
    out = ROOT / "bench" / "results" / "queue_cost.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
