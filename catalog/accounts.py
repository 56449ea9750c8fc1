"""A team's provider accounts: checking and attaching a key, removing it, refreshing the
balance. Each service acts for a person, the `acting` membership (its role is checked here);
the provider is asked outside any database transaction, and the audit row is written with
the change it describes.
"""

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import BooleanField, ExpressionWrapper, ProtectedError, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalog.models import Provider, ProviderAccount
from catalog.provider_errors import CHANGING, KEY_CHECK, Outcome
from catalog.upstream import AUDITED_ACTIONS, CallAuditor, key_check_client, provider_client
from dashboard.access import require_role, require_same_team
from dashboard.audit import Action, record_by
from dashboard.display import money
from dashboard.encryption import EncryptionKeysUnusable, KeyDecryptionError, encrypt_key, fernet
from dashboard.models import BUYERS, MANAGERS, Membership, Team
from dashboard.teams import lock_team
from provider.client import ProviderError

ACCOUNT_ELSEWHERE = gettext_lazy("This account belongs to another team.")
# A balance older than this is asked for again when a page shows it. Each check is a
# getBalance call within the provider's request budget and a row in the audit log, so a page
# viewed all day asks at most every ten minutes, not on every view.
BALANCE_FRESH_FOR = timedelta(minutes=10)


class KeyRejected(Exception):
    """The key could not be checked or was refused; the message is meant for the form."""


def keyed_accounts(team: Team) -> QuerySet[ProviderAccount]:
    """The team's accounts that hold a key (a removed key leaves its account behind)."""
    return (
        ProviderAccount.objects.filter(team=team)
        .exclude(key_ciphertext="")
        .select_related("provider", "team")
    )


def accounts_with_balance_age(team: Team) -> QuerySet[ProviderAccount]:
    """The team's keyed accounts, each with `balance_due`: its balance was never checked or
    is older than BALANCE_FRESH_FOR, so a page showing it asks for it as it loads (no query
    of its own: the age is worked out in the same SELECT)."""
    stale = Q(balance_checked_at__isnull=True) | Q(
        balance_checked_at__lt=timezone.now() - BALANCE_FRESH_FOR
    )
    return keyed_accounts(team).annotate(
        balance_due=ExpressionWrapper(stale, output_field=BooleanField())
    )


def keyed_providers(team: Team) -> QuerySet[ProviderAccount]:
    """The ids of the enabled providers where the team holds a key, as a subquery
    (`provider__in=keyed_providers(team)`: no query of its own)."""
    return keyed_accounts(team).filter(provider__enabled=True).values("provider_id").order_by()


def account_with_key(team: Team, provider: Provider) -> ProviderAccount | None:
    return keyed_accounts(team).filter(provider=provider).first()


def check_key(*, acting: Membership, provider: Provider, api_key: str) -> Decimal:
    """The balance behind a key not stored yet; KeyRejected with the form's message if not."""
    try:
        with key_check_client(provider, api_key, team=acting.team, user=acting.user) as client:
            return client.get_balance()
    except ProviderError as error:
        raise KeyRejected(KEY_CHECK.message(error, provider.name)) from None


def attach_key(
    *, acting: Membership, provider: Provider, api_key: str, ip: str | None = None
) -> ProviderAccount:
    """Check a key with getBalance and store it encrypted (adding or replacing the team's)."""
    require_role(acting, MANAGERS)
    team, user = acting.team, acting.user
    api_key = api_key.strip()
    if not api_key:
        raise KeyRejected(_("Enter the API key."))
    try:
        fernet()  # unusable encryption keys: say so before the provider is asked
    except EncryptionKeysUnusable as error:
        raise KeyRejected(str(error)) from None
    balance = check_key(acting=acting, provider=provider, api_key=api_key)
    now = timezone.now()
    with transaction.atomic():
        lock_team(team)  # two managers attaching at once: the second replaces the first
        account = (
            ProviderAccount.objects.select_for_update().filter(team=team, provider=provider).first()
        )
        replacing = account is not None and bool(account.key_ciphertext)
        if account is None:
            account = ProviderAccount(team=team, provider=provider, created_by=user)
        account.key_ciphertext = encrypt_key(api_key)
        account.key_last4 = api_key[-4:]
        account.balance = balance
        account.balance_checked_at = now
        account.updated_at = now
        account.save()
        record_by(
            acting,
            Action.KEY_REPLACED if replacing else Action.KEY_ADDED,
            obj=account,
            ip=ip,
            provider=provider.name,
            masked_key=account.masked_key,
        )
    return account


def remove_account(
    *,
    acting: Membership,
    account: ProviderAccount,
    in_use: Callable[[ProviderAccount], str | None],
    ip: str | None = None,
) -> Outcome:
    """Forget the team's key for a provider, unless `in_use` (asked under the team's lock,
    given by the layer that uses accounts) says why it cannot go yet. An account that past
    activations still point at keeps its row; only the key goes."""
    require_role(acting, MANAGERS)
    require_same_team(acting, account, ACCOUNT_ELSEWHERE)
    provider_name = account.provider.name
    with transaction.atomic():
        lock_team(acting.team)
        refusal = in_use(account)
        if refusal:
            return Outcome(False, refusal)
        record_by(
            acting,
            Action.KEY_REMOVED,
            obj=account,
            ip=ip,
            provider=provider_name,
        )
        try:
            with transaction.atomic():
                account.delete()
        except ProtectedError:
            ProviderAccount.objects.filter(pk=account.pk).update(
                key_ciphertext="",
                key_last4="",
                balance=None,
                balance_checked_at=None,
                updated_at=timezone.now(),
            )
    return Outcome(True, _("The key for %(provider)s was removed.") % {"provider": provider_name})


# A refresh's getBalance is audited by `refresh_balance` itself, only when it changed something.
AUDITED_BUT_BALANCE = AUDITED_ACTIONS - {Action.GET_BALANCE}


def refresh_balance(
    *, acting: Membership, account: ProviderAccount, ip: str | None = None
) -> Outcome:
    """Ask the provider for the account's balance and store it.

    The audit log gets "Balance refreshed" (before and after) with its getBalance call only
    when the balance differs from the one stored: refreshing an unchanged balance, however
    often (the accounts page checks it on first view), adds no row. Errors are always written
    (by the client)."""
    require_role(acting, BUYERS)
    require_same_team(acting, account, ACCOUNT_ELSEWHERE)
    provider = account.provider
    if not account.has_key:
        return Outcome(
            False, _("The team has no key for %(provider)s.") % {"provider": provider.name}
        )
    auditor = CallAuditor(team=account.team, account=account, user=acting.user)
    try:
        with provider_client(
            account, user=acting.user, audit_actions=AUDITED_BUT_BALANCE
        ) as client:
            balance = client.get_balance()
            exchange = client.last_exchange
    except (ProviderError, KeyDecryptionError) as error:
        return Outcome(False, CHANGING.message(error, provider.name))
    before, now = account.balance, timezone.now()
    with transaction.atomic():
        ProviderAccount.objects.filter(pk=account.pk).update(
            balance=balance, balance_checked_at=now
        )
        if balance != before:
            auditor.write_exchange(exchange)
            record_by(
                acting,
                Action.BALANCE_REFRESHED,
                obj=account,
                ip=ip,
                provider=provider.name,
                before=before,
                after=balance,
            )
    account.balance, account.balance_checked_at = balance, now
    return Outcome(
        True,
        _("Balance at %(provider)s: %(balance)s.")
        % {"provider": provider.name, "balance": money(balance, provider.currency)},
    )
