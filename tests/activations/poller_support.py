"""Fixtures for the poller tests: a provider on the sandbox served over HTTP, Alice's account on
it, and `buy` to buy a number there and record it as an activation (no budget rules: the
poller is under test, not the purchase)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from activations.models import Activation
from activations.poller import Poller
from catalog.models import Provider
from provider.client import parse_number
from tests.fixtures.activations import make_account, make_offer

# Short enough that a pass never waits long on a fault, long enough for loopback.
TEST_REQUEST_TIMEOUT = 0.5


@pytest.fixture
def poll_provider(db, sandbox_server) -> Provider:
    sandbox_server.sandbox.code_delay = 3600  # codes arrive when a test says so
    sandbox_server.sandbox.set_balance(sandbox_server.api_key, 10**6)
    return Provider.objects.create(
        name="Sandbox (poller test)", handler_url=sandbox_server.url, max_requests_per_second=1000
    )


@pytest.fixture
def poll_offer(poll_provider, sandbox_server):
    price = sandbox_server.sandbox.offer("tg", 0, "any").price
    return make_offer(poll_provider, price=str(price), quantity=100)


@pytest.fixture
def poll_account(alice, alice_team, poll_provider, sandbox_server):
    return make_account(alice_team, poll_provider, api_key=sandbox_server.api_key, balance="1000")


@pytest.fixture
def buy(alice, alice_team, poll_account, poll_offer, sandbox_server):
    """buy(age=timedelta, lifetime=timedelta, **fields) -> Activation bought in the sandbox
    (by default half a minute ago: the poller leaves a brand-new one alone for an interval)."""

    def buy(age: timedelta = timedelta(seconds=30), lifetime=timedelta(minutes=20), **fields):
        # Straight into the sandbox (no HTTP): the purchase is not under test here.
        answer = sandbox_server.sandbox.handle(
            {
                "api_key": sandbox_server.api_key,
                "action": "getNumber",
                "service": "tg",
                "country": "0",
                "operator": "any",
                "lang": "en",
            }
        )
        number = parse_number(answer.body)
        created = timezone.now() - age
        values = {
            "team": alice_team,
            "user": alice,
            "account": poll_account,
            "provider": poll_account.provider,
            "service": poll_offer.service,
            "country": poll_offer.country,
            "operator": poll_offer.operator,
            "phone": number.phone,
            "provider_activation_id": number.activation_id,
            "price": poll_offer.price,
            "created_at": created,
            "updated_at": created,
            "next_poll_at": created,
            "expires_at": created + lifetime,
        }
        values.update(fields)
        return Activation.objects.create(**values)

    return buy


def poller(**options) -> Poller:
    options.setdefault("interval", 0.05)
    options.setdefault("request_timeout", TEST_REQUEST_TIMEOUT)
    return Poller(**options)


def one_pass(**options):
    """One pass of a fresh poller; returns (poller, summary)."""
    worker = poller(**options)
    return worker, worker.run_once()
