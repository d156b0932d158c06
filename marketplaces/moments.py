"""Dates from a marketplace (the parsers of marketplaces/boundary.py, same contract: never raise,
one sentence per bad value in ``problems``). A date before 2000 or more than two days in the
future is a broken payload, not an order; ``datetime.fromtimestamp`` and ``astimezone`` raise on
years out of range, so the range is checked first."""

from datetime import UTC, datetime, timedelta
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from .boundary import WHOLE_NUMBER, Problems, excerpt

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=2)


def iso_moment(value: Any, label: str, problems: Problems, *, required: bool = False) -> datetime | None:
    """An ISO 8601 timestamp (``Z`` or an offset) as aware UTC; None when missing, unreadable or out
    of range (with a problem, blocking when ``required``). 1970 and earlier is BrickOwl's "unset"
    (docs/providers/brickowl.md §5): None, and a problem only when ``required``."""
    if value is None or value == "":
        _missing(label, problems, required)
        return None
    parsed = None
    if isinstance(value, str) and len(value) <= 40:
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            parsed = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
        except (ValueError, OverflowError):
            parsed = None
    if parsed is None:
        _unreadable(value, label, problems, required)
        return None
    if parsed.year <= 1970:
        _missing(label, problems, required)
        return None
    return _in_range(parsed, value, label, problems, required)


def epoch_moment(value: Any, label: str, problems: Problems, *, required: bool = False) -> datetime | None:
    """Unix seconds (BrickOwl sends them as strings, docs/providers/brickowl.md §5) as aware UTC.

    0 and anything within two days of the epoch is BrickOwl's "unset": None, and a problem only
    when ``required``; garbage or a time outside 2000 .. now + 2 days is None with a problem.
    """
    if value is None or value == "":
        _missing(label, problems, required)
        return None
    seconds = None
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    elif isinstance(value, str) and WHOLE_NUMBER.fullmatch(value.strip()):
        seconds = int(value.strip())
    if seconds is None:
        _unreadable(value, label, problems, required)
        return None
    if 0 <= seconds <= 86400 * 2:  # the epoch in any time zone: "not set"
        _missing(label, problems, required)
        return None
    # Checked before converting: fromtimestamp raises for years beyond 9999.
    if not EARLIEST.timestamp() <= seconds <= (timezone.now() + FUTURE_SLACK).timestamp():
        _out_of_range(value, label, problems, required)
        return None
    return datetime.fromtimestamp(seconds, tz=UTC)


def _in_range(moment: datetime, value: Any, label: str, problems: Problems, required: bool) -> datetime | None:
    if EARLIEST <= moment <= timezone.now() + FUTURE_SLACK:
        return moment
    _out_of_range(value, label, problems, required)
    return None


def _missing(label: str, problems: Problems, required: bool) -> None:
    """A missing date blocks only where it is required (the order date)."""
    if required:
        problems.block(_("%(field)s is missing.") % {"field": label})


def _unreadable(value: Any, label: str, problems: Problems, required: bool) -> None:
    message = _("%(field)s is not a date (%(value)s).") % {"field": label, "value": excerpt(value)}
    (problems.block if required else problems.note)(message)


def _out_of_range(value: Any, label: str, problems: Problems, required: bool) -> None:
    message = _("%(field)s is out of range (%(value)s): dates must fall between 2000-01-01 and two days from now.") % {
        "field": label,
        "value": excerpt(value),
    }
    (problems.block if required else problems.note)(message)
