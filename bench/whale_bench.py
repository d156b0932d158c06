"""The whale on one scaled clock (issue 17): one tenant with a large backlog among many small ones,
every timer of the product and the sandbox on the same fast clock (bench/_scaled.py), beat running.

    .venv/bin/python bench/whale_bench.py --whale 20000 --tenants 200 --hour-seconds 36 \\
        --db bench_whale --redis redis://127.0.0.1:6379/10 --sandbox-redis redis://127.0.0.1:6379/11

Runs until every small tenant's invoices are settled and the whale has drained ``--drain-seconds``
more (and, with ``--until``, at least until that moment: e.g. just after a month window turns),
or ``--timeout``. ``--month-prespent N``: the whale's company had already spent N calls of the
current (scaled) month before the run, so its backlog meets the month's limit within the run.

Reports the small tenants' time to first invoice, messages in the broker over time, 429/403 from
the sandbox, each company's largest share of each quota window (rolling short window, hour,
month), duplicates and lost orders, the workers' whole-process CPU. Writes
bench/results/whale_<name>.json. Drops its database and stops its processes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import _pipeline as P  # noqa: E402
from bench import _scaled as S  # noqa: E402
from bench import pipeline_bench as PB  # noqa: E402
from bench._harness import ROOT, create_database, database_url, drop_database, migrate, percentile  # noqa: E402

# --- the report phase (a child with Django) ------------------------------------------------------


def report_phase() -> dict:
    return P.verify() | PB.invoice_costs() | accounted()


def accounted() -> dict:
    """Every eligible order is issued once (a document in the sandbox), or waits in a state the
    product will pick up again by itself; anything else is lost. Waiting: ``pending`` (its turn,
    the quota: ``next_attempt_at``, or a message in flight: ``queued_at``), ``claimed`` or
    ``submitting`` (a worker on it, or the claim lease brings it back), ``failed`` with a
    ``next_attempt_at`` (an automatic retry). Held (``needs_attention``, ``skipped``) waits for the
    seller and is reported apart. Lost: no invoice row, ``issued`` without a document, ``failed``
    with no retry planned."""
    from invoicing.models import Invoice
    from marketplaces.models import Order
    from sandbox.models import SandboxFattureDocument

    documented = set(SandboxFattureDocument.objects.filter(doc_type="invoice").values_list("data__subject", flat=True))
    rows = {
        r["order_id"]: r
        for r in Invoice.objects.values("order_id", "state", "next_attempt_at", "queued_at", "tenant_id")
    }
    kinds: Counter = Counter()
    lost_examples = []
    for order_id, public_id in Order.objects.filter(
        status="paid", tenant__fatture_connection__isnull=False
    ).values_list("id", "public_id"):
        row = rows.get(order_id)
        has_doc = f"BrickInvoice order {public_id}" in documented
        if has_doc and row and row["state"] == "issued":
            kind = "issued"
        elif row is None:
            kind = "lost: no invoice row"
        elif has_doc:
            kind = f"document but row {row['state']} (adopted by the next attempt's look-up)"
        elif row["state"] == "pending":
            kind = "waiting: pending, quota wait" if row["next_attempt_at"] else "waiting: pending"
        elif row["state"] in ("claimed", "submitting"):
            kind = f"waiting: {row['state']}"
        elif row["state"] == "failed":
            kind = "waiting: failed, retry planned" if row["next_attempt_at"] else "lost: failed, no retry"
        elif row["state"] in ("needs_attention", "skipped"):
            kind = f"held: {row['state']}"
        else:
            kind = f"lost: {row['state']} without a document"
        kinds[kind] += 1
        if kind.startswith("lost") and len(lost_examples) < 5:
            lost_examples.append(order_id)
    return {
        "accounted": dict(kinds),
        "lost": sum(n for k, n in kinds.items() if k.startswith("lost")),
        "lost_examples": lost_examples,
    }


# --- watching ----------------------------------------------------------------------------------------


def tick(conn, whale_tenant: int) -> dict:
    rows = conn.execute(
        "SELECT tenant_id = %s, state, count(*) FROM invoicing_invoice GROUP BY 1, 2", (whale_tenant,)
    ).fetchall()
    whale = {state: n for is_whale, state, n in rows if is_whale}
    small = {state: n for is_whale, state, n in rows if not is_whale}
    head = conn.execute(
        "SELECT count(*), max(next_attempt_at) FROM invoicing_invoice "
        "WHERE tenant_id = %s AND state = 'pending' AND next_attempt_at > now()",
        (whale_tenant,),
    ).fetchone()
    return {
        "whale": whale,
        "small_settled": sum(small.get(s, 0) for s in P.SETTLED),
        "whale_parked": head[0],
        "whale_parked_until": head[1].timestamp() if head[1] else None,
    }


def stats(values: list[float]) -> dict:
    if not values:
        return {}
    return {
        "samples": len(values),
        "min": min(values),
        "median": statistics.median(values),
        "p95": percentile(values, 95),
        "max": max(values),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=200)
    parser.add_argument("--whale", type=int, default=20000, help="orders of the first tenant")
    parser.add_argument("--small-orders", default="10,50", help="the other tenants' orders, min,max")
    parser.add_argument("--returning", type=float, default=0.5, help="share of orders from returning buyers")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--latency-ms", type=int, default=150)
    parser.add_argument("--hour-seconds", type=int, default=36, help="one quota hour (time factor 3600 / this)")
    parser.add_argument("--hourly-limit", type=int, default=60, help="requests per company per quota hour")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--drain-seconds", type=float, default=180, help="after the small tenants settled")
    parser.add_argument("--until", type=float, default=0, help="run at least until this Unix time")
    parser.add_argument("--timeout", type=float, default=3000)
    parser.add_argument("--month-prespent", type=int, default=0, help="whale's calls already spent this month")
    parser.add_argument("--name", default="scaled", help="results go to bench/results/whale_<name>.json")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/10")
    parser.add_argument("--sandbox-redis", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--db", default="bench_whale")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--no-settle", action="store_true", help="skip VACUUM ANALYZE between the seeding and the run")
    args = P.arguments_or_phase(parser, report=report_phase)
    if args is None:
        return

    quota = P.Quota(hour_seconds=args.hour_seconds, hourly_limit=args.hourly_limit).scaled_month()
    product_clocks, clock_rows = S.clocks(quota)
    setup = P.Setup(
        db=args.db,
        redis_url=args.redis,
        sandbox_redis_url=args.sandbox_redis,
        quota=quota,
        latency_ms=args.latency_ms,
        workers=args.workers,
        concurrency=args.concurrency,
        workdir=ROOT / "var" / f"bench-whale-{args.name}",
    )
    setup.claim_lease = product_clocks.pop("INVOICE_CLAIM_LEASE_SECONDS")
    setup.extra_env = product_clocks
    setup.sandbox_extra_env = {"BENCH_CALL_LOG_DIR": setup.workdir / "calls"}
    P.prepare_workdir(setup)
    (setup.workdir / "calls").mkdir()
    for url in (setup.redis_url, setup.sandbox_redis_url):
        P.flush_redis(url)
    create_database(args.db)
    script = str(Path(__file__).resolve())
    report: dict = {
        "args": {k: v for k, v in vars(args).items() if k not in ("phase", "out", "params")},
        "started_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "time_factor": quota.time_factor,
        "count_factor": quota.count_factor,
        "quota": {
            "hour_seconds": quota.hour_seconds,
            "hourly_limit": quota.hourly_limit,
            "short_window_seconds": quota.short_window,
            "short_limit": quota.short_limit,
            "month_seconds": quota.month_seconds,
            "monthly_limit": quota.monthly_limit,
        },
        "clocks": clock_rows,
        "product_env": {k: str(v) for k, v in (setup.quota.product_env() | product_clocks).items()}
        | {"INVOICE_CLAIM_LEASE_SECONDS": str(setup.claim_lease)},
    }
    try:
        migrate(setup.product_env())
        t = time.perf_counter()
        low, high = (int(n) for n in args.small_orders.split(","))
        import random

        rng = random.Random(args.seed)
        per_tenant = [args.whale] + [rng.randint(low, high) for _ in range(args.tenants - 1)]
        seeded = P.child(
            setup, script, "seed", tenants=args.tenants, orders_per_tenant=per_tenant, returning_share=args.returning
        )
        report["seed_seconds"] = round(time.perf_counter() - t, 1)
        if not args.no_settle:
            # The seeding's housekeeping (autovacuum of 20,000 fresh orders and their items) is not
            # part of the run: without this it falls in the run's first minute, on the cores the
            # first invoices need, and only in the whale's run.
            t = time.perf_counter()
            with psycopg.connect(database_url(args.db), autocommit=True) as conn:
                conn.execute("VACUUM ANALYZE")
            report["settle_seconds"] = round(time.perf_counter() - t, 1)
        tenants = seeded["tenants"]
        whale, small = tenants[0], tenants[1:]
        small_expected = sum(t["orders"] for t in small)
        preload = {}
        if args.month_prespent:
            key = S.preload_month(
                args.sandbox_redis, whale["company_id"], args.month_prespent, quota.month_seconds, time.time()
            )
            preload = {whale["company_id"]: args.month_prespent}
            report["month_prespent"] = {"company": whale["company_id"], "calls": args.month_prespent, "key": key}
        config = ROOT / "bench" / "_gunicorn_calls.py"
        with P.sandbox_server(setup, config=config):
            workers = P.Workers(setup)
            workers.start_all()
            beat = PB.start_beat(setup)
            timeline: list[dict] = []
            loads: list[float] = []
            try:
                kicked = P.child(setup, script, "kick", tenant_ids=[t["tenant_id"] for t in tenants])
                started = kicked["at"]
                small_settled_at = None
                with psycopg.connect(database_url(setup.db), autocommit=True, application_name="bench-watch") as conn:
                    while True:
                        workers.sample()
                        now = time.time()
                        row = tick(conn, whale["tenant_id"])
                        row["t"] = round(now - started, 1)
                        row["broker"] = PB.messages_in_broker(setup.redis_url)
                        timeline.append(row)
                        loads.append(os.getloadavg()[0])
                        if small_settled_at is None and row["small_settled"] >= small_expected:
                            small_settled_at = now
                            print(f"  small tenants settled at {now - started:.0f} s", flush=True)
                        if int(row["t"]) % 30 == 0:
                            print(
                                f"  {row['t']:7.1f} s  broker {row['broker']:4d}  small settled "
                                f"{row['small_settled']}/{small_expected}  whale {row['whale']}",
                                flush=True,
                            )
                        whale_done = sum(row["whale"].get(s, 0) for s in P.SETTLED) >= whale["orders"]
                        drained = small_settled_at and now - small_settled_at >= args.drain_seconds
                        if (drained or whale_done) and now >= args.until and small_settled_at:
                            break
                        if now - started > args.timeout:
                            print("  timeout", flush=True)
                            break
                        time.sleep(1.0)
                cpu = {f"worker{i}": round(S.tree_cpu(p.pid), 1) for i, p in workers.procs.items()}
                cpu["beat"] = round(S.tree_cpu(beat.pid), 1)
                wall = time.time() - started
            finally:
                workers.stop_all()
                P._stop(beat)
            memory = workers.memory_report()
        result = P.child(setup, script, "report")
        calls = S.read_calls(setup.workdir / "calls")
        probe = P.read_probe(setup)
    finally:
        if not args.keep:
            drop_database(args.db)

    issued = result["invoice_states"].get("issued", 0)
    statuses = Counter(c["status"] for c in calls)
    use = S.window_use(calls, quota, month_preload=preload)
    first = PB.first_invoices(result["issued_at"], started, tenants)
    by_company_status = Counter((c["company"], c["status"]) for c in calls)
    first_by_company: dict[int, float] = {}
    for t_issued, company in result["issued_at"].values():
        first_by_company[company] = min(first_by_company.get(company, t_issued), t_issued)
    per_tenant = [
        {
            "company": t["company_id"],
            "orders": t["orders"],
            "issued": sum(1 for _, c in result["issued_at"].values() if c == t["company_id"]),
            "first_invoice_s": round(first_by_company[t["company_id"]] - started, 1)
            if t["company_id"] in first_by_company
            else None,
            "responses_429": by_company_status[(t["company_id"], 429)],
            "responses_403": by_company_status[(t["company_id"], 403)],
            **use.get(t["company_id"], {}),
        }
        for t in tenants
    ]
    small_settled_s = round(small_settled_at - started, 1) if small_settled_at else None
    whale_alone = [r["broker"] for r in timeline if small_settled_s is not None and r["t"] >= small_settled_s]
    both = [r["broker"] for r in timeline if small_settled_s is None or r["t"] < small_settled_s]
    whale_issued_at = sorted(t for t, c in result["issued_at"].values() if c == whale["company_id"])
    month_boundaries = [
        b * quota.month_seconds
        for b in range(int(started // quota.month_seconds) + 1, int((started + wall) // quota.month_seconds) + 1)
    ]
    task_cpu = sum(r["cpu_ms"] for r in probe) / 1000
    report.update(
        {
            "orders": sum(t["orders"] for t in tenants),
            "whale_orders": whale["orders"],
            "small_orders": small_expected,
            "wall_seconds": round(wall, 1),
            "small_settled_s": small_settled_s,
            "load_average_1min": stats(loads),
            "first_invoice": first,
            "fatture_calls": len(calls),
            "responses_by_status": dict(sorted(statuses.items())),
            "responses_429": statuses.get(429, 0),
            "responses_403": statuses.get(403, 0),
            "window_share_max": {
                w: max((u[f"{w}_share"] for u in use.values()), default=0) for w in ("short", "hour", "month")
            },
            "window_share_max_small": {
                w: max((u[f"{w}_share"] for c, u in use.items() if c != whale["company_id"]), default=0)
                for w in ("short", "hour", "month")
            },
            "whale_window_use": use.get(whale["company_id"]),
            "messages_in_broker": {
                "whole_run": stats([r["broker"] for r in timeline]),
                "with_small_tenants": stats(both),
                "whale_alone": stats(whale_alone),
            },
            "whale_issued": len(whale_issued_at),
            "whale_issued_per_second_alone": round(
                sum(1 for t in whale_issued_at if small_settled_at and t >= small_settled_at)
                / max(1.0, started + wall - small_settled_at),
                3,
            )
            if small_settled_at
            else None,
            "month": {
                "boundaries_in_run_s": [round(b - started, 1) for b in month_boundaries],
                "whale_parked_max": max((r["whale_parked"] for r in timeline), default=0),
                "whale_parked_until_s": sorted(
                    {round(r["whale_parked_until"] - started, 1) for r in timeline if r["whale_parked_until"]}
                )[-5:],
                "whale_issued_before_boundary": sum(
                    1 for t in whale_issued_at if month_boundaries and t < month_boundaries[0]
                ),
                "whale_last_issue_before_boundary_s": round(
                    max((t for t in whale_issued_at if month_boundaries and t < month_boundaries[0]), default=started)
                    - started,
                    1,
                )
                if month_boundaries
                else None,
                "whale_first_issue_after_boundary_s": round(
                    min((t for t in whale_issued_at if month_boundaries and t >= month_boundaries[0]), default=started)
                    - started,
                    1,
                )
                if month_boundaries
                else None,
                "whale_issued_after_boundary": sum(
                    1 for t in whale_issued_at if month_boundaries and t >= month_boundaries[0]
                ),
            },
            "cpu_seconds": {
                "workers_whole_process": round(sum(v for k, v in cpu.items() if k.startswith("worker")), 1),
                "task_bodies": round(task_cpu, 1),
                "by_process_tree": cpu,
            },
            "cpu_ms_per_issued_invoice": {
                "workers_whole_process": round(
                    1000 * sum(v for k, v in cpu.items() if k.startswith("worker")) / max(issued, 1), 1
                ),
                "task_bodies": round(1000 * task_cpu / max(issued, 1), 1),
            },
            "memory": memory,
            "exactly_once": {k: v for k, v in result.items() if k not in ("calls_by_customer", "issued_at")},
            "duplicates": result["duplicate_documents"],
            "lost": result["lost"],
            "broker_timeline": [(r["t"], r["broker"]) for r in timeline[:: max(1, len(timeline) // 200)]],
            "whale_timeline": [
                (r["t"], r["whale"].get("issued", 0), r["whale_parked"])
                for r in timeline[:: max(1, len(timeline) // 200)]
            ],
            "per_tenant": per_tenant,
        }
    )
    out = ROOT / "bench" / "results" / f"whale_{args.name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str))
    summary = {
        k: report[k]
        for k in (
            "orders",
            "wall_seconds",
            "small_settled_s",
            "first_invoice",
            "responses_429",
            "responses_403",
            "window_share_max",
            "messages_in_broker",
            "whale_issued",
            "month",
            "cpu_seconds",
            "cpu_ms_per_issued_invoice",
            "duplicates",
            "lost",
            "load_average_1min",
        )
    }
    summary["accounted"] = result["accounted"]
    print(json.dumps(summary, indent=1, default=str))


if __name__ == "__main__":
    main()
