"""The month's spending is one figure: the buy rule, the budgets page, the home page and the
reports show the same amount for the same team, purchases in flight included."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from activations.budgets import reservation_ttl
from activations.buying import buy_number
from activations.models import Activation, Reservation
from dashboard.display import money
from tests.activations.acting import acting

SPENT = Decimal("18.00")  # 10.00 + 5.00 bought, 3.00 in flight; the rest does not count


@pytest.fixture
def spending(alice, bob, alice_team, make_activation):
    make_activation(user=alice, price=Decimal("10.00"), state=Activation.State.COMPLETED)
    make_activation(user=bob, price=Decimal("5.00"))
    make_activation(user=bob, price=Decimal("7.00"), state=Activation.State.CANCELLED)
    make_activation(
        user=alice,
        price=Decimal("40.00"),
        created_at=timezone.now() - timedelta(days=40),  # last month
    )
    Reservation.objects.create(
        team=alice_team, user=bob, amount=Decimal("3.00"), request_token="in-flight-1234"
    )
    stale = Reservation.objects.create(
        team=alice_team, user=bob, amount=Decimal("50.00"), request_token="crashed-12345"
    )
    Reservation.objects.filter(pk=stale.pk).update(
        created_at=timezone.now() - reservation_ttl() - timedelta(seconds=1)
    )


def test_the_buy_rule_counts_what_the_pages_show(
    alice, alice_team, spending, sandbox_account, sandbox_offer
):
    alice_team.monthly_budget = SPENT + sandbox_offer.price - Decimal("0.01")
    alice_team.save()
    outcome = buy_number(
        acting=acting(alice_team, alice),
        offer=sandbox_offer,
        request_token="token-over-budget",
        ip=None,
    )
    assert not outcome.ok
    spent, budget = money(SPENT, "USD"), money(alice_team.monthly_budget, "USD")
    assert f"({spent} of {budget} used;" in outcome.message


def test_the_budgets_page_shows_the_same_figure(client, alice, alice_team, spending):
    client.force_login(alice)
    response = client.get(f"/t/{alice_team.slug}/budgets/")
    assert response.context["budget"].team.spent == SPENT
    assert f"Used this month: ${SPENT}" in response.text


def test_the_home_page_shows_the_same_figure(client, alice, alice_team, spending):
    alice_team.monthly_budget = Decimal("100.00")
    alice_team.save()
    client.force_login(alice)
    response = client.get(f"/t/{alice_team.slug}/")
    assert f"<strong>${SPENT}</strong> of $100.00 used" in response.text


def test_the_reports_show_the_same_figure(client, alice, alice_team, spending):
    client.force_login(alice)
    response = client.get(f"/t/{alice_team.slug}/reports/")
    footer = response.context["budget"].footer
    assert footer[0] == "Whole team"
    assert footer[2] == f"${SPENT}"
