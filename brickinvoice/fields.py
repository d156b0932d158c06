"""EncryptedTextField: a model field whose column only ever holds ciphertext."""

from django.db import models

from . import crypto


class Secret(str):
    """A decrypted value whose repr never shows it (tracebacks, debug pages, shells)."""

    def __repr__(self) -> str:
        return "Secret('********')"


class EncryptedTextField(models.TextField):
    """Text encrypted with brickinvoice.crypto. Empty string and NULL are stored as-is.

    Not searchable or orderable by value (the ciphertext is randomised); keep a separate
    non-secret hint field (last four characters) for display.
    """

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return Secret(crypto.decrypt(value))

    def to_python(self, value):
        return value

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(str(value))

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        return name, "brickinvoice.fields.EncryptedTextField", args, kwargs


def encrypted_fields():
    """Every (model, field) pair in the project that stores an encrypted value."""
    from django.apps import apps

    return [
        (model, field)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, EncryptedTextField)
    ]


def mask(value: str | None, visible: int = 4) -> str:
    """A display hint for a secret: only its last few characters."""
    if not value:
        return ""
    return "•" * 8 + value[-visible:] if len(value) > visible * 2 else "•" * 8
