"""Fault injection and shared counters for the fakes.

Faults are rows of ``SandboxFault`` (in the database, so the web process serving the sandbox and a
separate worker or test process see the same ones). Each names an operation and a mode; the next
``remaining`` calls of that operation consume one each, whatever their outcome:

- ``error_before``: answer HTTP 500 without doing anything (nothing is created);
- ``error_after``: do the work (e.g. create the invoice), then answer HTTP 500;
- ``timeout_after``: do the work, then stall ``delay_seconds`` before answering, so the client
  times out although the work is done.

Operations with hooks: ``fatture.issued_documents.create``, ``fatture.clients.create``,
``fatture.clients.update``, ``fatture.oauth.token``, ``fatture.e_invoice.send``,
``fatture.receipts.create``.

Set them with ``fault_inject(...)``, with ``python manage.py sandbox_fault`` or from the sandbox
index page (``/sandbox/``); ``faults_clear()`` removes them all.
"""

from __future__ import annotations

import time
from functools import wraps

from django.core.cache import cache
from django.db.models import F
from django.http import JsonResponse

from .models import SandboxFault

OPERATIONS = (
    "fatture.issued_documents.create",
    "fatture.clients.create",
    "fatture.clients.update",
    "fatture.oauth.token",
    "fatture.e_invoice.send",
    "fatture.receipts.create",
)


def fault_inject(*, operation: str, mode: str, count: int = 1, delay_seconds: float = 35.0) -> SandboxFault:
    """Make the next ``count`` calls of ``operation`` fail in ``mode`` (a ``SandboxFault.Mode``)."""
    if operation not in OPERATIONS:
        raise ValueError(f"No fault hook for {operation!r}; known: {', '.join(OPERATIONS)}")
    SandboxFault.Mode(mode)
    return SandboxFault.objects.create(
        operation=operation, mode=mode, remaining=max(1, int(count)), delay_seconds=float(delay_seconds)
    )


def faults_clear() -> int:
    deleted, _ = SandboxFault.objects.all().delete()
    return deleted


def fault_take(operation: str) -> SandboxFault | None:
    """Consume one call of the oldest pending fault for ``operation``; the conditional update makes
    two concurrent calls never consume the same last unit."""
    for fault in SandboxFault.objects.filter(operation=operation, remaining__gt=0):
        if SandboxFault.objects.filter(pk=fault.pk, remaining__gt=0).update(remaining=F("remaining") - 1):
            return fault
    return None


def _server_error() -> JsonResponse:
    return JsonResponse({"error": {"message": "Internal server error (sandbox fault injection)."}}, status=500)


def faultable(operation: str):
    """Decorate a view so that pending faults for ``operation`` apply to it."""

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            fault = fault_take(operation)
            if fault and fault.mode == SandboxFault.Mode.ERROR_BEFORE:
                return _server_error()
            response = view(request, *args, **kwargs)
            if fault and fault.mode == SandboxFault.Mode.ERROR_AFTER:
                return _server_error()
            if fault and fault.mode == SandboxFault.Mode.TIMEOUT_AFTER:
                time.sleep(fault.delay_seconds)
            return response

        return wrapper

    return decorate


def counter_hit(key: str, ttl: int) -> int:
    """Add one to a shared counter (the Django cache: Redis when configured) and return it."""
    cache.add(key, 0, timeout=ttl)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=ttl)
        return 1


def counter_get(key: str) -> int:
    return int(cache.get(key) or 0)
