from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from catalog.models import Provider, ProviderAccount
from dashboard.encryption import decrypt_key
from tests.fixtures.activations import make_account

OLD = Fernet.generate_key().decode()
NEW = Fernet.generate_key().decode()


def test_it_re_encrypts_every_key_under_the_newest(settings, alice_team, charlie, act_provider):
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    make_account(alice_team, act_provider, api_key="alice-key-0001")
    other = Provider.objects.create(name="Other", handler_url="http://127.0.0.1:9/x")
    make_account(charlie.memberships.get().team, other, api_key="charlie-key-0002")
    settings.FIELD_ENCRYPTION_KEYS = [NEW, OLD]
    out = StringIO()
    call_command("rotate_keys", stdout=out)
    assert "Rotated 2 key(s)" in out.getvalue()
    settings.FIELD_ENCRYPTION_KEYS = [NEW]  # the old key can go now
    keys = {decrypt_key(a.key_ciphertext) for a in ProviderAccount.objects.all()}
    assert keys == {"alice-key-0001", "charlie-key-0002"}


def test_it_reports_keys_it_cannot_read_and_leaves_them(settings, alice_team, act_provider):
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    account = make_account(alice_team, act_provider, api_key="alice-key-0001")
    settings.FIELD_ENCRYPTION_KEYS = [NEW]
    out = StringIO()
    with pytest.raises(CommandError, match="could not be decrypted"):
        call_command("rotate_keys", stdout=out)
    assert "Rotated 0 key(s)" in out.getvalue()
    assert ProviderAccount.objects.get().key_ciphertext == account.key_ciphertext
