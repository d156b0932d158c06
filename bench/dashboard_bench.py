"""The orders dashboard (``/home/orders``) with 100,000 orders in one tenant, under load.

In a throw-away database (``bench_dashboard``, or ``--database-name``): one seller with a
BrickLink and a BrickOwl store, ``--orders`` orders (bulk-inserted, realistic mix of countries,
statuses and buyers; about 40 % with an issued invoice) plus a second tenant's orders next to
them. Then:

1. SQL queries per page, in-process (Django test client + CaptureQueriesContext), at 10,000 and
   at the full size, for page 1, a deep page, the last page, a status filter, a store filter and
   a buyer search: the count must not grow with the table;
2. EXPLAIN ANALYZE of each SQL statement of those pages at the full size;
3. latency under load: gunicorn (``--workers`` sync workers, DEBUG off, production settings) on
   127.0.0.1 and a Python-threads load generator with a logged-in session cookie; each scenario
   is bounded in requests and seconds.

    .venv/bin/python bench/dashboard_bench.py [--orders 100000] [--requests 300] [--concurrency 2]
                                              [--database-name bench_dashboard]

Prints tables and writes bench/results/dashboard.json. Drops its database and stops its server.
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._harness import (  # noqa: E402
    ROOT,
    base_env,
    create_database,
    database_url,
    drop_database,
    free_port,
    gunicorn,
    migrate,
    percentile,
    python,
)

DB = "bench_dashboard"
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/7")
# Not secrets: a throw-away key pair for a throw-away database, shared by this process (which
# creates the session) and the server (which must accept it).
SECRET_KEY = "bench-dashboard-secret-key-not-used-anywhere-else-0123456789"
FIELD_KEY = "YmVuY2gtZGFzaGJvYXJkLWZpZWxkLWtleS0zMmJ5dGU="
SERVER_ENV = {  # and DATABASE_URL, of --database-name
    "REDIS_URL": REDIS,
    "DEBUG": "false",
    "SECRET_KEY": SECRET_KEY,
    "FIELD_ENCRYPTION_KEYS": FIELD_KEY,
    "ALLOWED_HOSTS": "127.0.0.1,testserver",
    "SECURE_SSL_REDIRECT": "false",
    "SECURE_HSTS_SECONDS": "0",
    "ACCOUNT_EMAIL_VERIFICATION": "none",
}
OWNER = "owner@bench.brickinvoice.local"

FIRST = ["Anna", "Mario", "Giulia", "Camille", "Javier", "Lucía", "Sean", "Emma", "Noah", "Lena", "Marco", "Sofia"]
LAST = ["Müller", "Bianchi", "Verdi", "Dubois", "García", "O'Brien", "de Vries", "Smith", "Rossi", "Keller"]
COUNTRIES = [("IT", 40), ("DE", 15), ("FR", 10), ("ES", 8), ("NL", 6), ("GB", 6), ("US", 8), ("IE", 3), ("CH", 4)]
STATUSES = [
    ("completed", 62),
    ("shipped", 14),
    ("paid", 10),
    ("pending", 4),
    ("awaiting_payment", 3),
    ("on_hold", 2),
    ("cancelled", 5),
]


def _weighted(rng, pairs):
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def seed_orders(*, tenant, stores, count: int, start_index: int, rng: random.Random, invoiced_share: float) -> int:
    """Bulk-insert ``count`` orders (and invoices for a share of the paid ones)."""
    from invoicing.models import Invoice
    from marketplaces.models import Order

    now = datetime.now(UTC)
    batch, invoices, made = [], [], 0
    for i in range(start_index, start_index + count):
        store = stores[i % len(stores)]
        buyer = rng.randrange(6000)
        first, last = FIRST[buyer % len(FIRST)], LAST[(buyer // len(FIRST)) % len(LAST)]
        country = _weighted(rng, COUNTRIES)
        status = _weighted(rng, STATUSES)
        subtotal = Decimal(rng.randrange(300, 40000)) / 100
        shipping = Decimal(rng.choice([490, 690, 890, 1290, 1890])) / 100
        ordered = now - timedelta(days=3 * 365) * (1 - i / 120_000) - timedelta(seconds=rng.randrange(3600))
        batch.append(
            Order(
                tenant=tenant,
                store=store,
                marketplace=store.marketplace,
                marketplace_order_id=str((24_000_000 if store.marketplace == "bricklink" else 9_000_000) + i),
                buyer_username=f"{first.lower()}_{last.lower().replace(' ', '').replace(chr(39), '')}{buyer}",
                buyer_name=f"{first} {last}",
                buyer_email=f"{first.lower()}.{buyer}@example.com",
                ship_name=f"{first} {last}",
                ship_address1=f"Via Roma {buyer % 200 + 1}",
                ship_postal_code=f"{10000 + buyer % 89999}",
                ship_city="Milano" if country == "IT" else "Berlin",
                ship_country=country,
                ordered_at=ordered,
                paid_at=ordered + timedelta(minutes=5) if status not in ("pending", "awaiting_payment") else None,
                status_changed_at=ordered + timedelta(days=2),
                raw_status=status.upper(),
                status=status,
                currency="EUR",
                items_subtotal=subtotal,
                shipping=shipping,
                grand_total=subtotal + shipping,
                amount_paid_to_seller=subtotal + shipping,
                raw={"order_id": i, "note": "x" * 400},  # the list defers it; real payloads are a few kB
                payload_hash=f"{i:064x}",
                list_marker=f"{i:064x}",
            )
        )
        if len(batch) >= 2000:
            made += _flush(batch, invoices, rng, invoiced_share, tenant, Order, Invoice)
            batch = []
    if batch:
        made += _flush(batch, invoices, rng, invoiced_share, tenant, Order, Invoice)
    return made


def _flush(batch, invoices, rng, share, tenant, Order, Invoice) -> int:
    created = Order.objects.bulk_create(batch)
    rows = []
    for order in created:
        if order.status in ("completed", "shipped", "paid") and rng.random() < share / 0.86:
            number = order.pk
            rows.append(
                Invoice(
                    tenant=tenant,
                    order=order,
                    state=Invoice.State.ISSUED,
                    company_id=1001,
                    fatture_id=500_000 + number,
                    number=str(number),
                    invoice_date=order.ordered_at.date(),
                    total=order.grand_total.quantize(Decimal("0.01")),
                    currency="EUR",
                    api_calls=1,
                    issued_at=order.ordered_at + timedelta(hours=1),
                    view_url=f"http://127.0.0.1/sandbox/fatture/view/{500_000 + number}",
                )
            )
    Invoice.objects.bulk_create(rows)
    return len(created)


def measure_queries(client, pages: dict[str, str]) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    out = {}
    for name, url in pages.items():
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        assert response.status_code == 200, (name, url, response.status_code)
        out[name] = {
            "queries": len(ctx),
            "sql": [q["sql"] for q in ctx.captured_queries],
            "bytes": len(response.content),
        }
    return out


def explain(sql_by_page: dict) -> dict:
    from django.db import connection

    plans = {}
    with connection.cursor() as cursor:
        for name, data in sql_by_page.items():
            rows = []
            for sql in data["sql"]:
                if not sql.lstrip().upper().startswith("SELECT") or "marketplaces_order" not in sql:
                    continue
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                plan = [r[0] for r in cursor.fetchall()]
                total = next((line for line in plan if line.startswith("Execution Time")), "")
                rows.append({"sql": sql[:300], "execution": total, "plan": plan})
            plans[name] = rows
    return plans


def server_time(client, pages: dict[str, str], reps: int = 10) -> dict:
    """Median wall time of the whole request in-process (test client, no network, no load)."""
    out = {}
    for name, url in pages.items():
        times = []
        for _ in range(reps):
            start = time.perf_counter()
            client.get(url)
            times.append((time.perf_counter() - start) * 1000)
        out[name] = percentile(times, 50)
    return out


ALTERNATIVES = [
    # (label, SQL with %(tenant)s / %(offset)s, DDL to run before it or "")
    (
        "ids only, deep offset (deferred join)",
        "SELECT id FROM marketplaces_order WHERE tenant_id = %(tenant)s "
        "ORDER BY ordered_at DESC, id DESC LIMIT 50 OFFSET %(deep)s",
        "",
    ),
    (
        "ids only, last offset (deferred join)",
        "SELECT id FROM marketplaces_order WHERE tenant_id = %(tenant)s "
        "ORDER BY ordered_at DESC, id DESC LIMIT 50 OFFSET %(last)s",
        "",
    ),
    (
        "ids only, deep offset + index (tenant, ordered_at DESC, id DESC)",
        "SELECT id FROM marketplaces_order WHERE tenant_id = %(tenant)s ORDER BY ordered_at DESC, id DESC LIMIT 50 "
        "OFFSET %(deep)s",
        "CREATE INDEX bench_order_tenant_date_id ON marketplaces_order (tenant_id, ordered_at DESC, id DESC); "
        "VACUUM ANALYZE marketplaces_order",
    ),
    (
        "ids only, last offset + that index",
        "SELECT id FROM marketplaces_order WHERE tenant_id = %(tenant)s ORDER BY ordered_at DESC, id DESC LIMIT 50 "
        "OFFSET %(last)s",
        "",
    ),
    (
        "keyset (seek) page after the deep page's last row + that index",
        "SELECT id FROM marketplaces_order WHERE tenant_id = %(tenant)s AND (ordered_at, id) < "
        "(SELECT ordered_at, id FROM marketplaces_order WHERE id = %(seek)s) "
        "ORDER BY ordered_at DESC, id DESC LIMIT 50",
        "",
    ),
    (
        "COUNT(*) after VACUUM (index-only scan)",
        "SELECT COUNT(*) FROM marketplaces_order WHERE tenant_id = %(tenant)s",
        "",
    ),
    (
        "search COUNT with pg_trgm GIN indexes (migration 0003)",
        "SELECT COUNT(*) FROM marketplaces_order WHERE tenant_id = %(tenant)s AND (marketplace_order_id = %(q)s OR "
        "UPPER(buyer_username) LIKE UPPER(%(like)s) OR UPPER(buyer_name) LIKE UPPER(%(like)s) OR "
        "UPPER(ship_name) LIKE UPPER(%(like)s))",
        "",
    ),
]


def explain_alternatives(params: dict) -> list[dict]:
    """What the fixes would cost: run only in the throw-away database, after the load test."""
    from django.db import connection

    rows = []
    with connection.cursor() as cursor:
        for label, sql, ddl in ALTERNATIVES:
            try:
                for statement in filter(None, (s.strip() for s in ddl.split(";"))):
                    cursor.execute(statement)
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
                plan = [r[0] for r in cursor.fetchall()]
                total = next((line for line in plan if line.startswith("Execution Time")), "")
                rows.append({"label": label, "execution": total, "plan": plan})
            except Exception as exc:  # noqa: BLE001 - an unavailable extension must not lose the run
                rows.append({"label": label, "execution": f"failed: {exc}", "plan": []})
            print(f"{label:<66} {rows[-1]['execution']}", flush=True)
    return rows


def load(base: str, cookie: str, url: str, *, requests_total: int, concurrency: int, seconds: float) -> dict:
    import requests

    latencies, errors, lock = [], [], threading.Lock()
    remaining = [requests_total]
    deadline = time.monotonic() + seconds

    def worker():
        session = requests.Session()
        session.headers["Cookie"] = cookie
        for _ in range(3):  # warm-up, not counted
            session.get(base + url, timeout=30)
        while time.monotonic() < deadline:
            with lock:
                if remaining[0] <= 0:
                    return
                remaining[0] -= 1
            start = time.perf_counter()
            response = session.get(base + url, timeout=30, allow_redirects=False)
            elapsed = (time.perf_counter() - start) * 1000
            with lock:
                if response.status_code == 200:
                    latencies.append(elapsed)
                else:
                    errors.append(response.status_code)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    return {
        "requests": len(latencies),
        "errors": len(errors),
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
        "max_ms": max(latencies) if latencies else float("nan"),
        "req_per_s": len(latencies) / wall if wall else 0,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=10_000, help="the first size the query count is taken at")
    parser.add_argument("--requests", type=int, default=300, help="requests per scenario (bounded)")
    parser.add_argument("--seconds", type=float, default=60, help="time bound per scenario")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--database-name",
        default=DB,
        help="the throw-away PostgreSQL database, created and dropped by the run (must start with bench_)",
    )
    args = parser.parse_args()
    if not args.database_name.startswith("bench_"):
        parser.error("--database-name must start with bench_: the run drops it")
    db = args.database_name

    # This process and the server share the settings (same keys, same database).
    static_root = tempfile.mkdtemp(prefix="bench-static-")
    server_env = SERVER_ENV | {"DATABASE_URL": database_url(db), "BENCH_STATIC_ROOT": static_root}
    os.environ.update(server_env | {"DJANGO_SETTINGS_MODULE": "bench.settings_bench"})
    env = base_env(**server_env) | {"DJANGO_SETTINGS_MODULE": "bench.settings_bench"}
    create_database(db)
    report: dict = {"orders": args.orders, "concurrency": args.concurrency, "workers": args.workers}
    try:
        migrate(env)
        subprocess.run([python(), "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
        import django

        django.setup()
        import logging

        logging.disable(logging.WARNING)
        from django.conf import settings
        from django.test import Client

        from accounts.models import User
        from accounts.services import tenant_create_for_user
        from marketplaces.models import Marketplace, StoreConnection

        settings.SECURE_SSL_REDIRECT = False
        rng = random.Random(20261123)
        user = User.objects.create_user(OWNER, "bench-password-not-secret")
        tenant = tenant_create_for_user(user=user, business_name="Bench Bricks")
        stores = [
            StoreConnection.objects.create(tenant=tenant, marketplace=m, name=f"Bench {m}", account_ref=f"bench:{m}")
            for m in (Marketplace.BRICKLINK, Marketplace.BRICKOWL)
        ]
        other_user = User.objects.create_user("other@bench.brickinvoice.local", "bench-password-not-secret")
        other = tenant_create_for_user(user=other_user, business_name="Other Bricks")
        other_store = StoreConnection.objects.create(tenant=other, marketplace="bricklink", account_ref="bench:other")

        client = Client()
        client.force_login(user)
        t = time.perf_counter()
        made = seed_orders(tenant=tenant, stores=stores, count=args.small, start_index=0, rng=rng, invoiced_share=0.4)
        _analyze()
        pages = _pages(tenant, stores, args.small)
        report["queries_small"] = measure_queries(client, pages)
        made += seed_orders(
            tenant=tenant,
            stores=stores,
            count=args.orders - args.small,
            start_index=args.small,
            rng=rng,
            invoiced_share=0.4,
        )
        seed_orders(
            tenant=other, stores=[other_store], count=args.orders // 5, start_index=200_000, rng=rng, invoiced_share=0.4
        )
        _analyze()
        report["seed_seconds"] = time.perf_counter() - t
        report["orders_in_tenant"] = made
        pages = _pages(tenant, stores, made)
        report["pages"] = pages
        report["queries_full"] = measure_queries(client, pages)
        report["explain"] = explain(report["queries_full"])
        _print_queries(report, args)
        report["server_ms_in_process"] = server_time(client, pages)
        print(
            "in-process median ms per page (no network, no concurrency):",
            {k: round(v, 1) for k, v in report["server_ms_in_process"].items()},
            flush=True,
        )

        cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
        port = free_port()
        report["load"] = {}
        with gunicorn(
            env, port=port, workers=args.workers, log=Path(tempfile.gettempdir()) / "bench_dashboard_server.log"
        ) as base:
            import requests

            probe = requests.get(base + pages["page 1"], headers={"Cookie": cookie}, timeout=30, allow_redirects=False)
            assert probe.status_code == 200 and b"Page 1 of" in probe.content, (probe.status_code, probe.headers)
            print(f"\nload: {args.concurrency} client threads, gunicorn {args.workers} sync workers, DEBUG off")
            print(f"{'page':<16} {'requests':>8} {'errors':>6} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} {'req/s':>6}")
            for name, url in pages.items():
                row = load(
                    base, cookie, url, requests_total=args.requests, concurrency=args.concurrency, seconds=args.seconds
                )
                report["load"][name] = row
                print(
                    f"{name:<16} {row['requests']:>8} {row['errors']:>6} {row['p50_ms']:>7.1f} {row['p95_ms']:>7.1f} "
                    f"{row['max_ms']:>7.1f} {row['req_per_s']:>6.1f}",
                    flush=True,
                )
        print("\nEXPLAIN ANALYZE of the fixes (throw-away database only, after the load test):")
        from marketplaces.models import Order

        ordered = Order.objects.filter(tenant=tenant).order_by("-ordered_at", "-id")
        deep_offset = (int(pages["deep page"].rsplit("=", 1)[1]) - 1) * 50
        sample = Order.objects.filter(tenant=tenant).order_by("id")[made // 3]
        report["alternatives"] = explain_alternatives(
            {
                "tenant": tenant.pk,
                "deep": deep_offset,
                "last": (int(pages["last page"].rsplit("=", 1)[1]) - 1) * 50,
                "seek": ordered.values_list("id", flat=True)[deep_offset + 49],
                "q": sample.buyer_username,
                "like": f"%{sample.buyer_username}%",
            }
        )
    finally:
        from django.db import connections

        connections.close_all()
        drop_database(db)
        shutil.rmtree(static_root, ignore_errors=True)
    for data in (report.get("queries_small", {}), report.get("queries_full", {})):
        for row in data.values():
            row.pop("sql", None)
    out = ROOT / "bench" / "results" / "dashboard.json"
    out.write_text(json.dumps(report, indent=2, default=str))
    print(f"written {out.relative_to(ROOT)}")


def _analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE marketplaces_order; ANALYZE invoicing_invoice")


def _pages(tenant, stores, total: int) -> dict[str, str]:
    from marketplaces.models import Order

    last = max(1, -(-total // 50))
    sample = Order.objects.filter(tenant=tenant).order_by("id")[total // 3]
    return {
        "page 1": "/home/orders",
        "deep page": f"/home/orders?page={last // 2}",
        "last page": f"/home/orders?page={last}",
        "status filter": "/home/orders?status=shipped",
        "store filter": f"/home/orders?store={stores[1].public_id}&page=2",
        "search buyer": f"/home/orders?q={sample.buyer_username}",
        "search order id": f"/home/orders?q={sample.marketplace_order_id}",
    }


def _print_queries(report: dict, args) -> None:
    print(f"\nSQL queries per page (in-process): {args.small:,} vs {report['orders_in_tenant']:,} orders")
    print(f"{'page':<16} {'queries small':>13} {'queries full':>12} {'slowest statement at full size':>32}")
    for name, row in report["queries_full"].items():
        small = report["queries_small"][name]["queries"]
        times = [p["execution"] for p in report["explain"].get(name, [])]
        print(f"{name:<16} {small:>13} {row['queries']:>12}   {'; '.join(times)}")


if __name__ == "__main__":
    main()
