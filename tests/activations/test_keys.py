import pytest
from cryptography.fernet import Fernet

from activations.keys import KeyDecryptionError, decrypt_key, encrypt_key, rotate

OLD = Fernet.generate_key().decode()
NEW = Fernet.generate_key().decode()


def test_it_round_trips_a_key(settings):
    settings.FIELD_ENCRYPTION_KEYS = [NEW]
    ciphertext = encrypt_key("secret-api-key-1234")
    assert "secret-api-key" not in ciphertext
    assert decrypt_key(ciphertext) == "secret-api-key-1234"


def test_it_reads_a_key_encrypted_under_an_older_key(settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    ciphertext = encrypt_key("k-old")
    settings.FIELD_ENCRYPTION_KEYS = [NEW, OLD]
    assert decrypt_key(ciphertext) == "k-old"


def test_rotation_re_encrypts_under_the_newest_key(settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    ciphertext = encrypt_key("k-rotate")
    settings.FIELD_ENCRYPTION_KEYS = [NEW, OLD]
    rotated = rotate(ciphertext)
    settings.FIELD_ENCRYPTION_KEYS = [NEW]
    assert decrypt_key(rotated) == "k-rotate"
    with pytest.raises(KeyDecryptionError):
        decrypt_key(ciphertext)


def test_a_failed_decryption_raises_and_never_returns_the_ciphertext(settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    ciphertext = encrypt_key("k-lost")
    settings.FIELD_ENCRYPTION_KEYS = [NEW]
    with pytest.raises(KeyDecryptionError) as caught:
        decrypt_key(ciphertext)
    assert ciphertext not in str(caught.value)
    assert caught.value.__cause__ is None
    with pytest.raises(KeyDecryptionError):
        decrypt_key("not a ciphertext at all")


def test_an_empty_key_is_refused(settings):
    with pytest.raises(ValueError):
        encrypt_key("")
