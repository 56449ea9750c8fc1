"""The team's usual choices (activations.usual) and their one-click buttons."""

from datetime import timedelta
from decimal import Decimal
from itertools import count

import pytest
from django.utils import timezone

from activations.models import Activation
from activations.usual import WINDOW, usual_buys, usual_choices
from dashboard.models import Membership
from tests.fixtures.activations import make_account, make_offer

_ids = count(5000)


def bought(offer, user, account, times=1, *, ago=timedelta(hours=1), team=None):
    """`times` activations of the offer's combination bought by user, `ago` before now."""
    for _ in range(times):
        Activation.objects.create(
            team=team or account.team,
            user=user,
            account=account,
            provider=offer.provider,
            service=offer.service,
            country=offer.country,
            operator=offer.operator,
            phone=f"7999{next(_ids):07d}",
            provider_activation_id=str(next(_ids)),
            price=offer.price,
            created_at=timezone.now() - ago,
            expires_at=timezone.now() + timedelta(minutes=20),
        )


def test_the_most_bought_come_first_in_one_query(
    alice, alice_team, sandbox_account, sandbox_offer, django_assert_num_queries
):
    provider = sandbox_offer.provider
    vk = make_offer(provider, service="vk", country=1, operator="mts")
    wa = make_offer(provider, service="wa", country=2, operator="beeline")
    bought(sandbox_offer, alice, sandbox_account, 2)
    bought(vk, alice, sandbox_account, 3)
    bought(wa, alice, sandbox_account, 1)
    with django_assert_num_queries(1):
        found = usual_choices(alice_team)
    assert [(u.service, u.country, u.operator, u.times) for u in found] == [
        ("vk", 1, "mts", 3),
        ("tg", 0, "any", 2),
        ("wa", 2, "beeline", 1),
    ]
    assert found[0].label == "VK · Country 1 · mts"
    assert found[1].label == "TG · Country 0 · any operator"


def test_a_combination_bought_at_two_providers_counts_once(
    alice, alice_team, sandbox_account, sandbox_offer, sandbox_account_b
):
    at_b = make_offer(sandbox_account_b.provider, service="tg", country=0, operator="any")
    bought(sandbox_offer, alice, sandbox_account, 1)
    bought(at_b, alice, sandbox_account_b, 2)
    (usual,) = usual_choices(alice_team)
    assert (usual.service, usual.country, usual.operator, usual.times) == ("tg", 0, "any", 3)


def test_old_purchases_and_other_teams_do_not_count(
    alice, alice_team, charlie, sandbox_account, sandbox_offer
):
    bought(sandbox_offer, alice, sandbox_account, 5, ago=WINDOW + timedelta(days=1))
    theirs = Membership.objects.get(user=charlie).team
    their_account = make_account(theirs, sandbox_offer.provider, api_key="charlies-key-0000")
    bought(sandbox_offer, charlie, their_account, 4)
    assert usual_choices(alice_team) == []


def test_at_most_a_few_are_offered(alice, alice_team, sandbox_account, sandbox_offer):
    for code in ["a1", "a2", "a3", "a4", "a5", "a6"]:
        bought(make_offer(sandbox_offer.provider, service=code), alice, sandbox_account)
    assert len(usual_choices(alice_team)) == 4


def test_a_usual_buy_shows_the_price_routing_tries_first(
    alice, alice_team, sandbox_account, sandbox_offer, sandbox_account_b
):
    cheaper = make_offer(sandbox_account_b.provider, service="tg", price="2.00")
    bought(sandbox_offer, alice, sandbox_account)
    (buy,) = usual_buys(Membership.objects.get(user=alice))
    assert (buy.price, buy.currency, buy.reason) == (cheaper.price, "USD", "")
    assert buy.token


def test_a_usual_buy_with_nothing_in_stock_says_so(
    alice, alice_team, sandbox_account, sandbox_offer
):
    bought(sandbox_offer, alice, sandbox_account)
    sandbox_offer.quantity = 0
    sandbox_offer.save()
    (buy,) = usual_buys(Membership.objects.get(user=alice))
    assert buy.price is None
    assert buy.reason == "Nothing is in stock for TG in Country 0 right now."


def test_a_usual_buy_over_the_budget_says_so(alice, alice_team, sandbox_account, sandbox_offer):
    bought(sandbox_offer, alice, sandbox_account)
    alice_team.monthly_budget = sandbox_offer.price + Decimal("1.00")
    alice_team.save()
    (buy,) = usual_buys(Membership.objects.get(user=alice))
    assert buy.reason.startswith("This would go over the team's monthly budget")


def test_a_usual_buy_over_the_members_own_limit_says_so(
    alice, bob, alice_team, sandbox_account, sandbox_offer
):
    bought(sandbox_offer, bob, sandbox_account)
    membership = Membership.objects.get(user=bob)
    membership.monthly_limit = Decimal("1.00")
    membership.save()
    (buy,) = usual_buys(membership)
    assert buy.reason.startswith("This would go over your monthly limit")
    (alices,) = usual_buys(Membership.objects.get(user=alice))
    assert alices.reason == ""


