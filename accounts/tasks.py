"""accounts' tasks: thin, ids in, one service call (style §5)."""

from celery import shared_task

from . import services


# A mail server hiccup is worth a few retries; the e-mail is not worth more than a day's delay.
@shared_task(autoretry_for=(OSError,), retry_backoff=60, max_retries=5, acks_late=True)
def send_preregistration_approved(preregistration_id: int) -> bool:
    return services.preregistration_notify_approved(preregistration_id=preregistration_id)
