"""One clock for every timer of the product and the sandbox (issue 17, "an honest benchmark").

``Quota`` (bench/_pipeline.py) shortens Fatture's hour by ``time_factor`` and scales the request
limits by ``count_factor``; ``clocks`` applies the same time factor to every other timer the
product has: the month (``Quota.scaled_month``), the rolling 5-minute window, the broker's
visibility timeout, the invoice claim lease, the queued-message lease and beat's intervals.
Some cannot go below a floor, because what they guard runs in real time (an HTTP call still takes
its real 150 ms, a task its real second); ``clocks`` records each such floor with its reason.

Also: whole-process CPU of the workers from /proc, each Fatture call's time to the millisecond
(bench/_gunicorn_calls.py) and the share of each quota window a company used.
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from pathlib import Path

from bench._pipeline import Quota

# What each timer is in production (brickinvoice/settings.py), and the least it may be in real
# seconds on a fast clock, with why.
TIMERS = {
    # The invoice task's hard time limit is 180 s of real time (invoicing/tasks.py) and the product
    # refuses a lease that does not outlive it (invoicing.E001).
    "INVOICE_CLAIM_LEASE_SECONDS": (600, 200, "longer than the invoice task's real 180 s hard time limit"),
    # Redelivery of a message a live worker still holds: the invoice task's hard limit again (the
    # imports' 1,800 s limit does not apply: no store import runs in these benchmarks).
    "CELERY_VISIBILITY_TIMEOUT_SECONDS": (3600, 200, "longer than the invoice task's real 180 s hard time limit"),
    # A message waits in the queue behind up to INVOICE_DISPATCH_MAX_IN_FLIGHT others, consumed in
    # real time by 8 pool processes (about 5 invoices a second): a shorter lease re-sends live ones.
    "INVOICE_QUEUED_LEASE_SECONDS": (900, 120, "longer than 200 queued messages take to drain in real time"),
    # django_celery_beat stores intervals in whole seconds, and each pass costs real CPU.
    "INVOICE_DISPATCH_EVERY_SECONDS": (10, 1, "beat's whole-second intervals; a pass costs real CPU"),
    "SYNC_DISPATCH_EVERY_SECONDS": (60, 1, "beat's whole-second intervals"),
    "INVOICE_REQUEUE_EVERY_SECONDS": (300, 1, "beat's whole-second intervals"),
}


def clocks(quota: Quota) -> tuple[dict, list[dict]]:
    """The product's timers for ``quota``'s clock (besides the quota's own, ``Quota.product_env``),
    and one row per timer: production value, exactly scaled value, value used, the floor's reason."""
    env = {}
    rows = [
        {"timer": "quota hour", "production_s": 3600, "scaled_s": quota.hour_seconds, "used_s": quota.hour_seconds},
        {
            "timer": "short window (rolling 5 min)",
            "production_s": 300,
            "scaled_s": round(300 / quota.time_factor, 3),
            "used_s": quota.short_window,
        },
        {
            "timer": "quota month",
            "production_s": 30 * 86400,
            "scaled_s": round(30 * 86400 / quota.time_factor, 1),
            "used_s": quota.month_seconds,
        },
    ]
    for name, (production, floor, why) in TIMERS.items():
        scaled = production / quota.time_factor
        used = max(floor, math.ceil(scaled))
        env[name] = used
        rows.append(
            {
                "timer": name,
                "production_s": production,
                "scaled_s": round(scaled, 2),
                "used_s": used,
                "floor": why if used > scaled else "",
            }
        )
    return env, rows


# --- whole-process CPU ------------------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[float, float]:
    """(own CPU, CPU of reaped children) of ``pid`` in seconds; (0, 0) when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0, 0.0
    fields = text.rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
    return (utime + stime) / _TICK, (cutime + cstime) / _TICK


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and all its descendants, living or reaped (a pool process replaced
    after max_tasks_per_child counts through its parent's cutime/cstime)."""
    own, reaped = _stat(pid)
    return own + reaped + sum(tree_cpu(child) for child in _children(pid))


# --- each Fatture call, to the millisecond ------------------------------------------------------------


def read_calls(directory: Path) -> list[dict]:
    calls = []
    for path in sorted(directory.glob("calls-*.log")):
        for line in path.read_text(errors="replace").splitlines():
            parts = line.split(" ", 2)
            if len(parts) != 3:
                continue
            company = None
            if "/fatture/c/" in parts[2]:
                company = int(parts[2].split("/fatture/c/", 1)[1].split("/", 1)[0])
            calls.append({"t": float(parts[0]), "status": int(parts[1]), "company": company})
    calls.sort(key=lambda c: c["t"])
    return calls


def window_use(calls: list[dict], quota: Quota, *, month_preload: dict[int, int] | None = None) -> dict[int, dict]:
    """Per company: the most calls the sandbox admitted in any rolling short window, in any quota
    hour and in any quota month, as a share of the sandbox's limit. Calls refused with 429 or 403
    were not counted by the sandbox and are not counted here. ``month_preload``: calls a company had
    already spent in the month window before the run (set in the sandbox's counter)."""
    by_company: dict[int, list[float]] = defaultdict(list)
    for call in calls:
        if call["company"] is not None and call["status"] not in (403, 429):
            by_company[call["company"]].append(call["t"])
    out = {}
    for company, times in by_company.items():
        short, left = 0, 0
        for right, t in enumerate(times):
            while times[left] <= t - quota.short_window:
                left += 1
            short = max(short, right - left + 1)
        hours = defaultdict(int)
        months = defaultdict(int)
        for t in times:
            hours[int(t // quota.hour_seconds)] += 1
            months[int(t // quota.month_seconds) if quota.month_seconds else 0] += 1
        month_now = next(iter(sorted(months)))
        for month in months:
            if month == month_now:
                months[month] += (month_preload or {}).get(company, 0)
        out[company] = {
            "calls": len(times),
            "short_max": short,
            "short_share": round(short / quota.short_limit, 3),
            "hour_max": max(hours.values()),
            "hour_share": round(max(hours.values()) / quota.hourly_limit, 3),
            "month_max": max(months.values()),
            "month_share": round(max(months.values()) / quota.monthly_limit, 3),
        }
    return out


def preload_month(sandbox_redis_url: str, company_id: int, calls: int, month_seconds: int, now: float) -> str:
    """Spend ``calls`` of a company's month in the sandbox's own counter (sandbox/fatture_http.py,
    the Django cache's key layout): what the company used before the run. The product is not told;
    it learns it from Fatture's RateLimit-MonthlyRemaining answers, as after a cache loss."""
    import redis

    key = f":1:sandbox:fic:month:{company_id}:s{int(now // month_seconds)}"
    left = month_seconds - now % month_seconds
    redis.Redis.from_url(sandbox_redis_url).set(key, calls, ex=math.ceil(left) + 86400)
    return key
