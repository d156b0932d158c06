"""Import at scale: a 5,000-order BrickLink store and a 6,000-order BrickOwl store, over real HTTP.

The product's own import service (``marketplaces.services.store_import_orders``) pulls both
stores from the in-repo sandbox fakes (``sandbox/bricklink.py``, ``sandbox/brickowl.py``), served
by gunicorn on 127.0.0.1 from a throw-away database ``bench_import``. Every import run happens
in its own child process, so its peak RSS is its own. The BrickLink backfill runs until its
daily call budget (``BRICKLINK_DAILY_CALL_BUDGET``, default 4,500) stops it; the next UTC day is
simulated by moving the store's day counter (and the sandbox's per-day counter) back one day,
and the next run resumes. Every HTTP call is counted per order id, to prove nothing is fetched
twice. BrickOwl's 600 calls/minute limit is lifted on the fake (see the report).

    .venv/bin/python bench/import_bench.py [--bricklink 5000] [--brickowl 6000]

Prints a table and writes bench/results/import.json. Drops its database and stops its server.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import parse_qs, urlparse

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
    python,
)

DB = "bench_import"
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/7")
OWNER = "owner@bench.brickinvoice.local"
MAX_DAYS = 6  # bound on the simulated days of the BrickLink backfill


# --- child phases (run with DJANGO settings on the bench database) ------------------------------


def _django():
    import django

    django.setup()
    import logging

    logging.disable(logging.INFO)


def phase_seed(args) -> dict:
    """Sandbox stores with ``--bricklink`` / ``--brickowl`` orders, a tenant and its two stores."""
    _django()
    from dataclasses import replace
    from datetime import UTC, datetime

    from accounts.models import User
    from accounts.services import tenant_create_for_user
    from marketplaces.bricklink.normalise import normalise_status as bl_status
    from marketplaces.brickowl.normalise import normalise_status as bo_status
    from marketplaces.models import Marketplace, StoreConnection
    from sandbox import demo
    from sandbox.bricklink import order_summary
    from sandbox.brickowl import list_entry
    from sandbox.models import SandboxOrder, SandboxStore

    demo.demo_stores_load()
    wanted = {"paid", "shipped", "completed"}
    bl_store = SandboxStore.objects.get(lookup_key=demo.BRICKLINK_CREDENTIALS["consumer_key"])
    bo_store = SandboxStore.objects.get(lookup_key=demo.BRICKOWL_API_KEY)
    SandboxOrder.objects.filter(store__in=[bl_store, bo_store]).delete()
    anchor = datetime.now(UTC).date()

    def build(store, render, scenarios, count, base, is_wanted):
        templates = []
        for n, scenario in enumerate(scenarios):
            payload, _items, _ordered = render(scenario, anchor, n, store.profile)
            if is_wanted(payload):
                templates.append(scenario)
        rows, seen_seconds = [], Counter()
        for i in range(count):
            template = templates[i % len(templates)]
            # Spread over ~360 days, newest last; a few orders share a day like a busy store.
            scenario = replace(template, order_id=str(base + i), days_ago=360 - (i * 360) // count, is_filed=False)
            payload, items, ordered = render(scenario, anchor, i, store.profile)
            _o, changed, _p = demo._moments(anchor, scenario, i)
            seen_seconds[int(ordered.timestamp())] += 1
            rows.append(
                SandboxOrder(
                    store=store,
                    order_id=scenario.order_id,
                    ordered_at=ordered,
                    updated_at=changed,
                    payload=payload,
                    items=items,
                )
            )
        SandboxOrder.objects.bulk_create(rows, batch_size=500)
        return len(templates), max(seen_seconds.values())

    def bl_wanted(payload):
        summary = order_summary(payload)
        return bl_status(summary.get("status"), summary.get("payment"))[0] in wanted

    def bo_wanted(payload):
        return bo_status(list_entry(payload)["status_id"])[0] in wanted

    bl_templates, _ = build(
        bl_store, demo.bricklink_order, demo.bricklink_scenarios(), args.bricklink, 30_000_000, bl_wanted
    )
    bo_templates, bo_same_second = build(
        bo_store, demo.brickowl_order, demo.brickowl_scenarios(), args.brickowl, 9_000_000, bo_wanted
    )

    user = User.objects.filter(email=OWNER).first() or User.objects.create_user(OWNER, "bench-password-not-secret")
    tenant = tenant_create_for_user(user=user, business_name="Bench Bricks")
    ids = {}
    for marketplace, credentials in (
        (Marketplace.BRICKLINK, {k: v for k, v in demo.BRICKLINK_CREDENTIALS.items()}),
        (Marketplace.BRICKOWL, {"api_key": demo.BRICKOWL_API_KEY}),
    ):
        store = StoreConnection(tenant=tenant, marketplace=marketplace, account_ref=f"bench:{marketplace}")
        store.set_credentials(credentials, hint="****")
        store.save()
        ids[marketplace] = store.id
    return {
        "store_ids": ids,
        "sandbox_store_pks": {"bricklink": bl_store.pk, "brickowl": bo_store.pk},
        "templates": {"bricklink": bl_templates, "brickowl": bo_templates},
        "brickowl_max_orders_in_one_second": bo_same_second,
    }


def phase_import(args) -> dict:
    """One ``store_import_orders`` run, with every HTTP call recorded per endpoint and order id."""
    _django()
    from datetime import UTC, datetime, timedelta

    import requests
    from django.core.cache import cache

    from marketplaces.models import Order, StoreConnection
    from marketplaces.services import store_import_orders

    if args.next_day:
        # Simulate the next UTC day: the store's counter belongs to yesterday (so _roll_day resets
        # it), and the sandbox's own per-day counter for today starts from zero.
        yesterday = datetime.now(UTC).date() - timedelta(days=1)
        StoreConnection.objects.filter(pk=args.store_id).update(api_calls_day=yesterday)
        cache.delete(f"sandbox:bl:calls:{args.sandbox_pk}:{datetime.now(UTC):%Y%m%d}")

    calls: Counter = Counter()
    per_order: dict[str, Counter] = {}
    original = requests.Session.request

    def recording(self, method, url, *a, **kw):
        path = urlparse(url).path
        params = kw.get("params") or {}
        if not params:
            params = {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}
        parts = path.rstrip("/").split("/")
        if "/bricklink/orders/" in path:
            order_id, kind = (parts[-2], "items") if parts[-1] == "items" else (parts[-1], "detail")
            per_order.setdefault(order_id, Counter())[kind] += 1
            calls[f"orders/{{id}}{'/items' if kind == 'items' else ''}"] += 1
        elif "/brickowl/order/" in path and params.get("order_id"):
            per_order.setdefault(str(params["order_id"]), Counter())[parts[-1]] += 1
            calls[f"order/{parts[-1]}"] += 1
        else:
            calls["/".join(parts[-2:])] += 1
        return original(self, method, url, *a, **kw)

    requests.Session.request = recording
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    result = store_import_orders(store_id=args.store_id)
    elapsed = time.perf_counter() - start
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    store = StoreConnection.objects.get(pk=args.store_id)
    return {
        "seconds": elapsed,
        "result": result.as_dict() | {"created_ids": len(result.created_ids), "changed_ids": len(result.changed_ids)},
        "calls_by_endpoint": dict(calls),
        "http_calls": sum(calls.values()),
        "per_order": {k: dict(v) for k, v in per_order.items()},
        "maxrss_mib_before": rss_before / 1024,
        "maxrss_mib": rss_after / 1024,
        "orders_stored": Order.objects.filter(store_id=args.store_id).count(),
        "store_last_import_result": {
            k: store.last_import_result.get(k) for k in ("complete", "error_code", "stopped_reason", "pending")
        },
        "store_api_calls_today": store.api_calls_today,
        "store_status": store.status,
    }


# --- parent ---------------------------------------------------------------------------------------


def _child(env: dict, *argv) -> dict:
    out = subprocess.run(
        [python(), str(Path(__file__).resolve()), *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if out.returncode != 0:
        sys.stderr.write(out.stderr[-5000:])
        raise RuntimeError(f"phase {argv} failed")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bricklink", type=int, default=5000, help="orders in the BrickLink store")
    parser.add_argument("--brickowl", type=int, default=6000, help="orders in the BrickOwl store")
    parser.add_argument("--phase", choices=["seed", "import"], help=argparse.SUPPRESS)
    parser.add_argument("--store-id", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--sandbox-pk", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--next-day", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        data = phase_seed(args) if args.phase == "seed" else phase_import(args)
        print(json.dumps(data, default=str))
        return

    port = free_port()
    sandbox = f"http://127.0.0.1:{port}/sandbox"
    env = base_env(
        DATABASE_URL=database_url(DB),
        REDIS_URL=REDIS,
        DEBUG="true",
        SANDBOX="true",
        SANDBOX_BASE_URL=sandbox,
        BRICKLINK_API_URL=f"{sandbox}/bricklink",
        BRICKOWL_API_URL=f"{sandbox}/brickowl",
        # The real limit is 600/min; lifted so the benchmark measures our side (see the report).
        SANDBOX_BRICKOWL_MINUTE_LIMIT=10_000_000,
        # The fake's limit is lifted above, so our pacing is too: this measures our side only.
        BRICKOWL_MIN_CALL_INTERVAL=0,
        CELERY_TASK_ALWAYS_EAGER="true",
    )
    budget = int(os.environ.get("BRICKLINK_DAILY_CALL_BUDGET", "4500"))
    report: dict = {"bricklink_orders": args.bricklink, "brickowl_orders": args.brickowl, "budget": budget}
    t0 = time.perf_counter()
    create_database(DB)
    try:
        migrate(env)
        t_seed = time.perf_counter()
        seed = _child(env, "--phase", "seed", "--bricklink", str(args.bricklink), "--brickowl", str(args.brickowl))
        report["seed"] = seed | {"seconds": time.perf_counter() - t_seed}
        print(f"seeded {args.bricklink} BrickLink + {args.brickowl} BrickOwl sandbox orders", flush=True)
        with gunicorn(env, port=port, workers=2, log=Path(tempfile.gettempdir()) / "bench_import_server.log"):
            runs = []
            bl_id, bo_id = seed["store_ids"]["bricklink"], seed["store_ids"]["brickowl"]
            for day in range(1, MAX_DAYS + 1):
                argv = [
                    "--phase",
                    "import",
                    "--store-id",
                    str(bl_id),
                    "--sandbox-pk",
                    str(seed["sandbox_store_pks"]["bricklink"]),
                ]
                run = _child(env, *argv, *(["--next-day"] if day > 1 else []))
                run |= {"store": "bricklink", "label": f"BrickLink day {day}"}
                runs.append(run)
                _print_run(run)
                if run["result"]["complete"] and run["result"]["created_ids"] == 0:
                    break
            for label in ("BrickOwl first import", "BrickOwl re-run"):
                run = _child(env, "--phase", "import", "--store-id", str(bo_id))
                run |= {"store": "brickowl", "label": label}
                runs.append(run)
                _print_run(run)
    finally:
        drop_database(DB)
        _clean_redis()
    report["runs"] = [{k: v for k, v in r.items() if k != "per_order"} for r in runs]
    report["summary"] = _summarise(runs, args, budget)
    report["total_seconds"] = time.perf_counter() - t0
    out = ROOT / "bench" / "results" / "import.json"
    out.write_text(json.dumps(report, indent=2, default=str))
    _print_table(report)
    print(f"written {out.relative_to(ROOT)}")


def _clean_redis() -> None:
    """Delete only the sandbox counters and nonces this run wrote to its Redis db."""
    try:
        import redis

        client = redis.Redis.from_url(REDIS)
        for key in client.scan_iter(match="*sandbox:b[lo]:*", count=1000):
            client.delete(key)
    except Exception as exc:  # noqa: BLE001 - cleanup must not hide the results
        print(f"(redis cleanup skipped: {exc})")


def _print_run(run: dict) -> None:
    r = run["result"]
    print(
        f"{run['label']:<22} {run['seconds']:7.1f}s calls={run['http_calls']:>6} created={r['created_ids']:>5} "
        f"pending={r['pending']:>5} complete={r['complete']} reason={r['stopped_reason']!r} "
        f"maxrss={run['maxrss_mib']:.0f}MiB",
        flush=True,
    )


def _summarise(runs: list[dict], args, budget: int) -> dict:
    summary = {}
    for store, expected in (("bricklink", args.bricklink), ("brickowl", args.brickowl)):
        mine = [r for r in runs if r["store"] == store]
        per_order: dict[str, Counter] = {}
        for r in mine:
            for order_id, kinds in r["per_order"].items():
                per_order.setdefault(order_id, Counter()).update(kinds)
        fetched_twice = sorted(oid for oid, kinds in per_order.items() if any(n > 1 for n in kinds.values()))
        backfill = [r for r in mine if r["result"]["created_ids"] or not r["result"]["complete"]] or mine[:1]
        calls = sum(r["http_calls"] for r in backfill)
        created = sum(r["result"]["created_ids"] for r in backfill)
        summary[store] = {
            "runs_to_complete": len(backfill),
            "orders_created": created,
            "orders_expected": expected,
            "orders_stored": mine[-1]["orders_stored"],
            "http_calls": calls,
            "calls_per_order": calls / max(1, created),
            "seconds": sum(r["seconds"] for r in backfill),
            "orders_per_second": created / max(1e-9, sum(r["seconds"] for r in backfill)),
            "peak_rss_mib": max(r["maxrss_mib"] for r in mine),
            "max_calls_in_one_day": max(r["store_api_calls_today"] for r in mine),
            "orders_fetched_twice": len(fetched_twice),
            "orders_fetched": len(per_order),
            "stop_messages": [r["result"]["stopped_reason"] for r in mine if r["result"]["stopped_reason"]],
            "rerun_calls": mine[-1]["http_calls"] if len(mine) > len(backfill) else None,
        }
        if store == "bricklink":
            summary[store]["within_budget"] = summary[store]["max_calls_in_one_day"] <= budget
    return summary


def _print_table(report: dict) -> None:
    print()
    print(
        f"{'store':<10} {'orders':>6} {'runs':>4} {'seconds':>8} {'orders/s':>8} {'calls':>6} {'calls/order':>11} "
        f"{'max calls/day':>13} {'fetched twice':>13} {'peak RSS MiB':>12}"
    )
    for store, s in report["summary"].items():
        print(
            f"{store:<10} {s['orders_created']:>6} {s['runs_to_complete']:>4} {s['seconds']:>8.1f} "
            f"{s['orders_per_second']:>8.1f} {s['http_calls']:>6} {s['calls_per_order']:>11.3f} "
            f"{s['max_calls_in_one_day']:>13} {s['orders_fetched_twice']:>13} {s['peak_rss_mib']:>12.0f}"
        )


if __name__ == "__main__":
    main()
