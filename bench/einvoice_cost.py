"""What an e-invoice costs in Fatture in Cloud calls, end to end: verify, send, and the status reads
that follow it until SdI's outcome (issue 15's goal: one send, at most one verify, under 0.1 status
reads per invoice on average).

Runs the product's own code (issuing, einvoicing) against the in-repo sandbox Fatture in Cloud in
the same process: every request to FATTURE_API_URL is handed to the sandbox's Django views (so the
sandbox's SdI model decides the outcomes), and one frozen clock (freezegun) moves for both sides,
so "every clock is scaled together": nothing is sped up, simulated time simply passes.

The day: each seller sells ``--orders-per-day`` orders between 08:00 and 20:00; the worker invoices
and sends them at each hourly sync (SYNC_SCHEDULE hourly); the e-invoice tracker and the due send
retries run every five minutes (their beat schedules). SdI moves a submission one step
(sent → processing → outcome) every ``--sdi-step-minutes``.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/brickinvoice .venv/bin/python bench/einvoice_cost.py \
        [--sellers 5] [--days 3] [--orders-per-day 20] [--sdi-step-minutes 30]

Prints a table and writes bench/results/einvoice_cost.json.
"""

import argparse
import json
import os
import re
import statistics
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"  # the sandbox app is installed there
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/brickinvoice")

TRACK_EVERY = timedelta(minutes=5)
# Which Fatture call is which (method, path suffix), for the table.
KINDS = [
    ("verify", "GET", re.compile(r"/issued_documents/\d+/e_invoice/xml_verify$")),
    ("send", "POST", re.compile(r"/issued_documents/\d+/e_invoice/send$")),
    ("status_read", "GET", re.compile(r"/issued_documents(/\d+)?$")),
    ("error_reason", "GET", re.compile(r"/e_invoice/error_reason$")),
    ("create_invoice", "POST", re.compile(r"/issued_documents$")),
    ("clients", "ANY", re.compile(r"/entities/clients")),
]


