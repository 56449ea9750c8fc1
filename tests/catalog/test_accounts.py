"""catalog.accounts: the provider-key services act for a membership (`acting`) and check its
role and team; removing a key asks the layer above whether anything still uses it."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from catalog import accounts
from catalog.models import ProviderAccount
from dashboard.models import AuditEvent, Membership


def acting(user) -> Membership:
    return Membership.objects.select_related("team", "user").get(user=user)


def nothing_uses(account):
    return None


def test_a_manager_attaches_a_checked_key(alice, sandbox_provider, sandbox_server):
    account = accounts.attach_key(
        acting=acting(alice),
        provider=sandbox_provider,
        api_key=sandbox_server.api_key,
        ip="10.0.0.1",
    )
    assert account.balance == Decimal("1000.00")
    assert account.created_by == alice
    event = AuditEvent.objects.get(kind="action")
    assert (event.action, event.ip) == ("key_added", "10.0.0.1")


def test_a_rejected_key_says_so_and_stores_nothing(alice, sandbox_provider, sandbox_server):
    with pytest.raises(accounts.KeyRejected, match=r"rejected this key\. Nothing was stored"):
        accounts.attach_key(acting=acting(alice), provider=sandbox_provider, api_key="wrong-key")
    assert not ProviderAccount.objects.exists()


@pytest.mark.parametrize("person", ["bob", "victor"])
def test_only_managers_change_keys(request, sandbox_account, sandbox_server, person):
    member = acting(request.getfixturevalue(person))
    with pytest.raises(PermissionDenied):
        accounts.attach_key(
            acting=member, provider=sandbox_account.provider, api_key=sandbox_server.api_key
        )
    with pytest.raises(PermissionDenied):
        accounts.remove_account(acting=member, account=sandbox_account, in_use=nothing_uses)
    assert ProviderAccount.objects.get().has_key


def test_another_teams_account_is_refused(charlie, sandbox_account):
    with pytest.raises(PermissionDenied):
        accounts.remove_account(
            acting=acting(charlie), account=sandbox_account, in_use=nothing_uses
        )
    with pytest.raises(PermissionDenied):
        accounts.refresh_balance(acting=acting(charlie), account=sandbox_account)
    assert ProviderAccount.objects.get().has_key


def test_removing_is_refused_while_the_account_is_in_use(alice, sandbox_account):
    asked = []

    def in_use(account):
        asked.append(account)
        return "Still in use."

    outcome = accounts.remove_account(acting=acting(alice), account=sandbox_account, in_use=in_use)
    assert (outcome.ok, outcome.message) == (False, "Still in use.")
    assert asked == [sandbox_account]
    assert ProviderAccount.objects.get().has_key
    assert not AuditEvent.objects.filter(action="key_removed").exists()


def test_removing_an_unused_account_deletes_it(alice, sandbox_account):
    outcome = accounts.remove_account(
        acting=acting(alice), account=sandbox_account, in_use=nothing_uses, ip="10.0.0.2"
    )
    assert outcome.ok
    assert not ProviderAccount.objects.exists()
    assert AuditEvent.objects.get(action="key_removed").ip == "10.0.0.2"


def test_a_member_refreshes_the_balance(bob, sandbox_account, sandbox_server):
    sandbox_server.sandbox.set_balance(sandbox_server.api_key, "55.50")
    outcome = accounts.refresh_balance(acting=acting(bob), account=sandbox_account)
    assert (outcome.ok, outcome.message) == (True, "Balance at Sandbox (test): $55.50.")
    sandbox_account.refresh_from_db()
    assert sandbox_account.balance == Decimal("55.50")


def test_a_viewer_does_not_refresh_the_balance(victor, sandbox_account):
    with pytest.raises(PermissionDenied):
        accounts.refresh_balance(acting=acting(victor), account=sandbox_account)


def test_a_failed_refresh_changes_nothing(alice, sandbox_account, sandbox_server):
    sandbox_server.sandbox.set_fault("http_500")
    outcome = accounts.refresh_balance(acting=acting(alice), account=sandbox_account)
    assert not outcome.ok
    assert outcome.message == (
        "Sandbox (test) is not answering. Nothing changed; try again in a moment."
    )
    sandbox_account.refresh_from_db()
    assert sandbox_account.balance == Decimal("1000.00")
