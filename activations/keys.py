"""Provider API keys at rest: MultiFernet over settings.FIELD_ENCRYPTION_KEYS (newest first).

Encryption always uses the newest key; decryption tries every key, so an old ciphertext stays
readable until `manage.py rotate_keys` re-encrypts it. A ciphertext that no configured key can
read raises `KeyDecryptionError`: it is never handed back as if it were a key.
"""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class KeyDecryptionError(Exception):
    """A stored key could not be decrypted with any of FIELD_ENCRYPTION_KEYS."""


@lru_cache(maxsize=4)
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode() if isinstance(key, str) else key) for key in keys])


def fernet() -> MultiFernet:
    # Keyed on the current setting so that tests overriding it get their own instance.
    return _fernet_for(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt_key(plaintext: str) -> str:
    if not plaintext:
        raise ValueError("An empty API key cannot be stored.")
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt_key(ciphertext: str) -> str:
    try:
        return fernet().decrypt(ciphertext.encode()).decode()
    except (InvalidToken, ValueError, TypeError, AttributeError):
        raise KeyDecryptionError(
            "The stored provider key cannot be decrypted with FIELD_ENCRYPTION_KEYS "
            "(was the key that encrypted it removed?). Attach the key again."
        ) from None


def rotate(ciphertext: str) -> str:
    """The same key re-encrypted under the newest encryption key."""
    try:
        return fernet().rotate(ciphertext.encode()).decode()
    except (InvalidToken, ValueError, TypeError, AttributeError):
        raise KeyDecryptionError(
            "The stored provider key cannot be decrypted with FIELD_ENCRYPTION_KEYS, "
            "so it cannot be rotated."
        ) from None


def last4(plaintext: str) -> str:
    return plaintext[-4:]
