"""The invoicing pipeline under load: many sellers, a real Celery worker pool, the quota as the wall.

2,000 paid orders across 20 sellers (half of them from returning buyers), each seller with its own
Fatture company on the sandbox (150 ms per call, real quotas on a faster clock), invoiced by two
prefork Celery workers on Redis and PostgreSQL after a "Sync now" for every seller.

The clock: Fatture allows 1,000 requests per company per hour (fixed window) and 300 per 5
minutes (rolling). At that rate a company's 200 calls would be a fifth of an hour, so the run
shortens the quota hour to ``--hour-seconds`` (60) and scales the limit to ``--hourly-limit`` (60)
requests per such hour; the short-term limit scales the same way (300 per 5 min becomes 18 per
5 s). The product is told the same hour length (``FATTURE_HOUR_SECONDS``) and keeps its usual
margins: 95 % of the hour, half of the short-term limit per bucket. Utilisation of the quota is a
ratio and does not depend on the scale; invoices per hour are converted back to the real quota.

    .venv/bin/python bench/pipeline_bench.py [--tenants 20] [--orders 2000] [--latency-ms 150]

The whale scenario (``--whale 300 --tenants 31``): the first tenant holds a backlog of that many
orders, every other one 10–50 (``--small-orders``); the report adds each tenant's time from the
kick to its first invoice and the messages in the broker (queued plus unacknowledged) over time.

Prints a table and writes bench/results/pipeline.json (pipeline_whale.json for the whale).
Drops its database and stops its processes.
"""

import argparse
import json
import random
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import _pipeline as P  # noqa: E402
from bench._harness import ROOT, create_database, drop_database, migrate, percentile  # noqa: E402

DB = "bench_pipeline"
RESULTS = ROOT / "bench" / "results" / "pipeline.json"


# --- the report phase (a child with Django) ------------------------------------------------------


def invoice_costs() -> dict:
    """Fatture calls of each issued invoice's successful attempt, by kind of customer. Of a
    buyer's invoices, the one that created the client (the most calls) is the new customer's;
    every other one is a returning customer's. If two of them had created a client, the second
    would show up as a returning customer with 3 calls (and as a duplicate client)."""
    from invoicing.models import Invoice

    by_buyer = defaultdict(list)
    for tenant_id, buyer, calls in Invoice.objects.filter(state="issued").values_list(
        "tenant_id", "order__buyer_username", "api_calls"
    ):
        by_buyer[(tenant_id, buyer)].append(calls)
    by_kind = defaultdict(list)
    for calls in by_buyer.values():
        calls.sort(reverse=True)
        by_kind["new"].append(calls[0])
        by_kind["returning"] += calls[1:]
    return {
        "calls_by_customer": {
            kind: {
                "invoices": len(v),
                "calls_per_invoice": round(statistics.mean(v), 3),
                "distribution": dict(sorted(Counter(v).items())),
            }
            for kind, v in by_kind.items()
            if v
        },
        "issued_at": {
            str(i): (t.timestamp(), c)
            for i, t, c in Invoice.objects.filter(state="issued").values_list("id", "issued_at", "company_id")
        },
    }


# --- analysis -------------------------------------------------------------------------------------


def messages_in_broker(redis_url: str) -> int:
    """Celery messages in the Redis broker: waiting in a queue (a list) plus delivered and not yet
    acknowledged (kombu's ``unacked`` hash, which includes countdown and ETA messages a worker holds)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    queued = sum(client.llen(key) for key in client.scan_iter(_type="list"))
    return queued + client.hlen("unacked")


def first_invoices(issued_at: dict, kicked_at: float, tenants: list[dict]) -> dict:
    """Seconds from the kick to each tenant's first issued invoice; the whale is the first tenant."""
    first: dict[int, float] = {}
    issued: Counter = Counter()
    for t, company in issued_at.values():
        first[company] = min(first.get(company, t), t)
        issued[company] += 1
    whale, small = tenants[0], tenants[1:]
    waits = [first[s["company_id"]] - kicked_at for s in small if s["company_id"] in first]
    return {
        "whale_orders": whale["orders"],
        "whale_issued": issued[whale["company_id"]],
        "small_tenants_fully_issued": sum(issued[s["company_id"]] == s["orders"] for s in small),
        "whale_first_invoice_s": round(first.get(whale["company_id"], float("nan")) - kicked_at, 1),
        "small_tenants": len(small),
        "small_tenants_with_an_invoice": len(waits),
        "small_first_invoice_s_median": round(statistics.median(waits), 1) if waits else None,
        "small_first_invoice_s_p95": round(percentile(waits, 95), 1) if waits else None,
        "small_first_invoice_s_max": round(max(waits), 1) if waits else None,
    }


