"""Provider API keys at rest: MultiFernet over settings.FIELD_ENCRYPTION_KEYS (newest first).

Encryption always uses the newest key; decryption tries every key, so an old ciphertext stays
readable until `manage.py rotate_keys` re-encrypts it. A ciphertext that no configured key can
read raises `KeyDecryptionError`: it is never handed back as if it were a key.

Every entry of FIELD_ENCRYPTION_KEYS must be a Fernet key (32 url-safe base64-encoded bytes).
`key_problems` is the one rule: the settings refuse to start on it, `check --deploy` reports it
(sms_desk.E001), and a process whose setting was changed after start-up raises
`EncryptionKeysUnusable` instead of failing somewhere inside the cryptography library.
"""

from collections.abc import Sequence
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class KeyDecryptionError(Exception):
    """A stored key could not be decrypted with any of FIELD_ENCRYPTION_KEYS."""


class EncryptionKeysUnusable(KeyDecryptionError):
    """FIELD_ENCRYPTION_KEYS itself is unusable: no key can be encrypted or decrypted.

    The message names the entries by position, never their values, and may be shown."""


def key_problems(keys: Sequence[str | bytes]) -> list[str]:
    """One sentence per unusable FIELD_ENCRYPTION_KEYS entry, by position (1 is the newest)."""
    if not keys:
        return ["FIELD_ENCRYPTION_KEYS holds no key."]
    problems = []
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            problems.append(
                f"FIELD_ENCRYPTION_KEYS entry {position} of {len(keys)} is not a Fernet key "
                "(32 url-safe base64-encoded bytes)."
            )
    return problems


@lru_cache(maxsize=4)
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    problems = key_problems(keys)
    if problems:
        raise EncryptionKeysUnusable(
            " ".join(problems) + " No provider key can be stored or read until an operator "
            "fixes it."
        )
    return MultiFernet([Fernet(key) for key in keys])


def fernet() -> MultiFernet:
    # Keyed on the current setting so that tests overriding it get their own instance.
    return _fernet_for(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt_key(plaintext: str) -> str:
    """The key encrypted under the newest key; `EncryptionKeysUnusable` if the setting is bad."""
    if not plaintext:
        raise ValueError("An empty API key cannot be stored.")
    return fernet().encrypt(plaintext.encode()).decode()


def _unlocked(ciphertext: str, use: str, refusal: str) -> str:
    """`MultiFernet.<use>` of a ciphertext; KeyDecryptionError (with `refusal`) if no key reads
    it. The setting is checked first, outside the try: an unusable setting is reported as
    itself."""
    keys = fernet()
    try:
        return getattr(keys, use)(ciphertext.encode()).decode()
    except (InvalidToken, ValueError, TypeError, AttributeError):
        raise KeyDecryptionError(
            f"The stored provider key cannot be decrypted with FIELD_ENCRYPTION_KEYS{refusal}"
        ) from None


def decrypt_key(ciphertext: str) -> str:
    return _unlocked(
        ciphertext, "decrypt", " (was the key that encrypted it removed?). Attach the key again."
    )


def rotate(ciphertext: str) -> str:
    """The same key re-encrypted under the newest encryption key."""
    return _unlocked(ciphertext, "rotate", ", so it cannot be rotated.")


def last4(plaintext: str) -> str:
    return plaintext[-4:]
