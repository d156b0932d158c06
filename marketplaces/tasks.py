"""Celery tasks of the marketplaces app: ids in, one service call (style §5).

Routed to the ``marketplaces`` queue by ``CELERY_TASK_ROUTES``.
"""

from celery import shared_task

from . import services


# A BrickLink backfill costs 2 calls per order and can take many minutes; progress is committed
# per order, so the soft limit only ends a run early and the next run continues.
@shared_task(bind=True, acks_late=True, max_retries=3, soft_time_limit=1500, time_limit=1800)
def import_store(self, store_id: int) -> dict:
    result = services.store_import_orders(store_id=store_id)
    if result.retry_in:
        raise self.retry(countdown=result.retry_in)
    return result.as_dict()
