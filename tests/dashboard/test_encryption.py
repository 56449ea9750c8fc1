import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from catalog.models import ProviderAccount
from dashboard.encryption import (
    EncryptionKeysUnusable,
    KeyDecryptionError,
    decrypt_key,
    encrypt_key,
    rotate,
)

OLD = Fernet.generate_key().decode()
NEW = Fernet.generate_key().decode()
# Base64 of 31 bytes: one short of a Fernet key. Never to be shown anywhere.
MALFORMED = "bWFsZm9ybWVkLWVuY3J5cHRpb24ta2V5LTMxLWJ5dA=="


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


def test_check_deploy_names_a_malformed_key_by_position_never_by_value(settings):
    settings.FIELD_ENCRYPTION_KEYS = [NEW, MALFORMED]
    with pytest.raises(SystemCheckError) as caught:
        call_command("check", deploy=True, tags=["security"])
    report = str(caught.value)
    assert "sms_desk.E001" in report
    assert "FIELD_ENCRYPTION_KEYS entry 2 of 2 is not a Fernet key" in report
    assert MALFORMED not in report
    assert NEW not in report


def test_a_malformed_key_is_reported_as_such_when_encrypting_and_decrypting(settings):
    settings.FIELD_ENCRYPTION_KEYS = [NEW]
    ciphertext = encrypt_key("k-kept")
    settings.FIELD_ENCRYPTION_KEYS = [MALFORMED, NEW]
    for use in (lambda: encrypt_key("k-new"), lambda: decrypt_key(ciphertext)):
        with pytest.raises(EncryptionKeysUnusable) as caught:
            use()
        assert "entry 1 of 2" in str(caught.value)
        assert MALFORMED not in str(caught.value)
        assert caught.value.__cause__ is None


def test_attaching_a_key_with_unusable_encryption_keys_is_a_form_error(
    settings, client, alice, alice_team, sandbox_provider, sandbox_server
):
    settings.FIELD_ENCRYPTION_KEYS = [MALFORMED]
    client.force_login(alice)
    response = client.post(
        f"/t/{alice_team.slug}/provider-accounts/",
        {"provider": sandbox_provider.pk, "api_key": sandbox_server.api_key},
    )
    assert response.status_code == 200
    assert "entry 1 of 1 is not a Fernet key" in response.context["form"].errors["api_key"][0]
    assert MALFORMED.encode() not in response.content
    assert not ProviderAccount.objects.exists()
