"""Amounts with their currency and times in the team's zone (or the person's own), named, on
the activation, budget, routing and API access pages and in the purchase's messages."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from activations.buying import buy_number
from activations.forms import new_request_token
from catalog.models import Provider
from dashboard.models import Membership, Profile
from dashboard.tokens import create_token
from tests.fixtures.activations import make_account, make_offer

BOUGHT_AT = datetime(2026, 3, 5, 23, 30, 15, tzinfo=ZoneInfo("UTC"))


def acting(team, user) -> Membership:
    return Membership.objects.select_related("team", "user").get(team=team, user=user)


def test_the_list_and_the_page_show_the_time_in_the_teams_zone_named(
    client, alice, alice_team, make_activation
):
    alice_team.time_zone = "Asia/Tokyo"
    alice_team.save()
    activation = make_activation(created_at=BOUGHT_AT, price=Decimal("12.30"))
    client.force_login(alice)
    listed = client.get(f"/t/{alice_team.slug}/activations/").content.decode()
    # 23:30 UTC on March 5th is 08:30 on March 6th in Tokyo.
    assert "6 Mar 2026, 08:30:15 JST" in listed
    assert "Times in Asia/Tokyo" in listed
    assert "$12.30" in listed
    page = client.get(f"/t/{alice_team.slug}/activations/{activation.pk}/").content.decode()
    assert "6 Mar 2026, 08:30:15 JST" in page
    assert "$12.30" in page


def test_a_persons_own_zone_wins_over_the_teams(client, alice, alice_team, make_activation):
    alice_team.time_zone = "Asia/Tokyo"
    alice_team.save()
    Profile.objects.create(user=alice, time_zone="Europe/Moscow")
    activation = make_activation(created_at=BOUGHT_AT)
    client.force_login(alice)
    page = client.get(f"/t/{alice_team.slug}/activations/{activation.pk}/").content.decode()
    assert "6 Mar 2026, 02:30:15 MSK" in page
    assert "JST" not in page


def test_a_recent_time_reads_relative_with_the_exact_time_on_hover(
    client, alice, alice_team, make_activation
):
    alice_team.time_zone = "Europe/Moscow"
    alice_team.save()
    make_activation()
    client.force_login(alice)
    listed = client.get(f"/t/{alice_team.slug}/activations/").content.decode()
    assert "just now</time>" in listed
    assert 'MSK">just now</time>' in listed  # the title: the exact time, its zone named


def test_a_rouble_provider_prices_in_roubles(client, alice, alice_team, make_activation):
    rouble = Provider.objects.create(
        name="Rouble SMS", handler_url="http://127.0.0.1:9/", lang=Provider.Lang.RU
    )
    make_activation(provider=rouble, price=Decimal("1234.50"))
    client.force_login(alice)
    listed = client.get(f"/t/{alice_team.slug}/activations/").content.decode()
    assert "\u20bd1,234.50" in listed


def test_the_budgets_page_says_its_currency_and_warns_of_another(
    client, alice, bob, alice_team, make_activation
):
    make_activation(user=bob, price=Decimal("4.50"))
    client.force_login(alice)
    page = client.get(f"/t/{alice_team.slug}/budgets/").content.decode()
    assert "$4.50" in page
    assert "US dollar" in page
    assert "not converted" not in page

    rouble = Provider.objects.create(
        name="Rouble SMS", handler_url="http://127.0.0.1:9/", lang=Provider.Lang.RU
    )
    make_account(alice_team, rouble)
    page = client.get(f"/t/{alice_team.slug}/budgets/").content.decode()
    assert "Rouble SMS sells in RUB, not the team's USD" in page
    assert "not converted" in page


def test_the_routing_page_and_its_message_name_the_currency(
    client, alice, alice_team, alice_account, tg_offer
):
    client.force_login(alice)
    response = client.post(
        f"/t/{alice_team.slug}/routing/limits/",
        {"service_code": tg_offer.service.code, "max_price": "4.20"},
        follow=True,
    )
    page = response.content.decode()
    assert f"The highest price for {tg_offer.service.code} is now $4.20." in page
    assert "Highest price (USD)" in page


def test_a_budget_refusal_states_amounts_with_their_currency(alice, alice_team, alice_account):
    alice_team.currency = "RUB"
    alice_team.monthly_budget = Decimal("5.00")
    alice_team.save()
    provider = alice_account.provider
    provider.lang = Provider.Lang.RU
    provider.save()
    offer = make_offer(provider, price="10.00")
    purchase = buy_number(
        acting=acting(alice_team, alice), offer=offer, request_token=new_request_token()
    )
    assert not purchase.ok
    assert purchase.message == (
        "This would go over the team's monthly budget "
        "(\u20bd0.00 of \u20bd5.00 used; this number costs \u20bd10.00)."
    )


def test_api_tokens_show_when_made_and_their_highest_price_with_currency(client, alice, alice_team):
    alice_team.time_zone = "Asia/Tokyo"
    alice_team.save()
    create_token(acting=acting(alice_team, alice), name="bot", max_price=Decimal("2.50"))
    client.force_login(alice)
    page = client.get(f"/t/{alice_team.slug}/api-access/").content.decode()
    assert "at most $2.50 a number" in page
    assert 'JST">just now</time>' in page
