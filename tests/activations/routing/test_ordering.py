"""The candidates and their order under each policy, from catalog rows only (the providers
are never called), with the team's own record of each offer."""

from datetime import timedelta
from decimal import Decimal

import pytest

from activations.models import PriceLimit, RoutingPolicy, TeamRouting
from activations.routing import MIN_SAMPLE, WINDOW, Record, Want, candidates, policy_of
from catalog.models import Provider
from dashboard.models import Team
from dashboard.tokens import create_token
from tests.activations.acting import acting
from tests.activations.routing.support import activation_of, history
from tests.fixtures.activations import UNREACHABLE_URL, make_account, make_offer

pytestmark = pytest.mark.django_db

TELEGRAM = Want("tg", 0)


@pytest.fixture
def providers(alice_team):
    """Three providers keyed for Alice's team, never called."""
    made = {}
    for name in ("One", "Two", "Three"):
        made[name] = Provider.objects.create(name=name, handler_url=UNREACHABLE_URL)
        make_account(alice_team, made[name], api_key=f"{name.lower()}-key-5a6b7c8d9e")
    return made


def order(team, want=TELEGRAM, **options) -> list[tuple[str, str]]:
    return [
        (c.offer.provider.name, c.offer.operator.code) for c in candidates(team, want, **options)
    ]


def reliable(team):
    TeamRouting.objects.create(team=team, policy=RoutingPolicy.RELIABLE)


def test_cheapest_orders_by_price_then_stock(alice_team, providers):
    make_offer(providers["One"], price="12.00", quantity=5)
    make_offer(providers["Two"], price="10.00", quantity=5)
    make_offer(providers["Three"], price="10.00", quantity=50)
    assert policy_of(alice_team) == RoutingPolicy.CHEAPEST
    assert order(alice_team) == [("Three", "any"), ("Two", "any"), ("One", "any")]


def test_only_what_the_team_can_buy_is_a_candidate(alice_team, providers):
    unkeyed = Provider.objects.create(name="Unkeyed", handler_url=UNREACHABLE_URL)
    make_offer(unkeyed, price="1.00")
    Provider.objects.filter(name="Two").update(enabled=False)
    make_offer(providers["Two"], price="2.00")
    make_offer(providers["Three"], price="3.00", quantity=0)
    make_offer(providers["One"], price="5.00")
    make_offer(providers["One"], service="wa", price="1.00")
    make_offer(providers["One"], country=1, price="1.00")
    assert order(alice_team) == [("One", "any")]


def test_any_operator_means_every_operator_of_the_country(alice_team, providers):
    make_offer(providers["One"], operator="any", price="30.00")
    make_offer(providers["One"], operator="mts", price="12.00")
    make_offer(providers["Two"], operator="tele2", price="15.00")
    make_offer(providers["Two"], operator="beeline", price="9.00", quantity=0)
    assert order(alice_team) == [("One", "mts"), ("Two", "tele2"), ("One", "any")]
    assert order(alice_team, Want("tg", 0, "tele2")) == [("Two", "tele2")]


def test_the_highest_price_is_the_lowest_of_the_three(alice, alice_team, providers):
    for price in ("8.00", "10.00", "12.00"):
        make_offer(providers["One"], operator=f"op{price[:-3]}", price=price)
    assert len(order(alice_team)) == 3
    assert len(order(alice_team, Want("tg", 0, max_price=Decimal("11")))) == 2
    PriceLimit.objects.create(team=alice_team, service_code="tg", max_price=Decimal("9"))
    assert order(alice_team) == [("One", "op8")]
    assert len(order(alice_team, Want("wa", 0))) == 0
    token = create_token(acting=acting(alice_team, alice), name="bot", max_price=Decimal("7"))
    assert order(alice_team, api_token=token.token) == []
    PriceLimit.objects.all().delete()
    assert order(alice_team, api_token=token.token) == []
    only_wa = create_token(acting=acting(alice_team, alice), name="wa bot", services=["wa"])
    assert order(alice_team, api_token=only_wa.token) == []


