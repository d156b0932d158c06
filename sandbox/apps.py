from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "sandbox"
    verbose_name = "Sandbox (fake BrickLink, BrickOwl, Fatture in Cloud)"
