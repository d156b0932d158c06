"""The small, bounded retry both clients use for transient failures (docs/architecture.md §10.1)."""

import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings

from .errors import Unreachable

T = TypeVar("T")


def with_retries(call: Callable[[], T]) -> T:
    """Run ``call``; on ``Unreachable`` retry up to MARKETPLACE_RETRIES times with doubling backoff.

    Bounded and short on purpose: a task's time is better spent on the next run than sleeping.
    Quota errors are not retried here: waiting a few seconds does not refill a daily quota.
    """
    retries = int(getattr(settings, "MARKETPLACE_RETRIES", 2))
    backoff = float(getattr(settings, "MARKETPLACE_RETRY_BACKOFF", 1.0))
    for attempt in range(retries + 1):
        try:
            return call()
        except Unreachable:
            if attempt == retries:
                raise
            time.sleep(backoff * (2**attempt))
    raise AssertionError("unreachable")  # pragma: no cover
