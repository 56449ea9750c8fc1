import re
from datetime import timedelta
from decimal import Decimal
from html import unescape

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import Offer, PriceChange, Provider
from tests.fixtures.activations import make_account


def url(team, service_id, query=""):
    return f"/t/{team.slug}/catalog/services/{service_id}/{query}"


def test_it_checks_membership(client, charlie, alice_team, provider, make_offer):
    offer = make_offer(provider, "tg")
    client.force_login(charlie)
    assert client.get(url(alice_team, offer.service_id)).status_code == 404


def test_it_ranks_countries_and_operators_by_price_with_stock(
    client, bob, alice_team, provider, make_offer
):
    cheap_sold_out = make_offer(provider, "tg", country=0, operator="mts", price="0.50", quantity=0)
    make_offer(provider, "tg", country=0, operator="tinkoff", price="2.00", quantity=3)
    make_offer(provider, "tg", country=1, operator="any", price="1.00", quantity=7)
    make_offer(provider, "tg", country=2, operator="any", price="1.00", quantity=40)
    make_offer(provider, "tg", country=3, operator="gone", price="0.10", available=False)
    make_offer(provider, "vk", country=0, operator="mts", price="0.01")
    client.force_login(bob)
    response = client.get(url(alice_team, cheap_sold_out.service_id))
    rows = [(r.country_external_id, r.operator_code, r.stock) for r in response.context["page"]]
    # In stock first, cheapest first, more stock first at the same price; sold out last.
    assert rows == [(2, "any", 40), (1, "any", 7), (0, "tinkoff", 3), (0, "mts", 0)]
    assert b"out of stock" in response.content


def test_it_shows_the_price_trend(client, bob, alice_team, provider, make_offer):
    offer = make_offer(provider, "tg", price="1.50")
    earlier = timezone.now() - timedelta(hours=2)
    PriceChange.objects.create(offer=offer, price=Decimal("1.20"), recorded_at=earlier)
    PriceChange.objects.create(offer=offer, price=Decimal("1.50"))
    client.force_login(bob)
    response = client.get(url(alice_team, offer.service_id))
    (row,) = response.context["page"]
    assert row.cells[0].previous_price == Decimal("1.20")
    assert "&uarr; from $1.20" in response.content.decode()
    (change,) = response.context["changes"]
    assert (change.previous, change.price) == (Decimal("1.20"), Decimal("1.50"))


def test_a_first_price_is_not_a_change(client, bob, alice_team, provider, make_offer):
    offer = make_offer(provider, "tg", price="1.50")
    PriceChange.objects.create(offer=offer, price=Decimal("1.50"))
    client.force_login(bob)
    response = client.get(url(alice_team, offer.service_id))
    assert response.context["changes"] == []
    assert response.context["page"].rows[0].cells[0].previous_price is None


def test_an_htmx_request_gets_only_the_ranking(client, bob, alice_team, provider, make_offer):
    offer = make_offer(provider, "tg")
    client.force_login(bob)
    response = client.get(url(alice_team, offer.service_id), headers={"HX-Request": "true"})
    assert response.content.decode().lstrip().startswith('<div id="ranking"')


def test_the_ranking_reloads_itself_when_a_sync_moves_on(
    client, bob, alice_team, provider, make_offer
):
    offer = make_offer(provider, "tg", country=0, operator="mts")
    client.force_login(bob)
    page = client.get(url(alice_team, offer.service_id)).content.decode()
    ranking = re.search(r'<div id="ranking" hx-get="([^"]+)" hx-trigger="([^"]+)"', page)
    assert ranking.group(2) == "catalog-sync-changed from:body"  # the status cards' event
    make_offer(provider, "tg", country=0, operator="beeline")  # what the sync brought
    again = client.get(unescape(ranking.group(1)), headers={"HX-Request": "true"})
    assert "beeline" in again.content.decode()


def test_it_shows_the_service_at_every_provider_side_by_side(
    client, bob, alice_team, provider, make_offer
):
    beta = Provider.objects.create(name="Beta SMS", handler_url="http://127.0.0.1:9/h")
    at_acme = make_offer(provider, "tg", country=0, operator="mts", price="2.00", quantity=3)
    make_offer(beta, "tg", country=0, operator="mts", price="1.50", quantity=0)
    make_offer(beta, "tg", country=1, operator="any", price="3.00", quantity=8)
    make_offer(beta, "vk", country=0, operator="mts", price="0.10")
    make_account(alice_team, beta)
    client.force_login(bob)
    # Beta's own row of the service leads to the same page as Acme's.
    at_beta = Offer.objects.filter(provider=beta, service__code="tg").first()
    for service_id in (at_acme.service_id, at_beta.service_id):
        response = client.get(url(alice_team, service_id))
        columns = [(c.provider.name, c.keyed) for c in response.context["columns"]]
        assert columns == [("Acme SMS", False), ("Beta SMS", True)]
        rows = [
            (r.country_external_id, r.operator_code, [c and (c.price, c.quantity) for c in r.cells])
            for r in response.context["page"]
        ]
        # Russia/mts: Acme has stock at 2.00 (Beta's 1.50 is sold out), so it comes first.
        assert rows == [
            (0, "mts", [(Decimal("2.00"), 3), (Decimal("1.50"), 0)]),
            (1, "any", [None, (Decimal("3.00"), 8)]),
        ]


def test_a_service_of_a_disabled_provider_is_not_found(
    client, bob, alice_team, provider, make_offer
):
    offer = make_offer(provider, "tg")
    provider.enabled = False
    provider.save()
    client.force_login(bob)
    assert client.get(url(alice_team, offer.service_id)).status_code == 404


def test_it_makes_the_same_number_of_queries_however_many_rows(
    client, bob, alice_team, provider, make_offer, django_assert_num_queries
):
    first = make_offer(provider, "tg", country=0)
    PriceChange.objects.create(offer=first, price=first.price)
    client.force_login(bob)
    client.get(url(alice_team, first.service_id))  # the session is warm
    with CaptureQueriesContext(connection) as one_row:
        client.get(url(alice_team, first.service_id))

    for country in range(1, 40):
        offer = make_offer(provider, "tg", country=country, price=f"{country}.00")
        PriceChange.objects.create(offer=offer, price=Decimal("0.50"))
        PriceChange.objects.create(offer=offer, price=offer.price)
    with django_assert_num_queries(len(one_row)):
        response = client.get(url(alice_team, first.service_id))
    assert len(response.context["page"]) == 40
    assert len(response.context["changes"]) == 20


def test_each_offer_in_stock_has_a_buy_and_sold_out_ones_none(
    client, bob, alice_team, provider, make_offer
):
    make_account(alice_team, provider)
    offer = make_offer(provider, "tg", country=1, operator="any", price="1.00", quantity=7)
    make_offer(provider, "tg", country=0, operator="mts", price="0.50", quantity=0)
    client.force_login(bob)
    body = client.get(url(alice_team, offer.service_id)).content.decode()
    buy = (
        f"/t/{alice_team.slug}/buy/?service=tg&amp;country=1&amp;operator=any&amp;offer={offer.pk}"
    )
    assert f'href="{buy}"' in body
    assert body.count('class="button small"') == 1
    assert '<tr class="sold-out">' in body
