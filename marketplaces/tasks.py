"""Celery tasks of the marketplaces app: ids in, one service call (docs/architecture.md §10.2).

Routed to the ``marketplaces`` queue by ``CELERY_TASK_ROUTES``.
"""

from celery import shared_task

from . import services


# A BrickLink backfill costs 2 calls per order and can take many minutes; progress is committed
# per order, so the soft limit only ends a run early and the next run continues. A store-level
# transient failure (unreachable, unreadable listing, an unexpected error) is retried with a
# doubling delay (5, 10, 20 minutes); after that the store shows the error and the next
# scheduled sync tries again.
@shared_task(bind=True, acks_late=True, max_retries=3, soft_time_limit=1500, time_limit=1800)
def import_store(self, store_id: int) -> dict:
    result = services.store_import_orders(store_id=store_id)
    if result.retry_in and self.request.retries < self.max_retries:
        raise self.retry(countdown=result.retry_in * 2**self.request.retries)
    return result.as_dict()
