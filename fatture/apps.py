from django.apps import AppConfig


class FattureConfig(AppConfig):
    name = "fatture"
    default_auto_field = "django.db.models.BigAutoField"
