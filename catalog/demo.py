"""The built-in sandbox providers that a fresh development install starts with, and the demo
team's accounts on them (sandbox mode only)."""

from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from catalog.models import Provider, ProviderAccount, SyncRun
from catalog.sandbox_views import SandboxMount, sandbox_mounts
from catalog.tasks import request_sync
from dashboard.encryption import KeyDecryptionError, decrypt_key, encrypt_key, last4
from dashboard.models import Team

SANDBOX_RATE = 20.0


def ensure_sandbox_providers(base_url: str) -> list[Provider]:
    """The sandbox providers served by this dashboard at `base_url`, one per mount of
    settings.SANDBOX_MARKETS, each created on first use.

    Running it again finds each by its mount's path, points it at `base_url` (the port may
    have changed) and leaves everything else the operator set in admin alone. The first mount
    also adopts the oldest sandbox provider no mount's path matches: an install from before
    there were several keeps its one sandbox provider, its row and its team's key.
    """
    sandboxes = list(Provider.objects.filter(is_sandbox=True).order_by("pk"))
    mounts = sandbox_mounts()
    at_mount = {
        mount.path: next((p for p in sandboxes if urlsplit(p.handler_url).path == mount.path), None)
        for mount in mounts
    }
    adoptable = [p for p in sandboxes if p not in at_mount.values()]
    if mounts and at_mount[mounts[0].path] is None and adoptable:
        at_mount[mounts[0].path] = adoptable[0]
    return [_served_at(at_mount[mount.path], mount, base_url) for mount in mounts]


def _served_at(provider: Provider | None, mount: SandboxMount, base_url: str) -> Provider:
    handler_url = base_url.rstrip("/") + mount.path
    if provider is None:
        return Provider.objects.create(
            name=mount.name,
            handler_url=handler_url,
            max_requests_per_second=SANDBOX_RATE,
            is_sandbox=True,
            names_in_both_languages=True,
        )
    if provider.handler_url != handler_url:
        provider.handler_url = handler_url
        provider.save(update_fields=["handler_url"])
    return provider


def ensure_demo_account(team: Team, provider: Provider) -> ProviderAccount | None:
    """Give the team the mounted sandboxes' key (settings.SANDBOX_API_KEY) at `provider`; safe
    to repeat.

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


def queue_first_syncs(providers: list[Provider]) -> list[Provider]:
    """Queue a full sync of each provider that has never been synced, so that the first
    look at the catalog after `make run` shows it on its way instead of asking for a press of
    "Sync now"; the providers queued (none already queued or synced)."""
    never = [p for p in providers if not SyncRun.objects.filter(provider=p).exists()]
    return [provider for provider in never if request_sync(provider)]
