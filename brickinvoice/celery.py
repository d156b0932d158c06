"""The Celery app. Configuration lives in settings under CELERY_*; see design §2 and §5."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brickinvoice.settings")

app = Celery("brickinvoice")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
