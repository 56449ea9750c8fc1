"""In a real browser: buying in one or two actions, and Buy that says why it cannot.

The team's usual choice bought with one click on the home page; a catalog row's Buy landing
on the buy page with everything chosen; sold-out choices shown but not choosable; Buy
disabled with its reason when the budget is used up or nothing is in stock.
"""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from activations.models import Activation
from tests.activations.test_usual import bought
from tests.fixtures.activations import make_offer


@pytest.mark.browser
def test_one_click_on_a_usual_choice_buys_and_opens_the_number(
    signed_in_page, live_server, alice, alice_team, sandbox_account, sandbox_offer, sandbox_server
):
    bought(sandbox_offer, alice, sandbox_account, 3)
    page = signed_in_page(alice)
    page.goto(f"{live_server.url}/t/{alice_team.slug}/")
    usual = page.locator(".usual-buys")
    expect(usual).to_contain_text("bought 3 times lately")
    usual.get_by_role(
        "button", name=f"Buy TG · Country 0 · any operator for ${sandbox_offer.price}"
    ).click()

    expect(page).to_have_url(re.compile(r"/activations/\d+/$"))
    expect(page.locator(".messages")).to_contain_text("Bought")
    phone = page.locator(".phone .code").inner_text()
    assert re.fullmatch(r"\+7\d{10}", phone)
    assert Activation.objects.filter(phone__endswith=phone[-10:]).exists()
    assert len(sandbox_server.sandbox.activations) == 1


@pytest.mark.browser
def test_buy_from_a_catalog_row_lands_with_everything_chosen_and_buys(
    signed_in_page, live_server, bob, alice_team, sandbox_account, sandbox_offer, sandbox_server
):
    page = signed_in_page(bob)
    page.goto(f"{live_server.url}/t/{alice_team.slug}/catalog/")
    page.get_by_role("link", name="Buy TG in Country 0, any").click()

    expect(page).to_have_url(re.compile(r"/buy/\?service=tg&country=0&operator=any&offer=\d+"))
    expect(page.get_by_label("Service")).to_have_value("tg")
    expect(page.get_by_label("Country")).to_have_value("0")
    expect(page.get_by_label("Operator")).to_have_value("any")
    buy = page.get_by_role("button", name=f"Buy for ${sandbox_offer.price}")
    expect(buy).to_be_enabled()
    buy.click()

    expect(page.locator(".messages")).to_contain_text("Bought")
    expect(page.locator("#activation-status")).to_contain_text("Waiting for code")
    assert Activation.objects.get().user == bob
    assert len(sandbox_server.sandbox.activations) == 1


@pytest.mark.browser
def test_over_the_budget_buy_is_disabled_and_says_why(
    signed_in_page, live_server, alice, alice_team, sandbox_account, sandbox_offer
):
    alice_team.monthly_budget = sandbox_offer.price - Decimal("0.01")
    alice_team.save()
    bought(sandbox_offer, alice, sandbox_account, 1)  # a usual choice, over the budget too
    page = signed_in_page(alice)
    page.goto(f"{live_server.url}/t/{alice_team.slug}/buy/")
    page.get_by_label("Service").select_option("tg")
    page.get_by_label("Country").select_option("0")

    buy = page.get_by_role("button", name=f"Buy for ${sandbox_offer.price}")
    expect(buy).to_be_disabled()
    expect(page.locator("#buy-why")).to_contain_text("This would go over the team's monthly budget")
    usual = page.locator(".usual-buys").get_by_role("button")
    expect(usual).to_be_disabled()
    expect(page.locator(".usual-buys")).to_contain_text("over the team's monthly budget")
    assert not Activation.objects.filter(user=alice, request_token__isnull=False).exists()


@pytest.mark.browser
def test_sold_out_choices_are_shown_but_not_choosable_and_buy_says_why(
    signed_in_page, live_server, alice, alice_team, sandbox_account, sandbox_offer
):
    provider = sandbox_offer.provider
    make_offer(provider, service="tg", country=0, operator="mts", price="0.00", quantity=0)
    make_offer(provider, service="tg", country=5, operator="any", price="0.00", quantity=0)
    page = signed_in_page(alice)
    page.goto(f"{live_server.url}/t/{alice_team.slug}/buy/")
    page.get_by_label("Service").select_option("tg")

    country = page.get_by_label("Country")
    expect(country.locator("option")).to_have_text(
        ["Choose…", f"Country 0 — from ${sandbox_offer.price}, 100 in stock", re.compile("5")]
    )
    sold_out = country.locator("option", has_text="Country 5")
    expect(sold_out).to_have_text("Country 5 — out of stock")
    expect(sold_out).to_be_disabled()
    country.select_option("0")
    operator = page.get_by_label("Operator")
    expect(operator.locator("option", has_text="mts")).to_be_disabled()
    expect(page.get_by_role("button", name=f"Buy for ${sandbox_offer.price}")).to_be_enabled()

    # A link to the sold-out country (an old bookmark): Buy is disabled and says why.
    page.goto(f"{live_server.url}/t/{alice_team.slug}/buy/?service=tg&country=5&operator=any")
    expect(page.get_by_role("button", name="Buy", exact=True)).to_be_disabled()
    expect(page.locator("#buy-why")).to_have_text(
        "Nothing is in stock for TG in Country 5 right now."
    )
