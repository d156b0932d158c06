"""Secrets at rest: MultiFernet over FIELD_ENCRYPTION_KEYS (docs/architecture.md §5.3).

The first key encrypts, every key decrypts. Stored values carry the marker ``fernet1:``
so that a plaintext value can never pass for ciphertext, and so that a future scheme
can sit beside this one. A value that no key decrypts raises; it is never read as empty.
"""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

MARKER = "fernet1:"


class DecryptionError(Exception):
    """A stored secret that none of the configured keys can decrypt."""


def _is_fernet_key(key: str) -> bool:
    try:
        Fernet(key.strip().encode())
    except (ValueError, TypeError):
        return False
    return True


def check_keys(keys: list[str] | tuple[str, ...]) -> None:
    """Refuse a malformed key list at start-up (settings call this in every process) rather than at
    the first encrypted read. The error names the key by position only: it is never printed."""
    for position, key in enumerate(keys, start=1):
        if not _is_fernet_key(key):
            raise ImproperlyConfigured(
                f"FIELD_ENCRYPTION_KEYS: key {position} of {len(keys)} is not a Fernet key "
                "(32 url-safe base64-encoded bytes; see README, Configuration)."
            )


@lru_cache(maxsize=8)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    check_keys(keys)
    return MultiFernet([Fernet(k.strip().encode()) for k in keys])


def get_fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return MARKER + get_fernet().encrypt(plaintext.encode()).decode()


def is_encrypted(stored: str) -> bool:
    return stored.startswith(MARKER)


def decrypt(stored: str) -> str:
    if not is_encrypted(stored):
        raise DecryptionError("Stored value carries no encryption marker.")
    try:
        return get_fernet().decrypt(stored[len(MARKER) :].encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError("Stored secret cannot be decrypted with any configured key.") from exc


def rotate(stored: str) -> str:
    """Re-encrypt under the primary key (raises DecryptionError if no key fits)."""
    if not is_encrypted(stored):
        raise DecryptionError("Stored value carries no encryption marker.")
    try:
        return MARKER + get_fernet().rotate(stored[len(MARKER) :].encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError("Stored secret cannot be decrypted with any configured key.") from exc
