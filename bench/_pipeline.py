"""Shared machinery of ``bench/pipeline_bench.py`` and ``bench/fault_bench.py``: many sellers,
each with its own Fatture company on the sandbox, invoiced by real Celery workers.

Processes, all on 127.0.0.1:
- the sandbox Fatture in Cloud (``sandbox/fatture_api.py``) under gunicorn (gthread), with a
  latency and quotas taken from the environment (``SANDBOX_FATTURE_*``) and an access log that is
  the ground truth for "calls made" and "429/403 received";
- N Celery workers (prefork) running the product's real tasks on Redis and PostgreSQL, configured
  only through the environment, like production; ``bench.settings_pipeline`` adds a probe that
  writes each task's SQL count and CPU time to a file;
- this process: seeds the database in a child (Django), kicks the syncs, watches the invoice
  table with plain psycopg, samples the workers' memory, and checks the result against the
  sandbox's own documents (exactly once, nothing lost).
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._harness import ROOT, base_env, database_url, free_port, python, stop_group  # noqa: E402

# Not secrets: a throw-away key pair for a throw-away database.
SECRET_KEY = "bench-pipeline-secret-key-not-used-anywhere-else-0123456789abcdef"
FIELD_KEY = "YmVuY2gtcGlwZWxpbmUtZmllbGQta2V5LTMyLWJ5dGU="
COMPANY_BASE = 810_000
CELERY = str(ROOT / ".venv" / "bin" / "celery")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
SETTLED = ("issued", "needs_attention", "skipped")


@dataclass
class Quota:
    """Fatture's quotas, optionally on a faster clock: one quota hour lasts ``hour_seconds`` and
    allows ``hourly_limit`` requests per company. The short-term limit (300 / 5 min) and our own
    budgets (95 % of the hour, half of the short limit per bucket) are scaled the same way."""

    hour_seconds: int = 3600
    hourly_limit: int = 1000
    # The month: off (10**9, the earlier runs) unless a scenario sets it; ``scaled_month`` gives the
    # real 40,000 a 30-day month on the same clock and count scale as the hour.
    monthly_limit: int = 10**9
    month_seconds: int = 0

    def scaled_month(self) -> Quota:
        return Quota(
            self.hour_seconds,
            self.hourly_limit,
            max(1, round(40000 * self.count_factor)),
            max(1, round(30 * 86400 / self.time_factor)),
        )

    @property
    def time_factor(self) -> float:
        return 3600 / self.hour_seconds

    @property
    def count_factor(self) -> float:
        return self.hourly_limit / 1000

    @property
    def short_window(self) -> int:
        return max(1, round(300 / self.time_factor))

    @property
    def short_limit(self) -> int:
        return max(2, round(300 * self.count_factor))

    @property
    def hourly_budget(self) -> int:
        return math.floor(self.hourly_limit * 0.95)

    def sandbox_env(self) -> dict:
        return {
            "SANDBOX_FATTURE_HOUR_SECONDS": self.hour_seconds,
            "SANDBOX_FATTURE_HOURLY_LIMIT": self.hourly_limit,
            "SANDBOX_FATTURE_SHORT_WINDOW": self.short_window,
            "SANDBOX_FATTURE_SHORT_LIMIT": self.short_limit,
            "SANDBOX_FATTURE_MONTHLY_LIMIT": self.monthly_limit,
            "SANDBOX_FATTURE_MONTH_SECONDS": self.month_seconds,
        }

    def product_env(self) -> dict:
        return {
            "FATTURE_HOUR_SECONDS": self.hour_seconds,
            "FATTURE_HOURLY_BUDGET": self.hourly_budget,
            "FATTURE_SHORT_WINDOW_SECONDS": self.short_window,
            "FATTURE_SHORT_BUDGET": max(1, self.short_limit // 2),
            "FATTURE_MONTHLY_BUDGET": self.monthly_limit,
            "FATTURE_MONTH_SECONDS": self.month_seconds,
        }


@dataclass
class Setup:
    db: str
    redis_url: str  # the product's broker and cache
    sandbox_redis_url: str  # the sandbox's quota counters (a separate Redis database)
    quota: Quota = field(default_factory=Quota)
    latency_ms: int = 150
    workers: int = 2
    concurrency: int = 4
    claim_lease: int = 600
    workdir: Path = field(default_factory=lambda: ROOT / "var" / "bench-pipeline")
    sandbox_port: int = 0
    # More settings for the product's processes and the sandbox's (bench/_scaled.py: the clocks).
    extra_env: dict = field(default_factory=dict)
    sandbox_extra_env: dict = field(default_factory=dict)

    def common_env(self) -> dict:
        return {
            "DATABASE_URL": database_url(self.db),
            # The sandbox refuses to run with DEBUG off (brickinvoice/settings.py, since 9839e5a), so
            # the pipeline benches run the product with DEBUG on: Django then also keeps a bounded log
            # of each connection's queries, a little CPU the earlier (DEBUG off) numbers did not pay.
            "DEBUG": "true",
            "SECRET_KEY": SECRET_KEY,
            "FIELD_ENCRYPTION_KEYS": FIELD_KEY,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "false",
            "SANDBOX": "true",
            "SANDBOX_ALLOW_WITHOUT_DEBUG": "true",
            "SANDBOX_BASE_URL": f"http://127.0.0.1:{self.sandbox_port}/sandbox",
            "LOG_LEVEL": "WARNING",
        }

    def product_env(self) -> dict:
        return base_env(
            **self.common_env(),
            **self.quota.product_env(),
            REDIS_URL=self.redis_url,
            INVOICE_CLAIM_LEASE_SECONDS=self.claim_lease,
            # Backlogs above this wait for the seller's go (queueing.awaiting_confirmation); here
            # every seller has said go, the whale included.
            INVOICING_CONFIRM_ABOVE=10**9,
            BENCH_PROBE_DIR=self.workdir / "probe",
            **self.extra_env,
        ) | {"DJANGO_SETTINGS_MODULE": "bench.settings_pipeline"}

    def sandbox_env(self) -> dict:
        return base_env(
            **self.common_env() | {"DATABASE_URL": database_url(self.db) + "?application_name=bench-sandbox"},
            **self.quota.sandbox_env(),
            REDIS_URL=self.sandbox_redis_url,
            SANDBOX_FATTURE_LATENCY_MS=self.latency_ms,
            **self.sandbox_extra_env,
        )


def child(setup: Setup, script: str, phase: str, **params) -> dict:
    """Run ``script --phase phase`` with Django on the bench database; returns its JSON answer."""
    out = setup.workdir / f"{phase}.json"
    args = [python(), script, "--phase", phase, "--out", str(out), "--params", json.dumps(params, default=str)]
    subprocess.run(args, cwd=ROOT, env=setup.product_env(), check=True)
    return json.loads(out.read_text())


def arguments_or_phase(parser, *, report):
    """The script's arguments; or, when ``child`` started it for one phase (seed, kick, or the
    script's own ``report``), run that phase with Django, write its JSON answer and return None."""
    import argparse

    for hidden in ("--phase", "--out", "--params"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.phase:
        return args
    django_setup()
    phases = {"seed": seed, "kick": kick, "report": report}
    if args.phase not in phases:
        raise SystemExit(f"unknown phase {args.phase}")
    Path(args.out).write_text(json.dumps(phases[args.phase](**json.loads(args.params)), default=str))
    return None


def django_setup() -> None:
    import logging

    import django

    django.setup()
    logging.disable(logging.WARNING)


# --- seeding (runs in a child with Django) ------------------------------------------------------


def seed(*, tenants: int, orders_per_tenant: int | list[int], returning_share: float) -> dict:
    """``tenants`` sellers, each connected to its own sandbox Fatture company with the eight slots
    mapped, and ``orders_per_tenant`` paid Italian orders (one number for all, or one per tenant:
    the whale scenario); ``returning_share`` of them come from a
    buyer who has another order in the batch. Stores are left disconnected, so a sync only queues
    the invoices (no marketplace import in this benchmark)."""
    import secrets
    from datetime import timedelta
    from decimal import Decimal as D

    from django.db import transaction
    from django.utils import timezone

    from accounts.models import SellerSettings, User
    from accounts.services import tenant_create_for_user
    from fatture.models import FattureConnection, ProductMapping
    from fatture.oauth import SCOPES
    from marketplaces.models import Order, OrderItem, StoreConnection
    from sandbox import demo
    from sandbox.conf import fatture_client
    from sandbox.fatture_oauth import digest
    from sandbox.models import SandboxFattureProduct, SandboxFattureToken, SandboxFattureUser, SandboxFattureVatType

    slot_codes = {
        "std_domestic": "STD-IT",
        "std_eu": "STD-UE",
        "std_export": "STD-EXP",
        "margin_domestic": "MRG-IT",
        "margin_eu": "MRG-UE",
        "margin_export": "MRG-EXP",
        "shipping": "SPED",
        "handling": "GEST",
    }
    vat_types = dict(demo.VAT_TYPES)
    now = timezone.now()
    summary = {"tenants": []}
    for t in range(tenants):
        with transaction.atomic():
            company_id = COMPANY_BASE + t
            email = f"seller{t:02d}@bench.brickinvoice.local"
            user = User.objects.create_user(email, "bench-password-not-secret")
            tenant = tenant_create_for_user(user=user, business_name=f"Bench Bricks {t:02d}")
            # The seller has confirmed the first sync's dry run (invoicing/dryrun.py): without it
            # a sync queues nothing and the benchmark would wait for invoices that never come.
            SellerSettings.objects.filter(tenant=tenant).update(invoicing_confirmed_at=now)
            store = StoreConnection.objects.create(
                tenant=tenant,
                marketplace="bricklink",
                name="Bench BrickLink",
                account_ref=f"bench:{t}",
                status=StoreConnection.Status.DISCONNECTED,
            )
            sandbox_user = SandboxFattureUser.objects.create(
                email=email,
                first_name="Bench",
                last_name=f"Seller {t:02d}",
                companies=[demo._company(company_id, f"Bench Bricks {t:02d} S.r.l.", f"IT{company_id:011d}", "")],
            )
            SandboxFattureVatType.objects.bulk_create(
                SandboxFattureVatType(company_id=company_id, vat_id=vat_id, data=data)
                for vat_id, data in demo.VAT_TYPES
            )
            products = {}
            for code, name, vat_id, gross in demo.SLOT_PRODUCTS:
                row = SandboxFattureProduct.objects.create(
                    company_id=company_id, data=demo._product_data(code, name, vat_id, gross)
                )
                products[code] = (row.id, name, vat_id)
            access, refresh = "a/" + secrets.token_urlsafe(32), "r/" + secrets.token_urlsafe(32)
            SandboxFattureToken.objects.create(
                user=sandbox_user,
                client_id=fatture_client()[0],
                scope=" ".join(SCOPES),
                access_hash=digest(access),
                refresh_hash=digest(refresh),
                access_expires_at=now + timedelta(days=2),
                refresh_expires_at=now + timedelta(days=365),
            )
            FattureConnection.objects.create(
                tenant=tenant,
                status=FattureConnection.Status.CONNECTED,
                access_token=access,
                refresh_token=refresh,
                token_expires_at=now + timedelta(days=2),
                fatture_email=email,
                company_id=company_id,
                company_name=f"Bench Bricks {t:02d} S.r.l.",
                invoice_subject="Vendita mattoncini LEGO",
                connected_at=now,
            )
            for slot, code in slot_codes.items():
                product_id, name, vat_id = products[code]
                vat = vat_types[vat_id]
                ProductMapping.objects.create(
                    tenant=tenant,
                    company_id=company_id,
                    slot=slot,
                    product_id=product_id,
                    product_name=name,
                    product_code=code,
                    vat_id=vat_id,
                    vat_value=D(str(vat["value"])),
                    vat_description=vat["description"],
                    vat_ei_type=vat["ei_type"] or "",
                )
            # Buyers: one order each, and the returning share as second (third…) orders of them.
            count = orders_per_tenant[t] if isinstance(orders_per_tenant, list) else orders_per_tenant
            returning = round(count * returning_share)
            buyers = max(1, count - returning)
            owners = list(range(buyers)) + [i % buyers for i in range(returning)]
            orders = []
            for n, buyer in enumerate(owners):
                paid = now - timedelta(days=2, minutes=n)
                orders.append(
                    Order(
                        tenant=tenant,
                        store=store,
                        marketplace="bricklink",
                        marketplace_order_id=str(30_000_000 + t * 100_000 + n),
                        buyer_username=f"buyer{t:02d}_{buyer:04d}",
                        buyer_name=f"Cliente {buyer:04d}",
                        buyer_email=f"buyer{t:02d}_{buyer:04d}@example.com",
                        ship_name=f"Cliente {buyer:04d}",
                        ship_address1=f"Via Roma {buyer % 200 + 1}",
                        ship_postal_code="20121",
                        ship_city="Milano",
                        ship_state="MI",
                        ship_country="IT",
                        ordered_at=paid - timedelta(minutes=5),
                        paid_at=paid,
                        status_changed_at=paid,
                        raw_status="PAID",
                        status="paid",
                        currency="EUR",
                        items_subtotal=D("32.5000"),
                        shipping=D("5.0000"),
                        grand_total=D("37.5000"),
                        amount_paid_to_seller=D("37.5000"),
                        raw={"order_id": n},
                        payload_hash=f"{t:08d}{n:056d}",
                        list_marker=f"{t:08d}{n:056d}",
                    )
                )
            created = Order.objects.bulk_create(orders)
            OrderItem.objects.bulk_create(
                OrderItem(
                    tenant=tenant,
                    order=order,
                    position=position,
                    lot_id=str(position),
                    item_no=item_no,
                    item_type="PART",
                    name=name,
                    condition=condition,
                    quantity=quantity,
                    unit_price=total / quantity,
                    line_total=total,
                )
                for order in created
                for position, (item_no, name, condition, quantity, total) in enumerate(
                    [
                        ("3001", "Brick 2 x 4", "N", 10, D("20.0000")),
                        ("3003", "Brick 2 x 2", "U", 25, D("12.5000")),
                    ]
                )
            )
        summary["tenants"].append(
            {"tenant_id": tenant.id, "company_id": company_id, "orders": len(created), "buyers": buyers}
        )
    return summary


def kick(*, tenant_ids: list[int]) -> dict:
    """What the "Sync now" button does, for every seller at once."""
    from invoicing.models import SyncRun
    from invoicing.tasks import sync_tenant

    for tenant_id in tenant_ids:
        sync_tenant.delay(tenant_id, SyncRun.Trigger.MANUAL)
    return {"kicked": len(tenant_ids), "at": time.time()}


def verify() -> dict:
    """Exactly once and nothing lost, from both sides: our invoice rows and the sandbox's documents."""
    from django.db.models import Count

    from invoicing.models import Invoice
    from marketplaces.models import Order
    from sandbox.models import SandboxFattureClient, SandboxFattureDocument

    orders = Order.objects.filter(status="paid", tenant__fatture_connection__isnull=False)
    eligible = orders.count()
    states = Counter(Invoice.objects.values_list("state", flat=True))
    errors = Counter(
        Invoice.objects.exclude(state="issued").exclude(error_code="").values_list("error_code", flat=True)
    )
    markers = Counter(
        subject
        for subject in SandboxFattureDocument.objects.filter(doc_type="invoice").values_list("data__subject", flat=True)
    )
    expected = {f"BrickInvoice order {public_id}" for public_id in orders.values_list("public_id", flat=True)}
    documented = set(markers)
    duplicate_docs = sum(n - 1 for n in markers.values() if n > 1)
    issued_ids = set(Invoice.objects.filter(state="issued").values_list("fatture_id", flat=True))
    doc_ids = set(SandboxFattureDocument.objects.values_list("id", flat=True))
    duplicate_clients = sum(
        row["n"] - 1
        for row in SandboxFattureClient.objects.values("company_id", "data__code").annotate(n=Count("id"))
        if row["n"] > 1
    )
    return {
        "eligible_orders": eligible,
        "invoice_states": dict(states),
        "open_error_codes": dict(errors),
        "documents_in_fatture": sum(markers.values()),
        "orders_with_a_document": len(expected & documented),
        "orders_without_a_document": len(expected - documented),
        "duplicate_documents": duplicate_docs,
        "issued_rows_pointing_at_no_document": len(issued_ids - doc_ids),
        "documents_no_invoice_row_points_at": len(doc_ids - issued_ids),
        "duplicate_clients": duplicate_clients,
        "exactly_once": duplicate_docs == 0 and not (expected - documented) and eligible == states.get("issued", 0),
    }


# --- processes ----------------------------------------------------------------------------------


@contextmanager
def sandbox_server(setup: Setup, *, threads: int = 16, workers: int = 2, config: Path | None = None):
    """The sandbox Fatture under gunicorn; every request goes to ``access.log`` (time, status, path).
    ``config``: a gunicorn config file (bench/_gunicorn_calls.py logs each call's time to the ms)."""
    setup.sandbox_port = setup.sandbox_port or free_port()
    log = setup.workdir / "sandbox-access.log"
    args = [
        GUNICORN,
        "brickinvoice.wsgi:application",
        "--bind",
        f"127.0.0.1:{setup.sandbox_port}",
        "--worker-class",
        "gthread",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--timeout",
        "120",
        "--access-logfile",
        str(log),
        "--access-logformat",
        "%(t)s %(m)s %(U)s %(s)s",
        "--error-logfile",
        str(setup.workdir / "sandbox-error.log"),
        *(["--config", str(config)] if config else []),
    ]
    proc = subprocess.Popen(args, cwd=ROOT, env=setup.sandbox_env(), start_new_session=True)
    try:
        _wait_http(f"http://127.0.0.1:{setup.sandbox_port}/sandbox/fatture/user/info", proc)  # 401: up
        yield log
    finally:
        _stop(proc)


def _wait_http(url: str, proc, seconds: float = 60) -> None:
    import requests

    deadline = time.monotonic() + seconds
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            requests.get(url, timeout=5)
            return
        except (requests.ConnectionError, requests.Timeout):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer within {seconds} s") from None
            time.sleep(0.3)


_stop = stop_group


class Workers:
    """``setup.workers`` Celery workers (prefork, ``setup.concurrency`` children each)."""

    def __init__(self, setup: Setup):
        self.setup = setup
        self.procs: dict[int, subprocess.Popen] = {}
        self.peak_rss: dict[int, int] = defaultdict(int)  # pid -> KiB
        self.role: dict[int, str] = {}

    def start(self, index: int) -> subprocess.Popen:
        log = self.setup.workdir / f"worker{index}.log"
        args = [
            CELERY,
            "-A",
            "brickinvoice",
            "worker",
            "-Q",
            "fatture,default,marketplaces",
            "-P",
            "prefork",
            "-c",
            str(self.setup.concurrency),
            "-n",
            f"bench{index}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-l",
            "INFO",
            "--logfile",
            str(log),
        ]
        log.write_text("")
        proc = subprocess.Popen(args, cwd=ROOT, env=self.setup.product_env(), start_new_session=True)
        deadline = time.monotonic() + 60
        while "ready." not in log.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker {index} did not start; see {log}")
            time.sleep(0.2)
        self.procs[index] = proc
        return proc

    def start_all(self) -> None:
        for index in range(self.setup.workers):
            self.start(index)

    def kill(self, index: int) -> list[int]:
        """SIGKILL a worker and every one of its pool processes, at once."""
        proc = self.procs.pop(index)
        pids = [proc.pid, *_children(proc.pid)]
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return pids

    def stop_all(self) -> None:
        for proc in self.procs.values():
            _stop(proc, timeout=60)
        self.procs.clear()

    def sample(self) -> None:
        for index, proc in self.procs.items():
            for pid in [proc.pid, *_children(proc.pid)]:
                kib = _rss_kib(pid)
                if kib:
                    self.peak_rss[pid] = max(self.peak_rss[pid], kib)
                    self.role.setdefault(pid, f"worker{index} {'main' if pid == proc.pid else 'pool'}")

    def memory_report(self) -> dict:
        by_role = defaultdict(list)
        for pid, kib in self.peak_rss.items():
            by_role[self.role[pid].split()[1]].append(kib / 1024)
        return {
            role: {
                "processes": len(v),
                "peak_rss_mib_max": round(max(v), 1),
                "peak_rss_mib_median": round(sorted(v)[len(v) // 2], 1),
            }
            for role, v in by_role.items()
        }


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):  # the process's own peak resident size
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


# --- watching and reading the results -----------------------------------------------------------


def invoice_states(setup: Setup) -> Counter:
    with psycopg.connect(database_url(setup.db), autocommit=True, application_name="bench-watch") as conn:
        return Counter(dict(conn.execute("SELECT state, count(*) FROM invoicing_invoice GROUP BY state").fetchall()))


def wait_until_settled(
    setup: Setup, workers: Workers, *, expected: int, timeout: float, every=None, on_tick=None
) -> dict:
    """Poll until ``expected`` invoices are settled (issued, held or skipped), or the timeout."""
    started = time.monotonic()
    timeline = []
    while True:
        workers.sample()
        states = invoice_states(setup)
        settled = sum(states.get(s, 0) for s in SETTLED)
        timeline.append((round(time.monotonic() - started, 1), dict(states)))
        if on_tick:
            on_tick(time.monotonic() - started, states)
        if settled >= expected:
            return {"settled": True, "seconds": time.monotonic() - started, "timeline": timeline}
        if time.monotonic() - started > timeout:
            return {"settled": False, "seconds": time.monotonic() - started, "timeline": timeline}
        time.sleep(every or 1.0)


_LOG_LINE = re.compile(r"^\[(?P<t>[^\]]+)\] (?P<m>\S+) (?P<path>\S+) (?P<status>\d{3})")
_COMPANY = re.compile(r"/sandbox/fatture/c/(\d+)/")


def read_access_log(path: Path) -> list[dict]:
    calls = []
    for line in path.read_text(errors="replace").splitlines():
        match = _LOG_LINE.match(line)
        if not match or "/sandbox/fatture/" not in match["path"]:
            continue
        company = _COMPANY.search(match["path"])
        moment = datetime.strptime(match["t"], "%d/%b/%Y:%H:%M:%S %z").astimezone(UTC).timestamp()
        calls.append(
            {
                "t": moment,
                "method": match["m"],
                "path": match["path"],
                "status": int(match["status"]),
                "company": int(company.group(1)) if company else None,
            }
        )
    return calls


def read_probe(setup: Setup) -> list[dict]:
    rows = []
    for path in sorted((setup.workdir / "probe").glob("*.jsonl")):
        rows += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return rows


def prepare_workdir(setup: Setup) -> None:
    import shutil

    shutil.rmtree(setup.workdir, ignore_errors=True)
    (setup.workdir / "probe").mkdir(parents=True)


def flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()
