"""Parallel purchases in threads, each with its own database connection, against the sandbox.

On PostgreSQL the team's row lock serializes the budget checks; on SQLite the no-op update of
the team row does (the in-memory test database answers "locked" instead of waiting, and
`run_in_threads` retries those).
"""

from decimal import Decimal

import pytest

from activations.buying import buy_number
from activations.models import Activation, Reservation
from dashboard.models import Membership, Team
from tests.activations.acting import acting
from tests.fixtures.activations import run_in_threads

pytestmark = pytest.mark.django_db(transaction=True)


def test_twenty_parallel_purchases_against_a_budget_for_five_buy_five(
    alice, bob, alice_team, sandbox_account, sandbox_offer, sandbox_server
):
    Team.objects.filter(pk=alice_team.pk).update(monthly_budget=sandbox_offer.price * 5)
    team = Team.objects.get(pk=alice_team.pk)

    def purchase(user, token):
        return buy_number(acting=acting(team, user), offer=sandbox_offer, request_token=token)

    results = run_in_threads(
        purchase, [(alice if n % 2 else bob, f"parallel-token-{n:03d}") for n in range(20)]
    )
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors
    bought = [r for r in results if r.ok]
    refused = [r for r in results if not r.ok]
    assert len(bought) == 5
    assert all("monthly budget" in r.message for r in refused)
    assert Activation.objects.count() == 5
    assert len(sandbox_server.sandbox.activations) == 5  # the provider sold five, not more
    assert not Reservation.objects.exists()
    spent = sum(a.price for a in Activation.objects.all())
    assert spent <= team.monthly_budget


def test_parallel_purchases_respect_a_members_limit(
    bob, alice_team, sandbox_account, sandbox_offer, sandbox_server
):
    Membership.objects.filter(user=bob).update(monthly_limit=sandbox_offer.price * 2)

    def purchase(token):
        return buy_number(acting=acting(alice_team, bob), offer=sandbox_offer, request_token=token)

    results = run_in_threads(purchase, [(f"member-token-{n:03d}",) for n in range(8)])
    assert sum(1 for r in results if not isinstance(r, Exception) and r.ok) == 2
    assert Activation.objects.count() == 2
    assert len(sandbox_server.sandbox.activations) == 2


def test_parallel_submissions_of_one_form_buy_one_number(
    alice, alice_team, sandbox_account, sandbox_offer, sandbox_server
):
    def purchase():
        return buy_number(
            acting=acting(alice_team, alice), offer=sandbox_offer, request_token="same-token-123"
        )

    results = run_in_threads(purchase, [()] * 6)
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors
    assert Activation.objects.count() == 1
    assert len(sandbox_server.sandbox.activations) == 1
    # Each click either bought it, found it bought, or found the purchase in progress.
    assert sum(1 for r in results if r.ok and not r.duplicate) == 1
    assert sandbox_server.sandbox.balance(sandbox_server.api_key) == (
        Decimal(1000) - sandbox_offer.price
    )
