"""The demo team's account on the built-in sandbox provider (sandbox mode only)."""

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from activations.keys import KeyDecryptionError, decrypt_key, encrypt_key, last4
from activations.models import ProviderAccount
from catalog.models import Provider
from dashboard.models import Team


def ensure_demo_account(team: Team, provider: Provider) -> ProviderAccount | None:
    """Give the team the mounted sandbox's key (settings.SANDBOX_API_KEY); safe to repeat.

    Returns None when sandbox mode is off. The key is not checked with the provider here: the
    sandbox is served by the same process, which is usually not running yet.
    """
    api_key = settings.SANDBOX_API_KEY
    if not settings.SANDBOX or not api_key:
        return None
    with transaction.atomic():
        account = (
            ProviderAccount.objects.select_for_update().filter(team=team, provider=provider).first()
        )
        if account is not None and account.has_key and _holds(account, api_key):
            return account
        if account is None:
            account = ProviderAccount(team=team, provider=provider)
        account.key_ciphertext = encrypt_key(api_key)
        account.key_last4 = last4(api_key)
        account.updated_at = timezone.now()
        account.save()
    return account


def _holds(account: ProviderAccount, api_key: str) -> bool:
    try:
        return decrypt_key(account.key_ciphertext) == api_key
    except KeyDecryptionError:  # an unreadable key is replaced
        return False
