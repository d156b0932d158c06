"""Sandbox knobs: a Django setting if defined, else an environment variable, else the default.

Read at call time, so tests can change them with the ``settings`` fixture and a benchmark can set
them in the environment without touching ``brickinvoice/settings.py``.

| name | default | meaning |
|---|---|---|
| ``SANDBOX_FATTURE_LATENCY_MS`` | 0 | added to every Fatture API and token call |
| ``SANDBOX_FATTURE_HOURLY_LIMIT`` | 1000 | requests per company per clock hour, then 403 + Retry-After |
| ``SANDBOX_FATTURE_HOUR_SECONDS`` | 3600 | length of that "hour" (a benchmark shortens it to speed the clock) |
| ``SANDBOX_FATTURE_MONTHLY_LIMIT`` | 40000 | requests per company per calendar month, then 403 + Retry-After |
| ``SANDBOX_FATTURE_MONTH_SECONDS`` | 0 | length of that "month" (0: the UTC calendar month; a benchmark shortens it) |
| ``SANDBOX_FATTURE_SHORT_LIMIT`` | 300 | requests per company in any rolling short window, then 429 + Retry-After |
| ``SANDBOX_FATTURE_SHORT_WINDOW`` | 300 | length of the rolling short window in seconds |
| ``SANDBOX_FATTURE_ACCESS_TTL`` | 86400 | access-token lifetime in seconds (``expires_in``) |
| ``SANDBOX_FATTURE_CODE_TTL`` | 60 | authorization-code lifetime in seconds |
| ``SANDBOX_SDI_STEP_SECONDS`` | 30 | an e-invoice moves sent → processing → outcome one step per this many seconds |
| ``SANDBOX_BRICKLINK_DAILY_LIMIT`` | 5000 | BrickLink calls per store per UTC day |
| ``SANDBOX_BRICKOWL_MINUTE_LIMIT`` | 600 | BrickOwl calls per key per minute |
"""

import os

from django.conf import settings

DEFAULTS: dict[str, float] = {
    "SANDBOX_FATTURE_LATENCY_MS": 0,
    "SANDBOX_FATTURE_HOURLY_LIMIT": 1000,
    "SANDBOX_FATTURE_HOUR_SECONDS": 3600,
    "SANDBOX_FATTURE_MONTHLY_LIMIT": 40000,
    "SANDBOX_FATTURE_MONTH_SECONDS": 0,
    "SANDBOX_FATTURE_SHORT_LIMIT": 300,
    "SANDBOX_FATTURE_SHORT_WINDOW": 300,
    "SANDBOX_FATTURE_ACCESS_TTL": 86400,
    "SANDBOX_FATTURE_CODE_TTL": 60,
    "SANDBOX_SDI_STEP_SECONDS": 30,
    "SANDBOX_BRICKLINK_DAILY_LIMIT": 5000,
    "SANDBOX_BRICKOWL_MINUTE_LIMIT": 600,
}


def knob(name: str) -> float:
    """The current value of one numeric knob of the table above."""
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name)
    if value in (None, ""):
        return DEFAULTS[name]
    return float(value)


def fatture_client() -> tuple[str, str]:
    """The one app registered on the fake Fatture: the product's own client id and secret, or the
    sandbox defaults that settings use when SANDBOX is on."""
    return (settings.FATTURE_CLIENT_ID or "sandbox-client", settings.FATTURE_CLIENT_SECRET or "sandbox-secret")
