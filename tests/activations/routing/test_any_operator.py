"""Operator "any": routing picks the best operator the providers list, and the activation
records the operator actually bought."""

import pytest

from activations.models import Activation, RoutingPolicy
from activations.routing import Want, buy_routed, candidates
from tests.activations.acting import acting

pytestmark = pytest.mark.django_db


def test_any_buys_the_cheapest_operator_and_records_it(alice, alice_team, market_a, market_b):
    market_a.sell("30.00", operator="any")
    market_a.sell("12.00", operator="mts")
    market_b.sell("15.00", operator="tele2")

    purchase = buy_routed(
        acting=acting(alice_team, alice), want=Want("tg", 0), request_token="any-token-0001"
    )

    assert purchase.ok, purchase.message
    activation = Activation.objects.get()
    assert (activation.provider, activation.operator.code) == (market_a.provider, "mts")
    (remote,) = market_a.running.sandbox.activations.values()
    assert remote.operator == "mts"  # asked for mts, not "any"
    assert purchase.message == f"Bought {activation.phone} at Sandbox A (mts) for $12.00."


def test_any_falls_back_to_the_next_operator(alice, alice_team, market_a, market_b):
    market_a.sold_out(market_a.sell("12.00", operator="mts"))
    market_b.sell("15.00", operator="tele2")
    market_a.sell("30.00", operator="any")

    purchase = buy_routed(
        acting=acting(alice_team, alice), want=Want("tg", 0), request_token="any-token-0002"
    )

    activation = Activation.objects.get()
    assert (activation.provider, activation.operator.code) == (market_b.provider, "tele2")
    assert purchase.message == (
        f"Bought {activation.phone} at Sandbox B (tele2) for $15.00: "
        "Sandbox A (mts) had no numbers."
    )
    assert activation.route == {
        "policy": RoutingPolicy.CHEAPEST,
        "tried": [{"provider": "Sandbox A", "operator": "mts", "answer": "NO_NUMBERS"}],
    }


def test_a_provider_that_does_not_answer_is_not_asked_again_for_another_operator(
    alice, alice_team, market_a, market_b, settings
):
    settings.PROVIDER_WEB_DEADLINE_SECONDS = 1.0
    market_a.sell("10.00", operator="mts")
    market_a.sell("11.00", operator="tele2")
    market_b.sell("15.00", operator="beeline")
    market_a.running.sandbox.set_fault("http_500", api_key=market_a.running.api_key)
    assert len(candidates(alice_team, Want("tg", 0))) == 3

    purchase = buy_routed(
        acting=acting(alice_team, alice), want=Want("tg", 0), request_token="any-token-0003"
    )

    assert purchase.ok
    assert market_a.asked_to_sell == 1
    assert Activation.objects.get().operator.code == "beeline"
