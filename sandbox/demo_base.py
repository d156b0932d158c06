"""Shared constants of the demo data: the seed, the demo logins and companies, the fake store
credentials, and the marketplaces' money and time formats."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, ROUND_UP, Decimal
from zoneinfo import ZoneInfo

SEED = 20240314
ADMIN_EMAIL = "admin@demo.brickinvoice.local"
SELLER_EMAIL = "seller@demo.brickinvoice.local"
STRANGER_EMAIL = "stranger@demo.brickinvoice.local"
DEMO_LOGINS = [
    ("admin", ADMIN_EMAIL, "demo-admin-password"),
    ("seller", SELLER_EMAIL, "demo-seller-password"),
]
SELLER_TENANT = "Demo Bricks"
DEMO_COMPANY_ID = 1001
ACCOUNTANT_COMPANY_ID = 1002
CONTROLLED_COMPANY_ID = 1003
STRANGER_COMPANY_ID = 1004
LONDON = ZoneInfo("Europe/London")
ANY_ADDRESS = "0.0.0.0"  # noqa: S104 - BrickLink's IP for a token usable from any address


def _fake_secret(label: str, length: int = 32, upper: bool = True) -> str:
    text = hashlib.sha256(f"{SEED}:{label}".encode()).hexdigest()[:length]
    return text.upper() if upper else text


BRICKLINK_CREDENTIALS = {
    "consumer_key": _fake_secret("bl-consumer-key"),
    "consumer_secret": _fake_secret("bl-consumer-secret"),
    "token_value": _fake_secret("bl-token-value"),
    "token_secret": _fake_secret("bl-token-secret"),
}
BRICKLINK_IP_BOUND_TOKEN = {"value": _fake_secret("bl-ipbound-value"), "secret": _fake_secret("bl-ipbound-secret")}
BRICKOWL_API_KEY = _fake_secret("bo-api-key", 64, upper=False)


# --- money ----------------------------------------------------------------------------------------

D = Decimal
ZERO = D("0")


def bl_money(value: Decimal) -> str:
    """BrickLink money: a 4-decimal string, rounded up (docs/providers/bricklink.md §1)."""
    return str(D(value).quantize(D("0.0001"), rounding=ROUND_UP))


def bo_money(value: Decimal, places: int = 2) -> str:
    return str(D(value).quantize(D(1).scaleb(-places), rounding=ROUND_HALF_UP))


def bl_time(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"
