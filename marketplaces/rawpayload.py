"""A marketplace's raw payload as we keep it for support (``Order.raw``): something PostgreSQL's
jsonb accepts, and bounded in size, whatever the marketplace sent."""

import json
import math
from typing import Any

MAX_RAW_DEPTH = 24
MAX_RAW_CHARS = 2_000_000
RAW_EXCERPT_CHARS = 20_000


def json_safe(value: Any, depth: int = 0) -> Any:
    """A copy of a decoded JSON payload that PostgreSQL's jsonb accepts: no NUL or lone
    surrogates in strings or keys, no NaN or infinity (``1e400`` decodes to float infinity), and
    nothing nested deeper than ``MAX_RAW_DEPTH``. Everything else is kept as the marketplace sent
    it, for support."""
    if isinstance(value, str):
        return _unstorable(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if value is None or isinstance(value, bool | int):
        return value
    if depth >= MAX_RAW_DEPTH:
        return "…"
    if isinstance(value, dict):
        return {_unstorable(str(key)): json_safe(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item, depth + 1) for item in value]
    return _unstorable(str(value))


def bounded_raw(value: Any) -> Any:
    """``json_safe(value)``, or, when its JSON is larger than ``MAX_RAW_CHARS``, an excerpt of it."""
    safe = json_safe(value)
    dumped = json.dumps(safe, ensure_ascii=False)
    if len(dumped) <= MAX_RAW_CHARS:
        return safe
    return {"truncated": True, "chars": len(dumped), "excerpt": dumped[:RAW_EXCERPT_CHARS]}


def _unstorable(value: str) -> str:
    """Remove what PostgreSQL cannot store in text or jsonb (NUL) and what UTF-8 cannot encode."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    return value.encode("utf-8", "replace").decode("utf-8") if _has_surrogate(value) else value


def _has_surrogate(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
