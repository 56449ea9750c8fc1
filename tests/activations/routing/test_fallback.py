"""A routed purchase against two sandbox providers: when the first candidate refuses or does
not answer, the next is asked, and one number is bought in the end."""

from decimal import Decimal

import pytest

from activations.models import Activation, PriceLimit, Reservation, RoutingPolicy, TeamRouting
from activations.routing import Want, buy_routed
from dashboard.audit import Action
from dashboard.models import AuditEvent, Team
from provider.sandbox.activation import SandboxState
from tests.activations.acting import acting
from tests.activations.routing.support import history

pytestmark = pytest.mark.django_db

TOKEN = "routed-token-0001"
TELEGRAM = Want("tg", 0)


def buy(team, user, want=TELEGRAM, token=TOKEN, **options):
    return buy_routed(
        acting=acting(team, user), want=want, request_token=token, ip="127.0.0.1", **options
    )


def refusals() -> list[str]:
    return list(
        AuditEvent.objects.filter(kind="action", action=Action.BOUGHT)
        .exclude(outcome="ok")
        .order_by("id")
        .values_list("outcome", flat=True)
    )


def test_no_numbers_at_the_cheapest_buys_at_the_next(alice, alice_team, market_a, market_b):
    cheap = market_a.sell("10.00")
    market_b.sell("12.00")
    market_a.sold_out(cheap)

    purchase = buy(alice_team, alice)

    assert purchase.ok, purchase.message
    activation = Activation.objects.get()
    assert activation.provider == market_b.provider
    assert activation.price == Decimal("12.00")
    assert purchase.message == (
        f"Bought {activation.phone} at Sandbox B (any) for $12.00: Sandbox A (any) had no numbers."
    )
    assert activation.route == {
        "policy": "cheapest",
        "tried": [{"provider": "Sandbox A", "operator": "any", "answer": "NO_NUMBERS"}],
    }
    assert (market_a.numbers_sold, market_b.numbers_sold) == (0, 1)
    assert not Reservation.objects.exists()
    # Each attempt is in the audit log: the refusal, then the purchase with its route.
    assert refusals() == ["NO_NUMBERS"]
    bought = AuditEvent.objects.get(kind="action", action=Action.BOUGHT, outcome="ok")
    assert bought.params["provider"] == "Sandbox B"
    assert bought.params["route"] == activation.route


def test_a_purchase_of_one_operator_names_only_the_providers(alice, alice_team, market_a, market_b):
    cheap = market_a.sell("10.00", operator="mts")
    market_b.sell("12.00", operator="mts")
    market_a.sold_out(cheap)
    purchase = buy(alice_team, alice, Want("tg", 0, "mts"))
    phone = Activation.objects.get().phone
    assert purchase.message == f"Bought {phone} at Sandbox B for $12.00: Sandbox A had no numbers."


@pytest.mark.parametrize(
    ("fault", "answer"),
    [
        ("timeout", "unavailable"),
        ("http_500", "unavailable"),
        ("retry_after", "rate_limited"),
        ("error_sql", "ERROR_SQL"),
    ],
)
def test_a_provider_in_trouble_is_passed_over(
    alice, alice_team, market_a, market_b, settings, fault, answer
):
    settings.PROVIDER_WEB_DEADLINE_SECONDS = 1.0
    market_a.sell("10.00")
    market_b.sell("12.00")
    market_a.running.sandbox.set_fault(fault, api_key=market_a.running.api_key, seconds=1.5)

    purchase = buy(alice_team, alice)

    assert purchase.ok, purchase.message
    activation = Activation.objects.get()
    assert activation.provider == market_b.provider
    assert activation.route["tried"] == [
        {"provider": "Sandbox A", "operator": "any", "answer": answer}
    ]
    assert market_a.asked_to_sell == 1
    assert (market_a.numbers_sold, market_b.numbers_sold) == (0, 1)
    assert refusals() == [answer]
    assert not Reservation.objects.exists()


def test_a_timeout_says_a_number_sold_unseen_is_refunded(
    alice, alice_team, market_a, market_b, settings
):
    settings.PROVIDER_WEB_DEADLINE_SECONDS = 1.0
    market_a.sell("10.00")
    market_b.sell("12.00")
    market_a.running.sandbox.set_fault("timeout", api_key=market_a.running.api_key, seconds=1.5)
    message = buy(alice_team, alice).message
    assert "Sandbox A (any) did not answer" in message
    assert "refunds it when the number expires" in message


def test_no_balance_at_the_cheapest_buys_at_the_next(alice, alice_team, market_a, market_b):
    market_a.sell("10.00")
    market_b.sell("12.00")
    market_a.running.sandbox.set_balance(market_a.running.api_key, 0)
    purchase = buy(alice_team, alice)
    assert purchase.ok
    assert "the team's balance at Sandbox A (any) is too low" in purchase.message
    assert (market_a.numbers_sold, market_b.numbers_sold) == (0, 1)


def test_a_number_sold_unrecordable_is_cancelled_then_the_next_is_asked(
    alice, alice_team, market_a, market_b
):
    market_a.sell("10.00")
    market_b.sell("12.00")
    market_a.running.sandbox.set_fault("long_phone", api_key=market_a.running.api_key)

    purchase = buy(alice_team, alice)

    assert purchase.ok, purchase.message
    (remote,) = market_a.running.sandbox.activations.values()
    assert remote.state == SandboxState.CANCELLED
    assert market_a.running.sandbox.balance(market_a.running.api_key) == 1000
    assert Activation.objects.get().provider == market_b.provider
    assert refusals() == ["not_recorded_cancelled"]


