"""Fixtures of the routing tests: two sandbox providers on loopback, "Sandbox A" and
"Sandbox B", each keyed for Alice's team, and `sell`, which lists an offer in the catalog at
the price and stock the sandbox itself sells it at."""

from dataclasses import dataclass

import pytest

from catalog.models import Offer, Provider, ProviderAccount
from tests.fixtures.activations import make_account, make_offer
from tests.fixtures.sandbox import RunningSandbox


@dataclass
class Market:
    """One sandbox provider: its row, the team's account there and the running sandbox."""

    provider: Provider
    account: ProviderAccount
    running: RunningSandbox

    def sell(self, price: str, *, operator: str = "any", quantity: int = 100, service="tg"):
        """List (service, Russia, operator) at `price` in the catalog and at the sandbox."""
        self.running.sandbox.set_offer(service, 0, operator, price=price, quantity=quantity)
        return make_offer(
            self.provider, service=service, operator=operator, price=price, quantity=quantity
        )

    def sold_out(self, offer: Offer) -> None:
        """The sandbox has sold out since the catalog's last sync (which still lists stock)."""
        self.running.sandbox.set_offer(
            offer.service.code, offer.country.external_id, offer.operator.code, quantity=0
        )

    @property
    def numbers_sold(self) -> int:
        return len(self.running.sandbox.activations)

    @property
    def asked_to_sell(self) -> int:
        return self.running.sandbox.request_counts["getNumber"]


def _market(name: str, team, running: RunningSandbox) -> Market:
    running.sandbox.code_delay = 3600  # codes arrive only when a test says so
    provider = Provider.objects.create(
        name=name, handler_url=running.url, max_requests_per_second=1000
    )
    account = make_account(team, provider, api_key=running.api_key, balance="1000.00")
    return Market(provider, account, running)


@pytest.fixture
def market_a(alice, alice_team, sandbox_server) -> Market:
    return _market("Sandbox A", alice_team, sandbox_server)


@pytest.fixture
def market_b(alice, alice_team, sandbox_server_b) -> Market:
    return _market("Sandbox B", alice_team, sandbox_server_b)
