"""Reading decoded JSON from outside without trusting its shape: an object where one is expected,
or an empty one (so a missing, null or wrongly typed member never raises)."""

from __future__ import annotations

from typing import Any


def obj(value: object) -> dict[str, Any]:
    """``value`` if it is a JSON object, else ``{}``."""
    return value if isinstance(value, dict) else {}


def member(parent: object, key: str) -> dict[str, Any]:
    """The object ``parent[key]``, or ``{}`` when the parent or the member is not an object."""
    return obj(obj(parent).get(key))
