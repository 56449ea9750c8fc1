"""A program buying through the gateway from a provider in trouble gets the protocol's word for
it, or a number from the team's next provider, and nothing is lost: no activation half-made, no
reservation left holding the budget, a number that cannot be recorded cancelled at the
provider, every refusal in the audit log marked with the token."""

from decimal import Decimal

import pytest

from activations.models import Activation, Reservation
from catalog.models import Provider
from dashboard.audit import Action
from dashboard.models import ApiToken, AuditEvent
from provider.sandbox.activation import SandboxState
from tests.activations.gateway.helpers import said
from tests.fixtures.activations import make_account, make_offer

pytestmark = pytest.mark.django_db


def assert_nothing_kept(sandbox_server):
    assert not Activation.objects.exists()
    assert not Reservation.objects.exists()
    assert not sandbox_server.sandbox.activations  # nothing was sold


def refusals_through(token_name: str) -> list[str]:
    token = ApiToken.objects.get(name=token_name)
    return list(
        AuditEvent.objects.filter(action=Action.BOUGHT, api_token=token)
        .exclude(outcome="ok")
        .values_list("outcome", flat=True)
    )


@pytest.mark.parametrize("fault", ["error_sql", "garbage", "timeout"])
def test_a_provider_in_trouble_is_error_sql_and_nothing_is_kept(
    client, settings, alice_token, sandbox_server, fault
):
    settings.PROVIDER_WEB_DEADLINE_SECONDS = 1.0
    sandbox_server.sandbox.set_fault(fault, api_key=sandbox_server.api_key, seconds=1.5)
    assert said(client, alice_token, action="getNumber", service="tg") == "ERROR_SQL"
    assert not Activation.objects.exists()
    assert not Reservation.objects.exists()
    assert refusals_through("alice bot")  # the manager sees why, marked with the token
    sandbox_server.sandbox.clear_faults()
    assert said(client, alice_token, action="getNumber", service="tg").startswith("ACCESS_NUMBER:")


def test_the_providers_no_balance_is_passed_on(client, alice_token, sandbox_server):
    sandbox_server.sandbox.set_balance(sandbox_server.api_key, Decimal("0"))
    assert said(client, alice_token, action="getNumber", service="tg") == "NO_BALANCE"
    assert_nothing_kept(sandbox_server)


def test_the_providers_no_numbers_is_passed_on(client, alice_token, sandbox_server):
    # The cached catalog still lists stock; the provider has sold out since.
    sandbox_server.sandbox.set_offer("tg", 0, "any", quantity=0)
    assert said(client, alice_token, action="getNumber", service="tg") == "NO_NUMBERS"
    assert_nothing_kept(sandbox_server)


def test_a_number_that_cannot_be_recorded_is_cancelled_at_the_provider(
    client, alice_token, sandbox_server
):
    sandbox_server.sandbox.set_fault("long_phone", api_key=sandbox_server.api_key)
    assert said(client, alice_token, action="getNumber", service="tg") == "ERROR_SQL"
    assert not Activation.objects.exists()
    assert not Reservation.objects.exists()
    (remote,) = sandbox_server.sandbox.activations.values()
    assert remote.state == SandboxState.CANCELLED
    assert refusals_through("alice bot") == ["not_recorded_cancelled"]


@pytest.fixture
def second_provider(alice_team, sandbox_offer, sandbox_server_b):
    """Sandbox B, keyed for Alice's team, selling Telegram in Russia dearer than the first."""
    price = sandbox_offer.price + 1
    sandbox_server_b.sandbox.set_offer("tg", 0, "any", price=price)
    provider = Provider.objects.create(
        name="Sandbox B", handler_url=sandbox_server_b.url, max_requests_per_second=1000
    )
    make_account(alice_team, provider, api_key=sandbox_server_b.api_key, balance="1000.00")
    make_offer(provider, price=str(price), quantity=100)
    return provider


@pytest.mark.parametrize("trouble", ["NO_NUMBERS", "http_500"])
def test_a_provider_in_trouble_is_passed_over_for_the_next(
    client, alice_token, sandbox_server, sandbox_server_b, second_provider, trouble
):
    if trouble == "NO_NUMBERS":
        sandbox_server.sandbox.set_offer("tg", 0, "any", quantity=0)
    else:
        sandbox_server.sandbox.set_fault(trouble, api_key=sandbox_server.api_key)
    answer = said(client, alice_token, action="getNumber", service="tg")
    assert answer.startswith("ACCESS_NUMBER:")
    activation = Activation.objects.get()
    assert answer == f"ACCESS_NUMBER:{activation.pk}:{activation.phone}"
    assert activation.provider == second_provider
    assert activation.route["tried"][0]["provider"] == "Sandbox (test)"
    assert not sandbox_server.sandbox.activations
    assert len(sandbox_server_b.sandbox.activations) == 1
    assert not Reservation.objects.exists()
    assert len(refusals_through("alice bot")) == 1


def test_when_every_provider_refuses_the_last_ones_word_is_answered(
    client, alice_token, sandbox_server, sandbox_server_b, second_provider
):
    sandbox_server.sandbox.set_offer("tg", 0, "any", quantity=0)
    sandbox_server_b.sandbox.set_balance(sandbox_server_b.api_key, Decimal("0"))
    assert said(client, alice_token, action="getNumber", service="tg") == "NO_BALANCE"
    assert not Activation.objects.exists()
    assert not Reservation.objects.exists()
    assert not sandbox_server_b.sandbox.activations
