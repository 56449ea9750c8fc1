"""In a real browser: filter the catalog across two providers in place, then follow a service
to its ranking at both."""

import re

import pytest
from playwright.sync_api import expect

from catalog.models import Provider


@pytest.mark.browser
def test_a_member_filters_the_catalog_and_opens_a_price_ranking(
    signed_in_page, live_server, bob, alice_team, provider, make_offer
):
    for country, name in [(0, "Russia"), (1, "Ukraine")]:
        make_offer(
            provider,
            "vk",
            country=country,
            country_name=name,
            service_name="VK.com",
            price="0.80",
        )
    make_offer(provider, "tg", country=0, operator="tinkoff", service_name="Telegram", price="2")
    make_offer(provider, "tg", country=1, operator="kyivstar", service_name="Telegram", price="1")
    make_offer(provider, "tg", country=0, operator="mts", service_name="Telegram", quantity=0)
    # A second provider sells one of the same combinations, cheaper: the same row, a column more.
    beta = Provider.objects.create(name="Beta SMS", handler_url="http://127.0.0.1:9/h")
    make_offer(beta, "tg", country=1, operator="kyivstar", service_name="Telegram", price="0.70")

    page = signed_in_page(bob)
    page.goto(f"{live_server.url}/t/{alice_team.slug}/")
    page.get_by_role("link", name="Catalog").click()
    rows = page.locator("#catalog-results tbody tr")
    # The catalog opens on the offers in stock; the sold-out tg/mts comes when asked for.
    expect(rows).to_have_count(4)
    expect(rows.filter(has_text="mts")).to_have_count(0)
    page.get_by_label("Show sold-out offers too").check()
    expect(rows).to_have_count(5)
    expect(page.locator("#catalog-results tr.sold-out")).to_contain_text("mts")
    headers = page.locator("#catalog-results thead th")
    expect(headers).to_contain_text(["Service", "Country", "Operator", "Acme SMS", "Beta SMS"])
    expect(rows.filter(has_text="kyivstar")).to_contain_text("0.70")

    # Typing filters the table in place (htmx) and the URL follows.
    page.get_by_label("Service").fill("teleg")
    expect(rows).to_have_count(3)
    expect(page).to_have_url(re.compile(r"/catalog/\?.*q=teleg"))

    # Picking a country narrows the operators to that country's.
    page.get_by_label("Country").select_option(label="Russia")
    expect(rows).to_have_count(2)
    expect(page).to_have_url(re.compile(r"country=0"))
    operator = page.get_by_label("Operator")
    expect(operator.locator("option")).to_have_text(["Any operator", "any", "mts", "tinkoff"])
    operator.select_option("tinkoff")
    expect(rows).to_have_count(1)

    # The back button returns to the previous filters.
    page.go_back()
    expect(page).to_have_url(re.compile(r"country=0(?!.*operator=tinkoff)"))
    expect(rows).to_have_count(2)

    page.get_by_role("link", name="Telegram").first.click()
    expect(page.get_by_role("heading", name="Telegram tg")).to_be_visible()
    ranking = page.locator("#ranking tbody tr")
    expect(ranking).to_have_count(3)
    # Cheapest in stock first; the sold-out one last.
    expect(ranking.nth(0)).to_contain_text("Ukraine")
    expect(ranking.nth(0)).to_contain_text("0.70")  # Beta's price beside Acme's 1.00
    expect(ranking.nth(1)).to_contain_text("tinkoff")
    expect(ranking.nth(2)).to_contain_text("out of stock")
