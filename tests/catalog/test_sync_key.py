"""Whose key the catalog sync lists prices with (Provider.sync_account, else the sandbox's
own key for the sandbox, else the account attached first)."""

import pytest
from django.core.exceptions import ValidationError

from catalog.models import Provider, ProviderAccount
from catalog.sync.run import sync_provider
from dashboard.encryption import encrypt_key
from tests.fixtures.catalog import seed_pairs

PRICES = "prices"


def account(team, provider, key: str) -> ProviderAccount:
    return ProviderAccount.objects.create(
        team=team, provider=provider, key_ciphertext=encrypt_key(key), key_last4=key[-4:]
    )


@pytest.fixture
def charlies_team(charlie):
    return charlie.memberships.get().team


def test_without_a_choice_the_account_attached_first_lists(
    served_provider, sandbox_server, alice_team, charlies_team
):
    account(alice_team, served_provider, "a-key-the-provider-rejects")
    account(charlies_team, served_provider, sandbox_server.api_key)
    seed_pairs(served_provider, {0: ["any"]})
    run = sync_provider(served_provider, PRICES)
    assert run.errors[0]["error"].startswith("BadKey")


def test_the_account_the_operator_chose_lists(
    served_provider, sandbox_server, alice_team, charlies_team
):
    account(alice_team, served_provider, "a-key-the-provider-rejects")
    served_provider.sync_account = account(charlies_team, served_provider, sandbox_server.api_key)
    served_provider.save()
    seed_pairs(served_provider, {0: ["any"]})

    run = sync_provider(served_provider, PRICES)

    assert run.error_count == 0
    assert run.offers == 224


def test_the_sandbox_lists_with_its_own_key_not_a_teams(
    catalog_sandbox, alice_team, sandbox_server
):
    account(alice_team, catalog_sandbox, "a-key-the-sandbox-rejects")
    seed_pairs(catalog_sandbox, {0: ["any"]})
    run = sync_provider(catalog_sandbox, PRICES)
    assert run.error_count == 0


def test_the_chosen_account_must_be_at_this_provider(provider, alice_team):
    other = Provider.objects.create(name="Other", handler_url="http://127.0.0.1:9/other")
    provider.sync_account = account(alice_team, other, "some-key-1234")
    with pytest.raises(ValidationError) as raised:
        provider.full_clean()
    assert "sync_account" in raised.value.message_dict


def test_removing_the_chosen_account_clears_the_choice(provider, alice_team):
    provider.sync_account = account(alice_team, provider, "some-key-1234")
    provider.save()
    provider.sync_account.delete()
    provider.refresh_from_db()
    assert provider.sync_account is None