def test_reliable_orders_by_share_then_median_then_price(alice, alice_team, providers):
    reliable(alice_team)
    cheap = make_offer(providers["One"], price="5.00")
    slow = make_offer(providers["Two"], price="9.00")
    fast = make_offer(providers["Three"], price="12.00")
    history(alice_team, alice, cheap, codes=7, without=3)  # 70 %
    history(alice_team, alice, slow, codes=10, seconds=60)  # 100 %, a minute
    history(alice_team, alice, fast, codes=10, seconds=15)  # 100 %, 15 s
    assert order(alice_team) == [("Three", "any"), ("Two", "any"), ("One", "any")]
    # The cheapest first under the cheapest policy, whatever the records.
    assert order(alice_team, policy=RoutingPolicy.CHEAPEST)[0] == ("One", "any")
    assert candidates(alice_team, TELEGRAM)[0].record == Record(10, 10, 15.0)


def test_reliable_breaks_ties_by_price(alice, alice_team, providers):
    reliable(alice_team)
    dear = make_offer(providers["One"], price="9.00")
    cheap = make_offer(providers["Two"], price="5.00")
    history(alice_team, alice, dear, codes=9, without=1, seconds=20.4)
    history(alice_team, alice, cheap, codes=9, without=1, seconds=19.6)  # both 90 %, 20 s
    assert order(alice_team) == [("Two", "any"), ("One", "any")]


def test_an_untried_offer_gets_a_fair_chance_until_its_failures_count(alice, alice_team, providers):
    reliable(alice_team)
    known = make_offer(providers["One"], price="5.00")
    new = make_offer(providers["Two"], price="9.00")
    history(alice_team, alice, known, codes=8, without=2)  # 80 %
    assert order(alice_team)[0] == ("Two", "any")  # no history: scored 100 %, tried

    history(alice_team, alice, new, codes=0, without=2)  # scored 8 of 10: 80 %, a tie
    assert order(alice_team)[0] == ("One", "any")  # the known median comes first
    history(alice_team, alice, new, codes=0, without=1)  # 7 of 10: below the known one
    assert order(alice_team)[0] == ("One", "any")
    (first, second) = candidates(alice_team, TELEGRAM)
    assert second.record.summary == "3 activations so far"
    assert first.record.summary == "80 % got a code in the last 30 days, median 20 s"


def test_an_untried_offer_is_not_preferred_to_one_that_always_delivers(
    alice, alice_team, providers
):
    reliable(alice_team)
    known = make_offer(providers["One"], price="9.00")
    make_offer(providers["Two"], price="5.00")
    history(alice_team, alice, known, codes=MIN_SAMPLE, seconds=40)
    # Both 100 %: the known median sorts before the unknown one, cheaper or not.
    assert order(alice_team) == [("One", "any"), ("Two", "any")]


def test_the_record_counts_only_finished_activations_in_the_window(
    alice, alice_team, providers, charlie
):
    offer = make_offer(providers["One"], price="5.00")
    history(alice_team, alice, offer, codes=4, without=1, seconds=10)
    history(alice_team, alice, offer, codes=3, seconds=100)
    history(alice_team, alice, offer, codes=5, ago=WINDOW + timedelta(hours=1))
    activation_of(alice_team, alice, offer)  # still waiting: not finished
    charlies = Team.objects.get(slug="charlies-team")  # another team's history is theirs
    make_account(charlies, offer.provider, api_key="charlie-key-1b2c3d4e5f")
    history(charlies, charlie, offer, codes=0, without=5)
    (candidate,) = candidates(alice_team, TELEGRAM)
    assert candidate.record == Record(finished=8, with_code=7, median_seconds=10.0)
    assert candidate.record.share == 7 / 8
    assert not candidate.record.enough
    assert Record().summary == "no history yet"
    assert Record(1, 1, 3.0).summary == "1 activation so far"
    assert Record(MIN_SAMPLE, 0, None).summary == "0 % got a code in the last 30 days"
    # Whole percent and whole seconds, halves up: 189 of 200 is 94.5 %.
    assert Record(200, 189, 7.5).summary == "95 % got a code in the last 30 days, median 8 s"


def test_candidates_cost_a_fixed_number_of_queries(
    alice, alice_team, providers, django_assert_num_queries
):
    reliable(alice_team)
    for name, provider in providers.items():
        for operator in ("any", "mts", "tele2", "beeline"):
            offer = make_offer(provider, operator=operator, price=f"{len(name) + 1}.00")
            history(alice_team, alice, offer, codes=2, without=1)
    # The policy, the price limit, the service's and the operators' rows, offers, records.
    with django_assert_num_queries(6):
        assert len(candidates(alice_team, TELEGRAM)) == 12
