"""Background work of the Fatture package itself: the dashboard's connection check (health.py)."""

from __future__ import annotations

import logging

from celery import shared_task

from brickinvoice.errors import ServiceError

from .client import FattureClient
from .health import note_check_failed
from .models import FattureConnection

logger = logging.getLogger("fatture.health")


def verify(connection: FattureConnection) -> bool:
    """One ``/user/info`` call. True when Fatture answered (the client stamps the answer); a
    failure is remembered for the dashboard. A revoked token is marked by the client itself."""
    try:
        FattureClient(connection).get("/user/info")
    except ServiceError as exc:
        note_check_failed(connection.pk, exc.code)
        logger.info("fatture check failed connection=%s code=%s", connection.public_id, exc.code)
        return False
    return True


@shared_task(name="fatture.check_connection", ignore_result=True)
def check_connection(connection_id: int) -> None:
    connection = FattureConnection.objects.filter(pk=connection_id).first()
    if connection is None or connection.status != FattureConnection.Status.CONNECTED:
        return
    verify(connection)
