"""Locks shared by every worker, in the shared cache (Redis in production): one place for the
lock the invoicing flow takes per buyer and per accounting company."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.cache import cache

from .errors import ServiceError


@contextmanager
def cache_lock(key: str, *, wait: float, hold: int, busy: str, code: str = "fatture_unavailable") -> Iterator[bool]:
    """A lock in the shared cache (``cache.add`` is an atomic SET NX on Redis); yields whether it
    had to wait. ``hold`` bounds how long a dead worker can keep it; after ``wait`` seconds the
    caller gets a transient ``code`` error (``busy`` as its detail) and its task retries."""
    token = uuid.uuid4().hex
    deadline = time.monotonic() + wait
    waited = False
    while not cache.add(key, token, timeout=hold):
        waited = True
        if time.monotonic() > deadline:
            raise ServiceError(busy, code=code, transient=True, retry_after=5)
        time.sleep(0.05)
    try:
        yield waited
    finally:
        if cache.get(key) == token:
            cache.delete(key)


@contextmanager
def company_write_lock(company_id: int, *, wait: float = 60.0, hold: int = 120) -> Iterator[None]:
    """One document write at a time per accounting company, across every worker: the package
    numbers documents in the order it receives them, and numbers must follow dates."""
    with cache_lock(
        f"fatture-write-lock:{company_id}",
        wait=wait,
        hold=hold,
        busy="Another invoice for this company is being written.",
    ):
        yield