def kind_of(method: str, path: str, query: str) -> str:
    for name, wanted, pattern in KINDS:
        if (wanted in (method, "ANY")) and pattern.search(path):
            if name == "status_read" and "ei_status" not in query and method == "GET" and path.endswith("s"):
                return "document_lookup"  # the exactly-once look-up before a retry, not a status read
            return name
    return "other " + method + " " + re.sub(r"/\d+", "/{id}", path.split("/fatture", 1)[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sellers", type=int, default=5)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--orders-per-day", type=int, default=20)
    parser.add_argument("--sdi-step-minutes", type=int, default=30)
    args = parser.parse_args()

    import django

    django.setup()
    import logging

    import responses
    from django.conf import settings
    from django.db import connection
    from django.test import Client, override_settings
    from django.test.utils import setup_test_environment
    from freezegun import freeze_time

    logging.disable(logging.WARNING)
    setup_test_environment()
    start = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
    base = "http://fatture.bench/sandbox/fatture"
    override_settings(
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        FATTURE_API_URL=base,
        FATTURE_TOKEN_URL=f"{base}/oauth/token",
        FATTURE_CLIENT_ID="sandbox-client",
        FATTURE_CLIENT_SECRET="sandbox-secret",
        SANDBOX_SDI_STEP_SECONDS=args.sdi_step_minutes * 60,
        ROOT_URLCONF="sandbox.test_urls",
        ALLOWED_HOSTS=["*"],
    ).enable()
    db_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    calls: Counter = Counter()
    try:
        with freeze_time(start) as clock, responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            sandbox = Client()

            def forward(request):
                url = urlsplit(request.url)
                calls[kind_of(request.method, url.path, url.query)] += 1
                path = url.path.replace("/sandbox/fatture", "/sandbox/fatture", 1)
                headers = {k: v for k, v in request.headers.items() if k.lower() == "authorization"}
                answer = sandbox.generic(
                    request.method,
                    f"{path}?{url.query}" if url.query else path,
                    data=request.body or b"",
                    content_type=request.headers.get("Content-Type", "application/json"),
                    headers=headers,
                )
                return answer.status_code, dict(answer.items()), answer.content

            for method in ("GET", "POST", "PUT", "DELETE"):
                rsps.add_callback(method, re.compile(re.escape(base) + ".*"), callback=forward)
            result = _run(args, clock, start, settings, calls)
    finally:
        connection.creation.destroy_test_db(db_name, verbosity=0)
    out = ROOT / "bench" / "results" / "einvoice_cost.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"written {out.relative_to(ROOT)}")


def _run(args, clock, start, settings, calls):
    from django.utils import timezone

    from accounts.models import SellerSettings
    from invoicing import einvoicing, issuing
    from invoicing.models import Invoice
    from tests.factories import TenantFactory
    from tests.factories_invoicing import make_order

    tenants = [TenantFactory(name=f"Bench {n}") for n in range(args.sellers)]
    for number, tenant in enumerate(tenants):
        connect_seller(tenant, number)
        SellerSettings.objects.filter(tenant=tenant).update(einvoice_mode="send", invoicing_confirmed_at=start)
    setup_calls = sum(calls.values())
    calls.clear()
    countries = ["DE", "FR", "ES", "US", "NL", "AT"]  # foreign buyers: e-invoiced with XXXXXXX
    end = start + timedelta(days=args.days, hours=12)
    now, n, placed = start, 0, []
    per_hour = max(1, args.orders_per_day // 12)
    while now < end:
        if now.minute == 0 and 8 <= now.hour <= 20 and now < start + timedelta(days=args.days):
            for tenant in tenants:
                for _ in range(per_hour):
                    country = countries[n % len(countries)]
                    order = make_order(
                        tenant, username=f"b{n}", paid_at=now, ship_country=country, ship_postal_code="10115"
                    )
                    placed.append(Invoice.objects.create(tenant=tenant, order=order, sort_at=order.paid_at).id)
                    n += 1
            for invoice_id in placed:  # the hourly sync: issue, then send inline
                issuing.invoice_process(invoice_id=invoice_id)
                einvoicing.einvoice_send(invoice_id=invoice_id)
            placed = []
        for invoice_id in einvoicing.einvoices_due_to_send(now=timezone.now()):  # the send retries (beat)
            einvoicing.einvoice_send(invoice_id=invoice_id)
        einvoicing.einvoices_track(now=timezone.now())
        now += TRACK_EVERY
        clock.move_to(now)
    invoices = Invoice.objects.exclude(fatture_id=None)
    states = Counter(invoices.values_list("ei_state", flat=True))
    total = invoices.count()
    delivered_after = [
        (i.updated_at - i.ei_sent_at).total_seconds() / 60
        for i in invoices.filter(ei_state="delivered").exclude(ei_sent_at=None)
    ]
    result = {
        "sellers": args.sellers,
        "days": args.days,
        "orders_per_day_per_seller": per_hour * 13,
        "sdi_step_minutes": args.sdi_step_minutes,
        "invoices": total,
        "states": dict(states),
        "setup_calls": setup_calls,
        "calls": dict(calls),
        "per_invoice": {k: round(v / total, 3) for k, v in calls.items()} if total else {},
        "minutes_to_delivered_p50": statistics.median(delivered_after) if delivered_after else None,
    }
    print(f"{total} e-invoices of {args.sellers} sellers over {args.days} days; states {dict(states)}")
    print(f"{'call':<16} {'total':>7} {'per invoice':>12}")
    for name, count in sorted(calls.items()):
        print(f"{name:<16} {count:>7} {count / total:>12.3f}")
    return result


COMPANY_BASE = 820_000
SLOT_CODES = {
    "std_domestic": "STD-IT",
    "std_eu": "STD-UE",
    "std_export": "STD-EXP",
    "margin_domestic": "MRG-IT",
    "margin_eu": "MRG-UE",
    "margin_export": "MRG-EXP",
    "shipping": "SPED",
    "handling": "GEST",
}


def connect_seller(tenant, number: int) -> None:
    """The seller's own sandbox Fatture company (Premium plan, the demo's VAT types and slot
    products), a live token for it, and the eight slots mapped, as a connected seller has."""
    import secrets
    from decimal import Decimal as D

    from django.utils import timezone

    from fatture.models import FattureConnection, ProductMapping
    from fatture.oauth import SCOPES
    from sandbox import demo
    from sandbox.conf import fatture_client
    from sandbox.fatture_oauth import digest
    from sandbox.models import SandboxFattureProduct, SandboxFattureToken, SandboxFattureUser, SandboxFattureVatType

    now = timezone.now()
    company_id = COMPANY_BASE + number
    email = f"seller{number:02d}@bench.brickinvoice.local"
    user = SandboxFattureUser.objects.create(
        email=email,
        first_name="Bench",
        last_name=f"Seller {number:02d}",
        companies=[demo._company(company_id, f"Bench {number:02d} S.r.l.", f"IT{company_id:011d}", "")],
    )
    SandboxFattureVatType.objects.bulk_create(
        SandboxFattureVatType(company_id=company_id, vat_id=vat_id, data=data) for vat_id, data in demo.VAT_TYPES
    )
    vat_types = dict(demo.VAT_TYPES)
    access, refresh = "a/" + secrets.token_urlsafe(32), "r/" + secrets.token_urlsafe(32)
    SandboxFattureToken.objects.create(
        user=user,
        client_id=fatture_client()[0],
        scope=" ".join(SCOPES),
        access_hash=digest(access),
        refresh_hash=digest(refresh),
        access_expires_at=now + timedelta(days=30),
        refresh_expires_at=now + timedelta(days=365),
    )
    FattureConnection.objects.create(
        tenant=tenant,
        status=FattureConnection.Status.CONNECTED,
        access_token=access,
        refresh_token=refresh,
        token_expires_at=now + timedelta(days=30),
        fatture_email=email,
        company_id=company_id,
        company_name=f"Bench {number:02d} S.r.l.",
        connected_at=now,
    )
    by_code = {}
    for code, name, vat_id, gross in demo.SLOT_PRODUCTS:
        row = SandboxFattureProduct.objects.create(
            company_id=company_id, data=demo._product_data(code, name, vat_id, gross)
        )
        by_code[code] = (row.id, name, vat_id)
    for slot, code in SLOT_CODES.items():
        product_id, name, vat_id = by_code[code]
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


if __name__ == "__main__":
    main()
