"""Slow faults, end to end: Redis restarted, PostgreSQL connections dropped, a worker SIGKILLed.

Each scenario starts from scratch: ``--tenants`` sellers with ``--orders`` paid orders in all, a
sandbox Fatture in Cloud with 150 ms per call (gunicorn), two prefork Celery workers and Celery
beat (the real safety net, ``requeue_stuck_invoices``, every 15 s here instead of 300 s), and a
private Redis server (so that restarting it touches nothing else on the machine). The fault is
injected while invoices are being written; then the run waits until every invoice settles and
counts, on both sides, documents per order.

- ``redis-restart``: the product's Redis (broker and cache) is shut down without saving and
  started again, empty: queued messages, reserved tasks, locks and quota counters are lost.
- ``pg-drop``: every connection of the workers to PostgreSQL is terminated
  (``pg_terminate_backend``) while an invoice is being created, twice.
- ``worker-kill``: one worker and all its pool processes get SIGKILL while an invoice is being
  created; a new worker starts 5 s later.

The claim lease is 200 s (the product's default is 600 s; it must exceed the invoice task's hard
time limit of 180 s), so recovery of an invoice whose worker died takes 3 to 4 minutes.

    .venv/bin/python bench/fault_bench.py [--scenario all|redis-restart|pg-drop|worker-kill]

Prints a table and writes bench/results/faults.json.
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import _pipeline as P  # noqa: E402
from bench._harness import ROOT, create_database, database_url, drop_database, free_port, migrate  # noqa: E402

DB = "bench_faults"
RESULTS = ROOT / "bench" / "results" / "faults.json"
SCENARIOS = ["redis-restart", "pg-drop", "worker-kill"]
REDIS_SERVER = "redis-server"


class PrivateRedis:
    def __init__(self, port: int, workdir: Path):
        self.port, self.workdir, self.proc = port, workdir, None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        log = open(self.workdir / "redis.log", "a")  # noqa: SIM115
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        import redis

        deadline = time.monotonic() + 20
        while True:
            try:
                redis.Redis.from_url(self.url).ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)


def wait_for_state(setup: P.Setup, state: str, *, timeout: float = 120) -> bool:
    """Until some invoice is in ``state`` (``submitting``: a create call is in flight)."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(database_url(setup.db), autocommit=True, application_name="bench-watch") as conn:
        while time.monotonic() < deadline:
            (n,) = conn.execute("SELECT count(*) FROM invoicing_invoice WHERE state = %s", [state]).fetchone()
            if n:
                return True
            time.sleep(0.02)
    return False


def wait_for_issued(setup: P.Setup, share: float, expected: int, *, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if P.invoice_states(setup).get("issued", 0) >= share * expected:
            return
        time.sleep(0.2)


def drop_connections(setup: P.Setup) -> int:
    with psycopg.connect(database_url("postgres"), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid() AND application_name NOT LIKE 'bench-%%'",
            [setup.db],
        ).fetchall()
    return len(rows)


def run_scenario(name: str, args) -> dict:
    workdir = ROOT / "var" / "bench-faults" / name
    redis_server = PrivateRedis(free_port(), workdir)
    setup = P.Setup(
        db=DB,
        redis_url="",
        sandbox_redis_url=args.sandbox_redis,
        quota=P.Quota(),
        latency_ms=args.latency_ms,
        workers=2,
        concurrency=args.concurrency,
        claim_lease=200,
        workdir=workdir,
    )
    P.prepare_workdir(setup)
    redis_server.start()
    setup.redis_url = redis_server.url
    P.flush_redis(setup.sandbox_redis_url)
    create_database(DB)
    script = str(Path(__file__).resolve())
    events = []
    beat = None
    try:
        env = setup.product_env() | {"INVOICE_REQUEUE_EVERY_SECONDS": "15"}
        migrate(env)
        seeded = P.child(
            setup,
            script,
            "seed",
            tenants=args.tenants,
            orders_per_tenant=args.orders // args.tenants,
            returning_share=0.5,
        )
        expected = sum(t["orders"] for t in seeded["tenants"])
        with P.sandbox_server(setup):
            workers = P.Workers(setup)
            workers.start_all()
            beat = subprocess.Popen(
                [P.CELERY, "-A", "brickinvoice", "beat", "-l", "INFO", "--logfile", str(workdir / "beat.log")],
                cwd=ROOT,
                env=env,
                start_new_session=True,
            )
            try:
                P.child(setup, script, "kick", tenant_ids=[t["tenant_id"] for t in seeded["tenants"]])
                started = time.monotonic()
                wait_for_issued(setup, 0.25, expected)
                if name == "redis-restart":
                    events.append(("before", dict(P.invoice_states(setup))))
                    redis_server.stop()
                    events.append(("redis stopped", time.monotonic() - started))
                    time.sleep(3)
                    redis_server.start()
                    events.append(("redis started, empty", time.monotonic() - started))
                elif name == "pg-drop":
                    for _ in range(2):
                        wait_for_state(setup, "submitting")
                        events.append(("connections terminated", drop_connections(setup)))
                        time.sleep(5)
                elif name == "worker-kill":
                    wait_for_state(setup, "submitting")
                    in_flight = dict(P.invoice_states(setup))
                    pids = workers.kill(0)
                    events.append(("SIGKILL worker0", {"pids": len(pids), "states_at_kill": in_flight}))
                    time.sleep(5)
                    workers.start(0)
                    events.append(("worker0 restarted", time.monotonic() - started))
                watch = P.wait_until_settled(setup, workers, expected=expected, timeout=args.timeout, every=2)
            finally:
                workers.stop_all()
                if beat:
                    P._stop(beat)
        result = P.child(setup, script, "report")
    finally:
        redis_server.stop()
        drop_database(DB)
    return {
        "scenario": name,
        "orders": expected,
        "events": events,
        "settled": watch["settled"],
        "seconds_to_settle": round(watch["seconds"], 1),
        **result,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="all", choices=["all", *SCENARIOS])
    parser.add_argument("--tenants", type=int, default=5)
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--latency-ms", type=int, default=150)
    parser.add_argument("--concurrency", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--sandbox-redis", default="redis://127.0.0.1:6379/10")
    args = P.arguments_or_phase(parser, report=P.verify)
    if args is None:
        return
    names = SCENARIOS if args.scenario == "all" else [args.scenario]
    report = {"args": {k: v for k, v in vars(args).items() if k not in ("phase", "out", "params")}, "scenarios": []}
    for name in names:
        print(f"== {name}", flush=True)
        outcome = run_scenario(name, args)
        report["scenarios"].append(outcome)
        print(json.dumps({k: outcome[k] for k in ("events", "settled", "seconds_to_settle")}, default=str))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    if args.scenario != "all" and RESULTS.exists():
        # Keep the other scenarios' last results.
        old = json.loads(RESULTS.read_text())
        report["scenarios"] = [s for s in old.get("scenarios", []) if s["scenario"] not in names] + report["scenarios"]
    RESULTS.write_text(json.dumps(report, indent=2, default=str))
    print()
    print("| scenario | orders | settled in | documents | duplicates | lost | duplicate clients | states |")
    print("|---|---|---|---|---|---|---|---|")
    for s in report["scenarios"]:
        print(
            f"| {s['scenario']} | {s['eligible_orders']} | {s['seconds_to_settle']} s | {s['documents_in_fatture']} | "
            f"{s['duplicate_documents']} | {s['orders_without_a_document']} | {s['duplicate_clients']} | "
            f"{s['invoice_states']} |"
        )


if __name__ == "__main__":
    main()
