"""Is the Fatture in Cloud connection really working? A cheap answer for the dashboard.

The connection row only knows what the last failure recorded, so a token revoked in Fatture would
read "Connected" until the next invoice failed. Instead, every authenticated call that Fatture
answered without an error stamps the connection as *verified* in the shared cache (no SQL, no extra
call). When the dashboard is looked at and the last answer is older than ``CHECK_EVERY``, one
background check is queued — at most one per connection per ``CHECK_EVERY`` — that asks for
``/user/info`` (one call, outside the company's document quota, docs/providers/fatture-in-cloud.md
§10.3 counts per company). Its outcome is what the dashboard shows next:

- answered: "Connected", with the time of the last answer;
- 401 twice (revoked): the client marks the connection as needing a reconnect, as any call would;
- anything else (timeout, 5xx, quota): "Not answering" with the error's message and hint, until
  the next answer — it does not pause invoicing, whose own retries handle outages.

Until the first answer the row says "Checking the connection…", never "Connected" by default.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.core.cache import cache

from brickinvoice.errors import describe

from .models import FattureConnection

CHECK_EVERY = 30 * 60  # seconds: the dashboard's view of the connection is at most this old
_KEEP = 7 * 24 * 3600


def _answered_key(connection_id: int) -> str:
    return f"fatture:answered:{connection_id}"


def _failed_key(connection_id: int) -> str:
    return f"fatture:check-failed:{connection_id}"


def _queued_key(connection_id: int) -> str:
    return f"fatture:check-queued:{connection_id}"


def note_answered(connection_id: int) -> None:
    """Fatture answered an authenticated call for this connection without an error."""
    cache.set(_answered_key(connection_id), time.time(), _KEEP)
    cache.delete(_failed_key(connection_id))


@dataclass(frozen=True)
class Freshness:
    """What the shared cache knows: when Fatture last answered, and the last check's failure code."""

    answered_at: datetime | None
    failed_code: str

    @property
    def stale(self) -> bool:
        if self.answered_at is None:
            return True
        return time.time() - self.answered_at.timestamp() > CHECK_EVERY


def freshness(connection: FattureConnection) -> Freshness:
    values = cache.get_many([_answered_key(connection.pk), _failed_key(connection.pk)])
    stamp = values.get(_answered_key(connection.pk))
    answered = datetime.fromtimestamp(stamp, tz=UTC) if stamp else None
    return Freshness(answered_at=answered, failed_code=values.get(_failed_key(connection.pk)) or "")


def request_check(connection: FattureConnection, *, enqueue: Callable[[int], object]) -> None:
    """Queue one background check (``enqueue(connection_id)``) unless one was queued within
    ``CHECK_EVERY``."""
    if cache.add(_queued_key(connection.pk), 1, CHECK_EVERY):
        enqueue(connection.pk)


def note_check_failed(connection_id: int, code: str) -> None:
    cache.set(_failed_key(connection_id), code or "fatture_unavailable", _KEEP)


def failure_text(code: str) -> tuple[str, str]:
    text = describe(code)
    return text.message, text.hint
