"""The Celery app. Configuration lives in settings under CELERY_*; see docs/architecture.md §2 and
§5.8."""

import os

from celery import Celery
from celery.signals import after_setup_logger, after_setup_task_logger

from .logging import add_filter_to_handlers, install_record_factory

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brickinvoice.settings")

app = Celery("brickinvoice")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@after_setup_logger.connect
@after_setup_task_logger.connect
def _redact_celery_logs(logger, **kwargs):
    """Celery replaces the root logger's handlers in the worker and beat (and adds its task
    logger's): redact on the handlers it installs, and at record creation in case Django's
    LOGGING_CONFIG has not run in this process."""
    install_record_factory()
    add_filter_to_handlers(logger)
