"""Secrets at rest: ciphertext only in the column, hard failure on a foreign key, key rotation."""

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from brickinvoice import crypto
from brickinvoice.fields import mask
from marketplaces.models import StoreConnection
from tests.factories import StoreConnectionFactory

SECRET = "bo-live-key-SUPERSECRET-42"


def _raw(store):
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials FROM marketplaces_storeconnection WHERE id = %s", [store.pk])
        return cursor.fetchone()[0]


@pytest.fixture
def keys(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    return old, new


@pytest.mark.django_db
def test_column_holds_only_marked_ciphertext(keys):
    store = StoreConnectionFactory(credentials=f'{{"api_key": "{SECRET}"}}')
    raw = _raw(store)
    assert raw.startswith(crypto.MARKER)
    assert SECRET not in raw
    assert StoreConnection.objects.get(pk=store.pk).get_credentials() == {"api_key": SECRET}


@pytest.mark.django_db
def test_value_no_key_decrypts_is_an_error_not_empty(keys, settings):
    store = StoreConnectionFactory(credentials=f'{{"api_key": "{SECRET}"}}')
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(crypto.DecryptionError):
        StoreConnection.objects.get(pk=store.pk)


@pytest.mark.django_db
def test_plaintext_in_column_is_refused(keys):
    store = StoreConnectionFactory()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE marketplaces_storeconnection SET credentials = %s WHERE id = %s", ['{"api_key": "plain"}', store.pk]
        )
    with pytest.raises(crypto.DecryptionError):
        StoreConnection.objects.get(pk=store.pk)


@pytest.mark.django_db
def test_rotation_reencrypts_under_new_key_and_old_key_can_go(keys, settings):
    old, new = keys
    stores = [StoreConnectionFactory(credentials=f'{{"api_key": "{SECRET}-{i}"}}') for i in range(3)]
    before = [_raw(s) for s in stores]

    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    call_command("rotate_encryption_keys")
    settings.FIELD_ENCRYPTION_KEYS = [new]  # the old key is removed afterwards

    for i, store in enumerate(stores):
        raw = _raw(store)
        assert raw != before[i] and SECRET not in raw
        assert Fernet(new.encode()).decrypt(raw[len(crypto.MARKER) :].encode()).decode().endswith(f'-{i}"}}')
        assert StoreConnection.objects.get(pk=store.pk).get_credentials()["api_key"] == f"{SECRET}-{i}"


@pytest.mark.django_db
def test_rotation_fails_loudly_on_undecryptable_value(keys, settings):
    StoreConnectionFactory()
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(CommandError):
        call_command("rotate_encryption_keys")


def test_decrypted_value_repr_hides_secret(keys):
    from brickinvoice.fields import Secret

    assert SECRET not in repr(Secret(SECRET))
    assert mask(SECRET).endswith("-42") and SECRET not in mask(SECRET)
