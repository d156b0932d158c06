"""Celery tasks of the tax engine: thin, one service call, retry policy beside the task."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task

from .ecb import ecb_rates_refresh as refresh_service
from .errors import EcbFeedError

logger = logging.getLogger(__name__)


# Beat runs this daily at 16:30 CET, after the ECB's ~16:00 publication. A transient failure
# retries every 30 minutes for a few hours; tomorrow's run catches up on anything still missed
# (the 90-day feed), so giving up here loses nothing.
@shared_task(bind=True, max_retries=6, soft_time_limit=60, time_limit=90)
def ecb_rates_refresh(self: Task[Any, Any]) -> int:
    try:
        result = refresh_service()
    except EcbFeedError as exc:
        if exc.transient:
            logger.warning("ECB rates refresh failed, retrying: %s", exc)
            raise self.retry(exc=exc, countdown=1800) from exc
        logger.error("ECB rates refresh failed: %s", exc)
        raise
    logger.info("ECB rates refresh: %s day(s) stored, catch-up=%s", result.days_stored, result.caught_up)
    return result.days_stored
