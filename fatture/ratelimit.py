"""The ``RateLimit-*`` headers Fatture in Cloud puts on successful answers, read defensively.

The spec (docs/providers/fatture-in-cloud.md §10.3) names four integer headers:
``RateLimit-HourlyRemaining``, ``RateLimit-HourlyLimit``, ``RateLimit-MonthlyRemaining`` and
``RateLimit-MonthlyLimit``. They come from outside: a header may be missing, empty, negative,
huge or not a number at all, and then it counts as absent. Parsing never raises.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# Twelve digits is far above any real quota; longer values are garbage, not a number to trust.
MAX_DIGITS = 12


@dataclass(frozen=True)
class RateLimits:
    hourly_remaining: int | None = None
    hourly_limit: int | None = None
    monthly_remaining: int | None = None
    monthly_limit: int | None = None

    @property
    def any(self) -> bool:
        return any(value is not None for value in (self.hourly_remaining, self.monthly_remaining))


def parse_count(value: object) -> int | None:
    """A non-negative integer header value, or None for anything else (never raises)."""
    if isinstance(value, bytes):
        try:
            value = value.decode("ascii")
        except UnicodeDecodeError:
            return None
    if not isinstance(value, str):
        return None
    text = value.strip()
    # str.isdigit accepts other scripts' digits and superscripts; only ASCII 0-9 is a header number.
    if not text or len(text) > MAX_DIGITS or not all("0" <= char <= "9" for char in text):
        return None
    return int(text)


def _header(headers: Mapping[str, object], name: str) -> object:
    try:
        return headers.get(name)
    except Exception:  # a malformed header container is as good as no header
        return None


def rate_limits(headers: Mapping[str, object]) -> RateLimits:
    """The four counters from a response's headers; each None when missing or malformed."""
    return RateLimits(
        hourly_remaining=parse_count(_header(headers, "RateLimit-HourlyRemaining")),
        hourly_limit=parse_count(_header(headers, "RateLimit-HourlyLimit")),
        monthly_remaining=parse_count(_header(headers, "RateLimit-MonthlyRemaining")),
        monthly_limit=parse_count(_header(headers, "RateLimit-MonthlyLimit")),
    )
