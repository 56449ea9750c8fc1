"""Whose key the catalog sync lists a provider's catalog with."""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings

from catalog.models import Provider, ProviderAccount
from dashboard.encryption import KeyDecryptionError, decrypt_key


class NoSyncKey(Exception):
    """No key to list the provider's catalog with: no team has attached an account yet."""


@dataclass(frozen=True)
class SyncKey:
    """The key a sync lists with and the account it belongs to (None for the sandbox's own
    key): the failed calls go to that account's team's audit log, like its own calls'."""

    api_key: str = field(repr=False)
    account: ProviderAccount | None = None


def sync_key(provider: Provider) -> SyncKey:
    """The key the catalog sync lists prices with, the first usable one of:

    1. the account the operator chose in admin (`Provider.sync_account`);
    2. for the built-in sandbox, its own key (settings.SANDBOX_API_KEY), so no team's is used;
    3. the account attached first (lowest id).

    An account's key is unusable once removed or when it was encrypted with a retired key.
    Listing costs nothing, but the provider sees whose key asked. The key stays in this
    process: it never goes into a task's arguments, a log line or a SyncRun; tasks are given
    the provider's id and call this.
    """
    accounts = (
        ProviderAccount.objects.filter(provider=provider)
        .exclude(key_ciphertext="")
        .select_related("team")
    )
    chosen = provider.sync_account_id
    if chosen is not None and (key := first_decryptable(accounts.filter(pk=chosen))):
        return key
    if provider.is_sandbox and settings.SANDBOX_API_KEY:
        return SyncKey(settings.SANDBOX_API_KEY)
    if key := first_decryptable(accounts.order_by("pk")):
        return key
    raise NoSyncKey(f"No team has attached a usable API key for {provider.name} yet.")


def first_decryptable(accounts: Iterable[ProviderAccount]) -> SyncKey | None:
    for account in accounts:
        try:
            return SyncKey(decrypt_key(account.key_ciphertext), account)
        except KeyDecryptionError:
            continue  # encrypted with a retired key: another account's may do
    return None