def quota_use(calls: list[dict], issued_at: dict, quota: P.Quota) -> dict:
    """Per company and per full quota hour while it still had work: calls and invoices."""
    by_company = defaultdict(list)
    for call in calls:
        if call["company"]:
            by_company[call["company"]].append(call["t"])
    invoices = defaultdict(list)
    for t, company in issued_at.values():
        invoices[company].append(t)
    windows = []
    hour = quota.hour_seconds
    for company, moments in by_company.items():
        first, last = int(min(moments) // hour), int(max(moments) // hour)
        counts = Counter(int(t // hour) for t in moments)
        made = Counter(int(t // hour) for t in invoices[company])
        # Steady state: the hours strictly between the first (joined mid-hour) and the last
        # (the backlog ran out during it).
        for window in range(first + 1, last):
            windows.append({"company": company, "calls": counts[window], "invoices": made[window]})
    if not windows:
        return {"steady_windows": 0}
    use = [w["calls"] / quota.hourly_limit for w in windows]
    per_hour_real = [w["invoices"] / quota.count_factor for w in windows]  # back to 1,000 requests/hour
    return {
        "steady_windows": len(windows),
        "companies_with_steady_windows": len({w["company"] for w in windows}),
        "ceiling_use_mean": round(statistics.mean(use), 3),
        "ceiling_use_min": round(min(use), 3),
        "ceiling_use_max": round(max(use), 3),
        "invoices_per_hour_per_company_at_real_quota_mean": round(statistics.mean(per_hour_real), 1),
        "invoices_per_hour_per_company_at_real_quota_min": round(min(per_hour_real), 1),
    }


def probe_costs(rows: list[dict], issued: int) -> dict:
    invoice_runs = [r for r in rows if r["task"] == "invoicing.tasks.invoice_order"]
    by_task = defaultdict(lambda: {"runs": 0, "sql": 0, "cpu_ms": 0.0})
    for r in rows:
        entry = by_task[r["task"].rsplit(".", 1)[-1]]
        entry["runs"] += 1
        entry["sql"] += r["sql"]
        entry["cpu_ms"] += r["cpu_ms"]
    # The run that issued each invoice is the one with the most SQL for that id (the others were
    # quota waits or lock waits).
    final = {}
    for r in invoice_runs:
        if r["sql"] and (r["args"][0] not in final or r["sql"] > final[r["args"][0]]["sql"]):
            final[r["args"][0]] = r
    return {
        "tasks": {k: {**v, "cpu_ms": round(v["cpu_ms"], 1)} for k, v in by_task.items()},
        "invoice_task_runs": len(invoice_runs),
        "runs_that_touched_no_sql": sum(1 for r in invoice_runs if r["sql"] == 0),
        "sql_per_invoice_all_tasks": round(sum(r["sql"] for r in rows) / max(issued, 1), 2),
        "cpu_ms_per_invoice_all_tasks": round(sum(r["cpu_ms"] for r in rows) / max(issued, 1), 2),
        "issuing_run_sql_p50": percentile([r["sql"] for r in final.values()], 50),
        "issuing_run_sql_max": max((r["sql"] for r in final.values()), default=0),
        "issuing_run_cpu_ms_p50": round(percentile([r["cpu_ms"] for r in final.values()], 50), 2),
        "issuing_run_cpu_ms_p95": round(percentile([r["cpu_ms"] for r in final.values()], 95), 2),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--orders", type=int, default=2000, help="orders in all, spread evenly over the tenants")
    parser.add_argument("--returning", type=float, default=0.5, help="share of orders from returning buyers")
    parser.add_argument("--latency-ms", type=int, default=150)
    parser.add_argument("--hour-seconds", type=int, default=60, help="length of one quota hour (3600 = real)")
    parser.add_argument("--hourly-limit", type=int, default=60, help="requests per company per quota hour")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=4, help="pool processes per worker")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/8")
    parser.add_argument("--sandbox-redis", default="redis://127.0.0.1:6379/9")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--whale", type=int, default=0, help="orders of the first tenant (0: no whale)")
    parser.add_argument("--small-orders", default="10,50", help="with --whale: the others' orders, min,max")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--db", default=DB, help="the throw-away database (bench_…)")
    parser.add_argument("--beat", action="store_true", help="run beat too: the dispatcher wakes quota-waiting invoices")
    args = P.arguments_or_phase(parser, report=lambda: P.verify() | invoice_costs())
    if args is None:
        return

    setup = P.Setup(
        db=args.db,
        redis_url=args.redis,
        sandbox_redis_url=args.sandbox_redis,
        quota=P.Quota(hour_seconds=args.hour_seconds, hourly_limit=args.hourly_limit),
        latency_ms=args.latency_ms,
        workers=args.workers,
        concurrency=args.concurrency,
    )
    P.prepare_workdir(setup)
    for url in (setup.redis_url, setup.sandbox_redis_url):
        P.flush_redis(url)
    create_database(args.db)
    script = str(Path(__file__).resolve())
    report = {"args": {k: v for k, v in vars(args).items() if k not in ("phase", "out", "params")}}
    report["quota"] = {
        "hour_seconds": setup.quota.hour_seconds,
        "hourly_limit": setup.quota.hourly_limit,
        "short_window_seconds": setup.quota.short_window,
        "short_limit": setup.quota.short_limit,
        "product_budgets": setup.quota.product_env(),
    }
    try:
        migrate(setup.product_env())
        t = time.perf_counter()
        seeded = P.child(
            setup,
            script,
            "seed",
            tenants=args.tenants,
            orders_per_tenant=orders_per_tenant(args),
            returning_share=args.returning,
        )
        report["seed_seconds"] = round(time.perf_counter() - t, 1)
        expected = sum(t["orders"] for t in seeded["tenants"])
        with P.sandbox_server(setup) as access_log:
            workers = P.Workers(setup)
            workers.start_all()
            beat = start_beat(setup) if args.beat else None
            try:
                kicked = P.child(setup, script, "kick", tenant_ids=[t["tenant_id"] for t in seeded["tenants"]])

                in_flight: list[tuple[float, int]] = []

                def progress(elapsed, states):
                    in_flight.append((round(elapsed, 1), messages_in_broker(setup.redis_url)))
                    if int(elapsed) % 15 == 0:
                        print(f"  {elapsed:6.0f} s  {dict(states)}", flush=True)

                watch = P.wait_until_settled(setup, workers, expected=expected, timeout=args.timeout, on_tick=progress)
            finally:
                workers.stop_all()
                if beat:
                    P._stop(beat)
            memory = workers.memory_report()
        result = P.child(setup, script, "report")
        calls = P.read_access_log(access_log)
        probe = P.read_probe(setup)
        issued = result["invoice_states"].get("issued", 0)
        statuses = Counter(c["status"] for c in calls)
        wall = watch["seconds"]
        report.update(
            {
                "orders": expected,
                "tenants": len(seeded["tenants"]),
                "settled": watch["settled"],
                "wall_seconds": round(wall, 1),
                "kick_to_settled_seconds": round(wall, 1),
                "invoices_per_second_all_companies": round(issued / wall, 2),
                "fatture_calls": len(calls),
                "fatture_calls_per_invoice_overall": round(len(calls) / max(issued, 1), 3),
                "responses_by_status": dict(sorted(statuses.items())),
                "responses_429": statuses.get(429, 0),
                "responses_403": statuses.get(403, 0),
                "calls_by_customer": result["calls_by_customer"],
                "quota_use": quota_use(calls, result["issued_at"], setup.quota),
                "cost": probe_costs(probe, issued),
                "memory": memory,
                "exactly_once": {k: v for k, v in result.items() if k not in ("calls_by_customer", "issued_at")},
                "kicked_at": kicked["at"],
                "messages_in_flight_max": max((n for _, n in in_flight), default=0),
                "messages_in_flight": in_flight[:: max(1, len(in_flight) // 40)],
            }
        )
        if args.whale:
            report["first_invoice"] = first_invoices(result["issued_at"], kicked["at"], seeded["tenants"])
    finally:
        if not args.keep:
            drop_database(args.db)
    out = RESULTS.with_name("pipeline_whale.json") if args.whale else RESULTS
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print_table(report)


def start_beat(setup: P.Setup):
    """Celery beat with the product's schedule (as bench/fault_bench.py runs it): without it a
    company's head that waits for the quota in the database is woken by nothing once no task of
    that company is running."""
    import subprocess

    log = str(setup.workdir / "beat.log")
    args = [P.CELERY, "-A", "brickinvoice", "beat", "-l", "INFO", "--logfile", log]
    return subprocess.Popen(args, cwd=ROOT, env=setup.product_env(), start_new_session=True)


def orders_per_tenant(args) -> int | list[int]:
    if not args.whale:
        return args.orders // args.tenants
    low, high = (int(n) for n in args.small_orders.split(","))
    rng = random.Random(args.seed)
    return [args.whale] + [rng.randint(low, high) for _ in range(args.tenants - 1)]


def print_table(r: dict) -> None:
    q, cost, once = r["quota_use"], r["cost"], r["exactly_once"]
    rows = [
        ("orders / tenants", f"{r['orders']} / {r['tenants']}"),
        (
            "quota hour / limit (short)",
            f"{r['quota']['hour_seconds']} s / {r['quota']['hourly_limit']} "
            f"({r['quota']['short_limit']} per {r['quota']['short_window_seconds']} s)",
        ),
        ("settled", f"{r['settled']} in {r['wall_seconds']} s"),
        ("steady quota hours (company x hour)", q.get("steady_windows")),
        ("quota ceiling used, mean / min", f"{q.get('ceiling_use_mean')} / {q.get('ceiling_use_min')}"),
        ("invoices/hour/company at the real quota, mean", q.get("invoices_per_hour_per_company_at_real_quota_mean")),
        ("Fatture calls per invoice, overall", r["fatture_calls_per_invoice_overall"]),
        *[
            (f"  calls per invoice, {kind} customer", f"{v['calls_per_invoice']} ({v['invoices']} invoices)")
            for kind, v in r["calls_by_customer"].items()
        ],
        ("429 / 403 responses", f"{r['responses_429']} / {r['responses_403']}"),
        ("SQL per invoice, all tasks", cost["sql_per_invoice_all_tasks"]),
        ("SQL of the issuing run, p50 / max", f"{cost['issuing_run_sql_p50']} / {cost['issuing_run_sql_max']}"),
        ("CPU ms per invoice, all tasks", cost["cpu_ms_per_invoice_all_tasks"]),
        (
            "CPU ms of the issuing run, p50 / p95",
            f"{cost['issuing_run_cpu_ms_p50']} / {cost['issuing_run_cpu_ms_p95']}",
        ),
        (
            "invoice task runs (no SQL: quota waits)",
            f"{cost['invoice_task_runs']} ({cost['runs_that_touched_no_sql']})",
        ),
        *[
            (f"peak RSS, {role} processes (MiB, median / max)", f"{v['peak_rss_mib_median']} / {v['peak_rss_mib_max']}")
            for role, v in r["memory"].items()
        ],
        ("invoice states", once["invoice_states"]),
        (
            "documents / duplicates / lost",
            f"{once['documents_in_fatture']} / {once['duplicate_documents']} / {once['orders_without_a_document']}",
        ),
        ("duplicate clients", once["duplicate_clients"]),
        ("exactly once", once["exactly_once"]),
        ("messages in the broker, max", r["messages_in_flight_max"]),
        *[(f"first invoice: {k}", v) for k, v in r.get("first_invoice", {}).items()],
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
