"""Parallel routed purchases in threads, each with its own database connection, against two
sandbox providers: the budgets hold exactly as for one offer (tests/activations/
test_parallel.py), whichever provider each purchase ends at."""

from decimal import Decimal

import pytest

from activations.models import Activation, Reservation
from activations.routing import Want, buy_routed
from dashboard.models import Team
from tests.activations.acting import acting
from tests.fixtures.activations import run_in_threads

pytestmark = pytest.mark.django_db(transaction=True)


def test_twenty_parallel_routed_purchases_against_a_budget_for_five_buy_five(
    alice, bob, alice_team, market_a, market_b
):
    """Sandbox A, the cheapest, has sold out since the catalog's sync: every purchase
    reserves its price, is refused there, and buys at Sandbox B within the budget."""
    market_a.sold_out(market_a.sell("10.00"))
    market_b.sell("12.00")
    Team.objects.filter(pk=alice_team.pk).update(monthly_budget=Decimal("60.00"))
    team = Team.objects.get(pk=alice_team.pk)

    def purchase(user, token):
        return buy_routed(acting=acting(team, user), want=Want("tg", 0), request_token=token)

    results = run_in_threads(
        purchase, [(alice if n % 2 else bob, f"routed-parallel-{n:03d}") for n in range(20)]
    )

    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors
    bought = [r for r in results if r.ok]
    assert len(bought) == 5
    assert all("monthly budget" in r.message for r in results if not r.ok)
    assert Activation.objects.count() == 5
    assert set(Activation.objects.values_list("provider", flat=True)) == {market_b.provider.pk}
    assert (market_a.numbers_sold, market_b.numbers_sold) == (0, 5)
    assert not Reservation.objects.exists()
    assert sum(a.price for a in Activation.objects.all()) == team.monthly_budget


def test_parallel_submissions_of_one_routed_form_buy_one_number(
    alice, alice_team, market_a, market_b
):
    market_a.sold_out(market_a.sell("10.00"))
    market_b.sell("12.00")

    def purchase():
        return buy_routed(
            acting=acting(alice_team, alice), want=Want("tg", 0), request_token="same-routed-1"
        )

    results = run_in_threads(purchase, [()] * 6)

    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors
    assert Activation.objects.count() == 1
    assert (market_a.numbers_sold, market_b.numbers_sold) == (0, 1)
    assert sum(1 for r in results if r.ok and not r.duplicate) == 1
