"""The HTTP session factory every provider client uses: timeouts, a retry-free transport
(retries are decided by the caller from typed errors), and one log line per call with
method, path, status and duration, never a query string, header or body.
"""

import email.utils
import logging
import time
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings

logger = logging.getLogger("brickinvoice.http")


class ProviderSession(requests.Session):
    """A requests session with a default timeout and call logging for one provider."""

    def __init__(self, provider: str):
        super().__init__()
        self.provider = provider
        self.headers["User-Agent"] = "BrickInvoice/1.0"
        self.calls = 0

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", settings.HTTP_TIMEOUT)
        started = time.monotonic()
        status: int | str = "error"
        try:
            response = super().request(method, url, *args, **kwargs)
            status = response.status_code
            return response
        finally:
            self.calls += 1
            logger.info(
                "%s %s %s status=%s duration_ms=%d",
                self.provider,
                method.upper(),
                urlsplit(url).path,
                status,
                (time.monotonic() - started) * 1000,
            )


def build_session(provider: str) -> ProviderSession:
    return ProviderSession(provider)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None if absent or unreadable."""
    if value is None or str(value).strip() == "":
        return None
    value = str(value).strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
