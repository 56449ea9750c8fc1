"""A purchase through a personal token keeps the token's limits: its services, its highest
price and its numbers per day (counted under the team's lock, purchases in flight included),
and is marked with the token, as is its audit entry."""

from decimal import Decimal

import pytest

from activations.buying import buy_number
from activations.models import Activation, Reservation
from dashboard.tokens import create_token
from tests.activations.acting import acting
from tests.fixtures.activations import run_in_threads


def _token(team, user, **limits):
    return create_token(acting=acting(team, user), name="bot", **limits).token


@pytest.mark.django_db
def test_a_purchase_through_a_token_is_marked_with_it(
    bob, alice_team, sandbox_account, sandbox_offer
):
    token = _token(alice_team, bob)
    purchase = buy_number(
        acting=acting(alice_team, bob),
        offer=sandbox_offer,
        request_token="token-buy-0001",
        api_token=token,
    )
    assert purchase.ok, purchase.message
    assert purchase.activation.api_token == token
    assert Activation.objects.filter(api_token__isnull=True).count() == 0
    assert not Reservation.objects.exists()


@pytest.mark.django_db
def test_a_token_refuses_services_it_may_not_buy(bob, alice_team, sandbox_account, sandbox_offer):
    token = _token(alice_team, bob, services=["wa"])
    purchase = buy_number(
        acting=acting(alice_team, bob),
        offer=sandbox_offer,
        request_token="token-buy-0002",
        api_token=token,
    )
    assert not purchase.ok and purchase.answer == "BAD_SERVICE"
    assert "may not buy" in purchase.message
    assert not Activation.objects.exists()


@pytest.mark.django_db
def test_a_token_refuses_offers_over_its_highest_price(
    bob, alice_team, sandbox_account, sandbox_offer
):
    token = _token(alice_team, bob, max_price=sandbox_offer.price - Decimal("0.01"))
    purchase = buy_number(
        acting=acting(alice_team, bob),
        offer=sandbox_offer,
        request_token="token-buy-0003",
        api_token=token,
    )
    assert not purchase.ok and purchase.answer == "NO_NUMBERS"
    assert not Activation.objects.exists()


@pytest.mark.django_db
def test_a_budget_refusal_answers_no_balance(bob, alice_team, sandbox_account, sandbox_offer):
    alice_team.monthly_budget = Decimal("0.00")
    alice_team.save()
    purchase = buy_number(
        acting=acting(alice_team, bob), offer=sandbox_offer, request_token="token-buy-0004"
    )
    assert not purchase.ok and purchase.answer == "NO_BALANCE"


@pytest.mark.django_db(transaction=True)
def test_parallel_purchases_through_a_token_keep_its_numbers_per_day(
    bob, alice_team, sandbox_account, sandbox_offer, sandbox_server
):
    token = _token(alice_team, bob, daily_limit=3)

    def purchase(request_token):
        return buy_number(
            acting=acting(alice_team, bob),
            offer=sandbox_offer,
            request_token=request_token,
            api_token=token,
        )

    results = run_in_threads(purchase, [(f"daily-token-{n:03d}",) for n in range(10)])
    assert not [r for r in results if isinstance(r, Exception)]
    refused = [r for r in results if not r.ok]
    assert sum(1 for r in results if r.ok) == 3
    assert all(r.answer == "NO_BALANCE" and "for today" in r.message for r in refused)
    assert Activation.objects.filter(api_token=token).count() == 3
    assert len(sandbox_server.sandbox.activations) == 3
    assert not Reservation.objects.exists()
    # Another token of the same member has its own count.
    other = _token(alice_team, bob, daily_limit=1)
    assert buy_number(
        acting=acting(alice_team, bob),
        offer=sandbox_offer,
        request_token="daily-token-other",
        api_token=other,
    ).ok