def test_a_sale_that_could_not_be_cancelled_ends_the_purchase(
    alice, alice_team, market_a, market_b
):
    market_a.sell("10.00")
    market_b.sell("12.00")
    market_a.running.sandbox.set_fault("long_id", api_key=market_a.running.api_key)

    purchase = buy(alice_team, alice)

    assert not purchase.ok
    assert "could not be cancelled" in purchase.message
    assert market_b.asked_to_sell == 0  # never two numbers for one purchase
    assert not Activation.objects.exists()
    assert not Reservation.objects.exists()


def test_a_budget_refusal_ends_the_purchase(alice, alice_team, market_a, market_b):
    """Most reliable first: the dearer Sandbox A is over the budget, and the purchase stops
    there rather than buy elsewhere what the person did not choose."""
    TeamRouting.objects.create(team=alice_team, policy=RoutingPolicy.RELIABLE)
    Team.objects.filter(pk=alice_team.pk).update(monthly_budget=Decimal("15.00"))
    market_a.sell("20.00")
    history(alice_team, alice, market_b.sell("12.00"), codes=0, without=10)

    purchase = buy(alice_team, alice)

    assert not purchase.ok
    assert "monthly budget" in purchase.message
    assert market_b.asked_to_sell == market_a.asked_to_sell == 0
    assert refusals() == ["over_budget"]


def test_when_every_provider_refuses_the_message_says_what_each_answered(
    alice, alice_team, market_a, market_b
):
    market_a.sold_out(market_a.sell("10.00"))
    market_b.sell("12.00")
    market_b.running.sandbox.set_balance(market_b.running.api_key, 0)

    purchase = buy(alice_team, alice)

    assert not purchase.ok
    assert purchase.message == (
        "Nothing was bought: Sandbox A (any) had no numbers; "
        "the team's balance at Sandbox B (any) is too low."
    )
    assert purchase.answer == "NO_BALANCE"
    assert not Activation.objects.exists()
    assert not Reservation.objects.exists()
    assert refusals() == ["NO_NUMBERS", "NO_BALANCE"]


def test_the_highest_price_holds_across_fallbacks(alice, alice_team, market_a, market_b):
    market_a.sold_out(market_a.sell("10.00"))
    market_b.sell("20.00")

    purchase = buy(alice_team, alice, Want("tg", 0, max_price=Decimal("15.00")))

    assert not purchase.ok
    assert market_b.asked_to_sell == 0  # over the highest price: never tried
    assert "No numbers available" in purchase.message  # Sandbox A's own answer
    assert not Activation.objects.exists()


def test_the_teams_price_limit_and_the_tokens_bind_too(alice, alice_team, market_a, market_b):
    from dashboard.tokens import create_token

    market_a.sell("10.00")
    market_b.sell("20.00")
    market_a.running.sandbox.set_balance(market_a.running.api_key, 0)
    PriceLimit.objects.create(team=alice_team, service_code="tg", max_price=Decimal("15.00"))
    assert not buy(alice_team, alice).ok
    assert market_b.asked_to_sell == 0

    PriceLimit.objects.all().delete()
    token = create_token(acting=acting(alice_team, alice), name="bot", max_price=Decimal("19"))
    assert not buy(alice_team, alice, token="routed-token-0002", api_token=token.token).ok
    assert market_b.asked_to_sell == 0
    assert buy(alice_team, alice, token="routed-token-0003").ok
    assert market_b.asked_to_sell == 1


def test_the_same_token_twice_buys_one_number(alice, alice_team, market_a, market_b):
    market_a.sold_out(market_a.sell("10.00"))
    market_b.sell("12.00")
    first = buy(alice_team, alice)
    second = buy(alice_team, alice)
    assert first.ok and second.ok and second.duplicate
    assert second.activation == first.activation
    assert Activation.objects.count() == 1
    assert (market_a.numbers_sold, market_b.numbers_sold) == (0, 1)
    assert market_a.asked_to_sell + market_b.asked_to_sell == 2  # the second asked no one


def test_a_picked_offer_is_tried_first(alice, alice_team, market_a, market_b):
    market_a.sell("10.00")
    dearer = market_b.sell("12.00")
    purchase = buy(alice_team, alice, first=dearer.pk)
    assert purchase.ok
    assert Activation.objects.get().provider == market_b.provider
    assert market_a.asked_to_sell == 0


def test_a_picked_offer_no_longer_on_sale_is_said(alice, alice_team, market_a, market_b):
    market_a.sell("10.00")
    gone = market_b.sell("12.00", quantity=0)
    purchase = buy(alice_team, alice, first=gone.pk)
    assert purchase.ok
    assert purchase.message.endswith(
        "Sandbox A (any) for $10.00: the offer you picked is no longer on sale."
    )


@pytest.mark.parametrize(
    ("setup", "words", "answer"),
    [
        ("nothing listed", "None of the team's providers sells tg in country 0.", "BAD_SERVICE"),
        ("no key", "sold only where the team holds no API key (Sandbox B)", "BAD_SERVICE"),
        ("out of stock", "Nothing is in stock for TG in Country 0 right now.", "NO_NUMBERS"),
        (
            "too dear",
            "within the highest price $5.00: the cheapest in stock costs $10.00",
            "NO_NUMBERS",
        ),
    ],
)
def test_without_a_candidate_it_says_why(
    alice, alice_team, market_a, market_b, setup, words, answer
):
    if setup == "no key":
        market_a.sell("10.00", service="wa")
        market_b.sell("10.00")
        market_b.account.delete()
    elif setup == "out of stock":
        market_a.sell("10.00", quantity=0)
    elif setup == "too dear":
        market_a.sell("10.00")
    purchase = buy(alice_team, alice, Want("tg", 0, max_price=Decimal("5.00")))
    assert not purchase.ok
    assert words in purchase.message
    assert purchase.answer == answer
    assert market_a.asked_to_sell == market_b.asked_to_sell == 0
