"""One order of a store import, start to end (marketplaces/imports.py): fetch its detail, normalise
it, write it. One order never fails the others: every failure here, typed or unexpected, is caught,
counted on the order (``Failures``) and quarantined when it keeps happening; only what concerns
the whole store (credentials, quota, the time limit) is raised."""

from __future__ import annotations

import logging

from celery.exceptions import SoftTimeLimitExceeded
from django.utils import timezone
from django.utils.translation import gettext as _

from .boundary import excerpt
from .errors import BadCredentials, MarketplaceError, NotFound, QuotaExceeded
from .importrun import FAILURES_BEFORE_QUARANTINE, Budget, Failures, ImportResult
from .models import StoreConnection
from .normalised import NormalisedOrder, unreadable_order
from .sources import BrickLinkSource, BrickOwlSource, ListedOrder
from .upsert import Saved, order_quarantine, order_save

Source = BrickLinkSource | BrickOwlSource
logger = logging.getLogger("marketplaces.imports")


def import_one(
    store: StoreConnection,
    source: Source,
    listed: ListedOrder,
    result: ImportResult,
    budget: Budget,
    failures: Failures,
) -> Exception | None:
    """One order, start to end; returns the error that stopped its fetch (None when written).

    Only what concerns the whole store is raised: credentials, quota, the time limit.
    """
    try:
        order, items = source.fetch_raw(listed.order_id)
    except (BadCredentials, QuotaExceeded, SoftTimeLimitExceeded):
        raise
    except NotFound as exc:
        result.failed_order_ids.append(listed.order_id)
        _fetch_failed(
            store,
            listed,
            result,
            failures,
            _("the marketplace says it does not exist (%(detail)s)") % {"detail": exc.detail[:120]},
        )
        return exc
    except MarketplaceError as exc:
        _fetch_failed(store, listed, result, failures, f"{exc.text.message} {exc.detail[:160]}".strip())
        return exc
    except Exception as exc:
        logger.exception("store %s: fetching order %s failed", store.id, listed.order_id)
        _fetch_failed(store, listed, result, failures, _("unexpected %(error)s") % {"error": type(exc).__name__})
        return exc
    finally:
        budget.record(source.calls)
    failures.succeeded(listed.order_id)
    try:
        normalised = _normalise(store, source, listed, order, items)
        result.count(_write(store, listed, normalised, order, items))
    except SoftTimeLimitExceeded:
        raise
    except Exception as exc:
        # Even the quarantine could not be written: count it like a failed fetch, go on.
        logger.exception("store %s: storing order %s failed", store.id, listed.order_id)
        _fetch_failed(store, listed, result, failures, _("unexpected %(error)s") % {"error": type(exc).__name__})
        return exc
    return None


def _normalise(store: StoreConnection, source: Source, listed: ListedOrder, order, items) -> NormalisedOrder:
    """The normaliser's result, or a quarantined placeholder if it failed anyway."""
    try:
        normalised = source.normalise(order, items)
    except SoftTimeLimitExceeded:  # an Exception too, but it ends the run, not the order
        raise
    except Exception as exc:
        logger.exception("store %s: normalising order %s failed", store.id, listed.order_id)
        return unreadable_order(
            marketplace=store.marketplace,
            order_id=listed.order_id,
            raw={"order": order, "items": items},
            problem=_("The order could not be read (unexpected %(error)s); it is set aside until a clean read.")
            % {"error": type(exc).__name__},
        )
    if normalised.marketplace_order_id not in ("", listed.order_id):
        normalised.quarantined = True
        normalised.data_errors = [
            _("The order details are for order %(other)s, not %(order)s.")
            % {"other": excerpt(normalised.marketplace_order_id), "order": excerpt(listed.order_id)},
            *normalised.data_errors,
        ]
    return normalised


def _write(store: StoreConnection, listed: ListedOrder, normalised: NormalisedOrder, order, items) -> Saved:
    """Write the read; if the database refuses it anyway, quarantine the order with the reason."""
    try:
        return order_save(store=store, listed=listed, normalised=normalised)
    except SoftTimeLimitExceeded:
        raise
    except Exception as exc:
        logger.exception("store %s: storing order %s failed", store.id, listed.order_id)
        problem = _("The order could not be stored (%(error)s); it is set aside until a clean read.") % {
            "error": type(exc).__name__
        }
        return order_quarantine(store=store, listed=listed, problem=problem, raw={"order": order, "items": items})


def _fetch_failed(
    store: StoreConnection, listed: ListedOrder, result: ImportResult, failures: Failures, reason: str
) -> None:
    """Count a failed detail fetch; quarantine the order when it keeps failing."""
    now = timezone.now()
    if failures.failed(listed.order_id, reason, now):
        problem = _(
            "The order's details could not be read in %(count)d imports in a row (last: %(reason)s); it is set "
            "aside and read again once a day."
        ) % {"count": FAILURES_BEFORE_QUARANTINE, "reason": reason}
        result.count(order_quarantine(store=store, listed=listed, problem=problem))
        result.problem(_("Order %(order)s: %(problem)s") % {"order": listed.order_id, "problem": problem})
        return
    result.fetch_failed_ids.append(listed.order_id)
    result.problem(
        _("Order %(order)s could not be read (%(reason)s); it is tried again at the next import.")
        % {"order": listed.order_id, "reason": reason}
    )
