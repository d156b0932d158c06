"""How a failed attempt is written on its row, for invoices and credit notes alike (the columns
come from the same vocabulary: ``error_code``, ``error_message``, ``error_hint``, ``error_detail``).

A message with parameters is stored as worded at the time (its parameters may not survive); one
without is stored as its code only and worded when shown, in the reader's language
(``ErrorBox.from_row``), not in the worker's.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from brickinvoice.errors import describe


def failure_changes(
    code: str,
    detail: str,
    params: dict[str, object] | None,
    *,
    state: str,
    retry_in: float | None = None,
    uncertain: bool | None = None,
    refund_attempt: bool = False,
) -> dict[str, object]:
    """The column values of a failure in ``state``: retried after ``retry_in`` seconds when given;
    ``uncertain`` changed only when given; ``refund_attempt`` gives back the attempt (an attempt
    that never reached the service, e.g. a quota wait)."""
    text = describe(code, **params) if params else None
    changes: dict[str, object] = dict(
        state=state,
        error_code=code,
        error_message=text.message if text else "",
        error_hint=text.hint if text else "",
        error_detail=(detail or "")[:2000],
        next_attempt_at=timezone.now() + timedelta(seconds=retry_in) if retry_in else None,
    )
    if uncertain is not None:
        changes["uncertain"] = uncertain
    if refund_attempt:
        changes["attempts"] = F("attempts") - 1
    return changes
