"""The project's own protocol client (sync and async, GET and POST) against the gateway over
real HTTP (the live server), for every action and every error of the protocol: what a
program written for any provider of the family sees."""

import asyncio
from decimal import Decimal

import pytest

from activations.models import Activation
from dashboard.models import Team
from provider.client import (
    AsyncProviderClient,
    BadKey,
    BadService,
    BadStatus,
    NoActivation,
    NoBalance,
    NoNumbers,
    ProviderClient,
    SetStatusResult,
    StatusState,
)
from tests.activations.gateway.conftest import GATEWAY_PATH
from tests.activations.poller_support import poller

pytestmark = pytest.mark.django_db(transaction=True)

State = Activation.State


def poll_all():
    """One pass of the poller over every open activation (it stores what the sandbox says)."""
    poller().run_once(all_open=True)


@pytest.fixture
def gateway(live_server, alice_token):
    """gateway(method, secret=alice's) -> a ProviderClient on the gateway."""

    def make(method: str, secret: str = alice_token) -> ProviderClient:
        return ProviderClient(live_server.url + GATEWAY_PATH, secret, method=method, timeout=10)

    return make


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_every_action_through_the_sync_client(
    gateway, method, sandbox_server, sandbox_offer, alice_team
):
    sandbox = sandbox_server.sandbox
    with gateway(method) as client:
        # Neither a budget nor a limit: the team's provider balances (1000 at the sandbox).
        assert client.get_balance() == Decimal("1000.00")

        countries = client.get_countries()
        assert [(c.id, list(c.operators)) for c in countries] == [(0, ["any"])]

        services = {row.id: row for row in client.get_services(0, "any")}
        assert services["tg"].price == sandbox_offer.price
        assert services["tg"].quantity == 100

        number = client.get_number("tg", 0)
        activation = Activation.objects.get()
        # SMS Desk's own id, never the provider's.
        assert number.activation_id == str(activation.pk)
        assert number.activation_id != activation.provider_activation_id
        assert number.phone == activation.phone
        assert activation.api_token is not None
        assert len(sandbox.activations) == 1

        assert client.get_status(number.activation_id).state == StatusState.WAIT_CODE

        sandbox.deliver_code(activation.provider_activation_id, "123456")
        poll_all()
        status = client.get_status(number.activation_id)
        assert (status.state, status.code) == (StatusState.OK, "123456")

        assert client.set_status(number.activation_id, 3) == SetStatusResult.RETRY_GET
        status = client.get_status(number.activation_id)
        assert (status.state, status.previous_code) == (StatusState.WAIT_RETRY, "123456")

        assert client.set_status(number.activation_id, 6) == SetStatusResult.ACTIVATION
        activation.refresh_from_db()
        assert activation.state == State.COMPLETED
        status = client.get_status(number.activation_id)
        assert (status.state, status.code) == (StatusState.OK, "123456")

        # The cancel path.
        second = client.get_number("tg", 0, "any")
        assert client.set_status(second.activation_id, 8) == SetStatusResult.CANCEL
        assert client.get_status(second.activation_id).state == StatusState.CANCEL
        assert Activation.objects.get(pk=second.activation_id).state == State.CANCELLED

        # The refusals, as the family words them.
        with pytest.raises(BadStatus):
            client.set_status(second.activation_id, 6)  # cancelled: nothing to complete
        with pytest.raises(BadStatus):
            client.set_status(number.activation_id, 5)  # no such status
        with pytest.raises(NoActivation):
            client.get_status(10**9)
        with pytest.raises(NoActivation):
            client.set_status(10**9, 8)
        with pytest.raises(NoNumbers):
            client.get_number("tg", 0, "nosuchoperator")
        with pytest.raises(NoNumbers):
            client.get_number("tg", 7)
        with pytest.raises(BadService):
            client.get_number("zz", 0)

        Team.objects.filter(pk=alice_team.pk).update(monthly_budget=sandbox_offer.price)
        # One number costs money this month (the cancelled one does not): nothing left.
        assert client.get_balance() == Decimal("0.00")
        with pytest.raises(NoBalance):
            client.get_number("tg", 0)
    assert len(sandbox.activations) == 2  # the refusals bought nothing

    with gateway(method, secret="smsd_" + "x" * 40) as client, pytest.raises(BadKey):
        client.get_balance()


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_every_action_through_the_async_client(
    live_server, alice_token, method, sandbox_server, sandbox_offer
):
    url = live_server.url + GATEWAY_PATH
    sandbox = sandbox_server.sandbox

    async def session():
        async with AsyncProviderClient(url, alice_token, method=method, timeout=10) as client:
            balance = await client.get_balance()
            countries = await client.get_countries()
            services = await client.get_services(0)
            number = await client.get_number("tg", 0, "any")
            waiting = await client.get_status(number.activation_id)
            cancelled = await client.set_status(number.activation_id, 8)
            after = await client.get_status(number.activation_id)
            errors = []
            for call in (
                client.get_status(10**9),
                client.set_status(number.activation_id, 9),
                client.get_number("zz", 0),
                client.get_number("tg", 0, "nosuchoperator"),
            ):
                try:
                    await call
                except Exception as error:  # each error's class is the point
                    errors.append(type(error))
        async with AsyncProviderClient(url, "smsd_" + "y" * 40, method=method) as client:
            try:
                await client.get_balance()
            except BadKey:
                errors.append(BadKey)
        return balance, countries, services, number, waiting, cancelled, after, errors

    balance, countries, services, number, waiting, cancelled, after, errors = asyncio.run(session())
    assert balance == Decimal("1000.00")
    assert [c.id for c in countries] == [0]
    assert [(s.id, s.price, s.quantity) for s in services] == [("tg", sandbox_offer.price, 100)]
    assert number.activation_id == str(Activation.objects.get().pk)
    assert waiting.state == StatusState.WAIT_CODE
    assert cancelled == SetStatusResult.CANCEL
    assert after.state == StatusState.CANCEL
    assert errors == [NoActivation, BadStatus, BadService, NoNumbers, BadKey]
    assert len(sandbox.activations) == 1


def test_max_price_is_sent_as_the_familys_maxprice_and_holds(
    gateway, sandbox_server, sandbox_offer
):
    below = sandbox_offer.price - Decimal("0.01")
    with gateway("POST") as client:
        with pytest.raises(NoNumbers):
            client.get_number("tg", 0, max_price=below)
        assert client.last_exchange.params["maxPrice"] == str(below)
        assert client.get_number("tg", 0, max_price=sandbox_offer.price).phone
    assert len(sandbox_server.sandbox.activations) == 1


def test_the_client_sends_no_maxprice_unless_given(sandbox_server):
    with sandbox_server.client() as client:
        client.get_balance()
        client.get_number("tg", 0)
        assert "maxPrice" not in client.last_exchange.params