# --- The buttons and their view ------------------------------------------------------------


def test_the_home_page_offers_the_usual_buys_to_buyers_only(
    client, alice, victor, alice_team, sandbox_account, sandbox_offer
):
    bought(sandbox_offer, alice, sandbox_account, 2)
    client.force_login(alice)
    body = client.get(f"/t/{alice_team.slug}/").content.decode()
    assert f'action="/t/{alice_team.slug}/buy/usual/"' in body
    assert f"Buy TG · Country 0 · any operator for ${sandbox_offer.price}" in body
    assert "bought 2 times lately" in body
    client.force_login(victor)
    body = client.get(f"/t/{alice_team.slug}/").content.decode()
    assert "/buy/usual/" not in body


def test_the_buy_page_offers_them_too(client, alice, alice_team, sandbox_account, sandbox_offer):
    bought(sandbox_offer, alice, sandbox_account)
    client.force_login(alice)
    body = client.get(f"/t/{alice_team.slug}/buy/").content.decode()
    assert f"Buy TG · Country 0 · any operator for ${sandbox_offer.price}" in body


def test_a_button_that_cannot_buy_is_disabled_with_its_reason(
    client, alice, alice_team, sandbox_account, sandbox_offer
):
    bought(sandbox_offer, alice, sandbox_account)
    alice_team.monthly_budget = Decimal("0.50")
    alice_team.save()
    client.force_login(alice)
    body = client.get(f"/t/{alice_team.slug}/").content.decode()
    assert 'disabled aria-describedby="usual-why-1">Buy TG' in body
    assert 'id="usual-why-1">This would go over the team&#x27;s monthly budget' in body


def usual_post(offer, token="usual-token-0001"):
    return {
        "service": offer.service.code,
        "country": offer.country.external_id,
        "operator": offer.operator.code,
        "token": token,
    }


def test_one_click_buys_and_opens_the_number(
    client, alice, alice_team, sandbox_account, sandbox_offer
):
    client.force_login(alice)
    response = client.post(f"/t/{alice_team.slug}/buy/usual/", usual_post(sandbox_offer))
    activation = Activation.objects.get()
    assert response.url == f"/t/{alice_team.slug}/activations/{activation.pk}/"
    page = client.get(response.url).content.decode()
    assert f"Bought {activation.phone}" in page
    assert (activation.service, activation.user) == (sandbox_offer.service, alice)


def test_a_second_click_buys_nothing_more(
    client, alice, alice_team, sandbox_account, sandbox_offer
):
    client.force_login(alice)
    first = client.post(f"/t/{alice_team.slug}/buy/usual/", usual_post(sandbox_offer))
    second = client.post(f"/t/{alice_team.slug}/buy/usual/", usual_post(sandbox_offer))
    assert Activation.objects.count() == 1
    assert second.url == first.url


def test_a_refused_click_goes_to_the_buy_page_with_the_choice_and_why(
    client, alice, alice_team, sandbox_account, sandbox_offer
):
    alice_team.monthly_budget = Decimal("0.50")
    alice_team.save()
    client.force_login(alice)
    response = client.post(f"/t/{alice_team.slug}/buy/usual/", usual_post(sandbox_offer))
    assert response.url == f"/t/{alice_team.slug}/buy/?service=tg&country=0&operator=any"
    assert not Activation.objects.exists()
    page = client.get(response.url).content.decode()
    assert "This would go over the team&#x27;s monthly budget" in page


@pytest.mark.parametrize("who", ["victor", "charlie"])
def test_viewers_and_outsiders_cannot_buy(
    client, request, who, alice_team, sandbox_account, sandbox_offer
):
    client.force_login(request.getfixturevalue(who))
    response = client.post(f"/t/{alice_team.slug}/buy/usual/", usual_post(sandbox_offer))
    assert response.status_code == (403 if who == "victor" else 404)
    assert not Activation.objects.exists()


def test_the_home_page_reads_a_bounded_number_of_queries_with_usual_buys(
    client, alice, alice_team, sandbox_account, sandbox_offer, django_assert_max_num_queries
):
    provider = sandbox_offer.provider
    bought(sandbox_offer, alice, sandbox_account)
    client.force_login(alice)
    client.get(f"/t/{alice_team.slug}/")
    with django_assert_max_num_queries(40) as one:
        client.get(f"/t/{alice_team.slug}/")
    for code in ["a1", "a2", "a3", "a4", "a5", "a6"]:
        bought(make_offer(provider, service=code), alice, sandbox_account, 3)
    # Three more buttons (four at most), each a fixed few: the price limit, the service's
    # and the operators' rows, the offers and their records.
    with django_assert_max_num_queries(len(one.captured_queries) + 3 * 5):
        client.get(f"/t/{alice_team.slug}/")
