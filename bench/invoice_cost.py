"""What one invoice costs us: Fatture calls, SQL queries and CPU time per invoiced order.

Runs the real invoicing service (plan, customer sync, exactly-once bookkeeping, create) for a
mix of new and returning customers against the in-repo fake Fatture (HTTP faked at the
boundary, zero latency, so CPU is ours alone), in a throw-away test database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/brickinvoice .venv/bin/python bench/invoice_cost.py [--orders 400]

Prints a table and writes bench/results/invoice_cost.json.
"""

import argparse
import json
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brickinvoice.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/brickinvoice")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=400, help="orders to invoice (half returning customers)")
    parser.add_argument(
        "--show-queries", action="store_true", help="print the SQL of one new and one returning customer's invoice"
    )
    args = parser.parse_args()

    import django

    django.setup()
    import logging

    import responses
    from django.db import connection
    from django.test import override_settings
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    from brickinvoice.celery import app

    logging.disable(logging.INFO)
    app.conf.task_always_eager = True
    setup_test_environment()
    # A private cache, so the quota counters of a real deployment are neither used nor touched; our
    # own per-company budgets lifted, since this measures the cost of an invoice, not the quota
    # (at 150 calls per 5 minutes the run would stop after about 75 invoices).
    override_settings(
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        FATTURE_SHORT_BUDGET=10**9,
        FATTURE_HOURLY_BUDGET=10**9,
    ).enable()
    db_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        from invoicing import issuing
        from invoicing.models import Invoice
        from tests.factories import TenantFactory
        from tests.factories_invoicing import connected_seller, make_order
        from tests.fake_fatture import FakeFatture

        tenant = TenantFactory(name="Bench Bricks")
        connected_seller(tenant)
        samples = {"new": [], "returning": []}
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            fake = FakeFatture(rsps)
            half = args.orders // 2
            for i in range(args.orders):
                kind = "new" if i < half else "returning"
                username = f"buyer{i if kind == 'new' else i - half}"
                order = make_order(
                    tenant,
                    username=username,
                    items=(("new", 3, "4.5000"), ("used", 7, "9.1000")),
                    etc1=Decimal("1.0000"),
                )
                invoice = Invoice.objects.create(tenant=tenant, order=order)
                calls_before = len(rsps.calls)
                cpu = time.process_time()
                with CaptureQueriesContext(connection) as queries:
                    issuing.invoice_process(invoice_id=invoice.id)
                cpu_ms = (time.process_time() - cpu) * 1000
                invoice.refresh_from_db()
                assert invoice.state == Invoice.State.ISSUED, invoice.error_message
                if args.show_queries and i in (2, half + 2):
                    print(f"--- SQL of a {kind} customer's invoice ({len(queries)} statements)")
                    for query in queries.captured_queries:
                        print(" ", query["sql"][:160])
                samples[kind].append(
                    {"calls": len(rsps.calls) - calls_before, "queries": len(queries), "cpu_ms": cpu_ms}
                )
            documents = len(fake.documents)
    finally:
        connection.creation.destroy_test_db(db_name, verbosity=0)

    result = {"orders": args.orders, "fatture_documents": documents, "database": connection.vendor}
    print(
        f"{'customer':<10} {'invoices':>8} {'calls/inv':>9} {'max calls':>9} {'SQL/inv':>8} {'max SQL':>7} "
        f"{'CPU ms p50':>10} {'CPU ms p95':>10}"
    )
    for kind, rows in samples.items():
        cpu = sorted(r["cpu_ms"] for r in rows)
        summary = {
            "invoices": len(rows),
            "fatture_calls_per_invoice": statistics.mean(r["calls"] for r in rows),
            "max_fatture_calls": max(r["calls"] for r in rows),
            "sql_queries_per_invoice": statistics.mean(r["queries"] for r in rows),
            "max_sql_queries": max(r["queries"] for r in rows),
            "cpu_ms_p50": cpu[len(cpu) // 2],
            "cpu_ms_p95": cpu[int(len(cpu) * 0.95) - 1],
        }
        result[kind] = summary
        print(
            f"{kind:<10} {summary['invoices']:>8} {summary['fatture_calls_per_invoice']:>9.2f} "
            f"{summary['max_fatture_calls']:>9} {summary['sql_queries_per_invoice']:>8.1f} "
            f"{summary['max_sql_queries']:>7} {summary['cpu_ms_p50']:>10.1f} {summary['cpu_ms_p95']:>10.1f}"
        )
    out = ROOT / "bench" / "results" / "invoice_cost.json"
    out.write_text(json.dumps(result, indent=2))
    print(f"documents created in Fatture: {documents} for {args.orders} orders; written {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
