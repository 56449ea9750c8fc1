"""The built-in sandbox provider that a fresh development install starts with, and the demo
team's account on it (sandbox mode only)."""

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from catalog.models import Provider, ProviderAccount
from dashboard.encryption import KeyDecryptionError, decrypt_key, encrypt_key, last4
from dashboard.models import Team

SANDBOX_NAME = "Sandbox"
SANDBOX_PATH = "/sandbox/stubs/handler_api"
SANDBOX_RATE = 20.0


def ensure_sandbox_provider(base_url: str) -> Provider:
    """The sandbox provider served by this dashboard at `base_url`, created on first use.

    Running it again points the existing sandbox provider at `base_url` (the port may have
    changed) and leaves everything else the operator set in admin alone.
    """
    handler_url = base_url.rstrip("/") + SANDBOX_PATH
    provider = Provider.objects.filter(is_sandbox=True).order_by("pk").first()
    if provider is None:
        return Provider.objects.create(
            name=SANDBOX_NAME,
            handler_url=handler_url,
            max_requests_per_second=SANDBOX_RATE,
            is_sandbox=True,
        )
    if provider.handler_url != handler_url:
        provider.handler_url = handler_url
        provider.save(update_fields=["handler_url"])
    return provider


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
