"""The catalog sync talks to a provider the way every other caller does, through
`catalog.upstream`: the same request budget as users and the poller (at the lowest priority)
and the same audit log for failed calls."""

import pytest
from asgiref.sync import async_to_sync

from catalog import ratelimit
from catalog.models import SyncRun
from catalog.sync import fetch
from catalog.sync.run import sync_provider
from catalog.upstream import async_provider_client, provider_client
from dashboard.models import AuditEvent
from tests.fixtures.activations import make_account
from tests.fixtures.catalog import seed_pairs

PRICES = SyncRun.Kind.PRICES
Priority = ratelimit.Priority


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    monkeypatch.setattr(fetch, "RETRY_DELAY", 0.001)


def upstream_calls():
    return AuditEvent.objects.filter(kind=AuditEvent.Kind.CALL)


def test_a_sync_call_the_provider_refuses_is_in_the_audit_log_of_the_team_whose_key_asked(
    served_provider, alice_team
):
    account = make_account(alice_team, served_provider, "a-key-the-provider-rejects")
    seed_pairs(served_provider, {0: ["any"]})

    run = sync_provider(served_provider, PRICES)

    assert run.errors[0]["error"].startswith("BadKey")
    event = upstream_calls().get()
    assert (event.action, event.outcome, event.team) == (
        "getServicesAndCost",
        "BAD_KEY",
        alice_team,
    )
    assert (event.object_type, event.object_id) == ("catalog.provideraccount", str(account.pk))
    assert (event.params["country"], event.params["operator"]) == ("0", "any")


def test_a_failed_listing_with_the_sandboxs_own_key_is_logged_against_the_provider(
    catalog_sandbox, sandbox_server
):
    sandbox_server.sandbox.set_fault("garbage")

    run = sync_provider(catalog_sandbox)

    assert run.calls == 1
    event = upstream_calls().get()
    assert event.action == "getCountryAndOperators"
    assert event.team is None
    assert (event.object_type, event.object_id) == ("catalog.provider", str(catalog_sandbox.pk))


def test_listings_that_succeed_are_counted_not_logged(catalog_sandbox):
    seed_pairs(catalog_sandbox, {0: ["any", "mts"]})
    run = sync_provider(catalog_sandbox, PRICES)
    assert (run.calls, run.error_count) == (2, 0)
    assert not upstream_calls().exists()


def test_the_sync_shares_the_providers_request_budget_with_users_and_the_poller(
    served_provider, sandbox_server, alice_team, monkeypatch
):
    taken = []
    take = ratelimit._take

    def recording_take(provider_id, rate, priority):
        taken.append((provider_id, rate, priority))
        return take(provider_id, rate, priority)

    monkeypatch.setattr(ratelimit, "_take", recording_take)
    account = make_account(alice_team, served_provider, sandbox_server.api_key)
    seed_pairs(served_provider, {0: ["any"]})

    with provider_client(account) as client:
        client.get_balance()

    async def poll() -> None:
        async with async_provider_client(account) as client:
            await client.get_balance()

    async_to_sync(poll)()
    sync_provider(served_provider, PRICES)

    bucket = (served_provider.pk, served_provider.max_requests_per_second)
    assert taken == [(*bucket, Priority.USER), (*bucket, Priority.POLL), (*bucket, Priority.SYNC)]
