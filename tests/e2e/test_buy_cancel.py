"""In a real browser: sign in, buy a number from the sandbox, find it in the list, cancel it,
and see the balance back where it was."""

import re

import pytest
from playwright.sync_api import expect


@pytest.mark.browser
def test_alice_buys_a_number_and_cancels_it(
    page, live_server, alice, alice_team, sandbox_account, sandbox_offer, sandbox_server
):
    price = sandbox_offer.price
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("password")
    page.get_by_role("button", name=re.compile("Sign in|Log in", re.I)).click()
    expect(page).to_have_url(f"{live_server.url}/t/{alice_team.slug}/")
    expect(page.locator(".home-panel .balance")).to_have_text("$1,000.00")

    # Buy: each choice narrows the next one in place (htmx).
    page.get_by_role("link", name="Buy", exact=True).click()
    page.get_by_label("Service").select_option(sandbox_offer.service.code)
    page.get_by_label("Country").select_option(str(sandbox_offer.country.external_id))
    page.get_by_label("Operator").select_option(sandbox_offer.operator.code)
    buy = page.get_by_role("button", name=f"Buy for ${price}")
    expect(buy).to_be_enabled()
    buy.click()

    expect(page.locator(".messages")).to_contain_text("Bought")
    phone = page.locator(".phone .code").inner_text()
    assert re.fullmatch(r"\+7\d{10}", phone)
    expect(page.locator("#activation-status")).to_contain_text("Waiting for code")
    assert len(sandbox_server.sandbox.activations) == 1
    assert sandbox_server.sandbox.balance(sandbox_server.api_key) == 1000 - price

    # It is in the list, among the open activations and in the full list.
    page.get_by_role("link", name="Activations", exact=True).click()
    expect(page.locator("#open-activations")).to_contain_text(phone)
    expect(page.locator("section.card", has_text="All activations")).to_contain_text(phone)
    page.goto(f"{live_server.url}/t/{alice_team.slug}/")
    expect(page.locator(".home-panel .balance")).to_have_text(f"${1000 - price:,.2f}")

    # Cancel it from its page.
    page.locator("#open-activations").get_by_role("link", name=phone).click()
    page.get_by_role("button", name="Cancel").click()
    page.get_by_role("dialog").get_by_role("button", name="Confirm").click()
    expect(page.locator(".messages")).to_contain_text("Cancelled")
    expect(page.locator("#activation-status")).to_contain_text("Cancelled")
    expect(page.get_by_role("button", name="Cancel")).to_have_count(0)

    # The balance is back: on the home page, and at the provider when asked again.
    page.goto(f"{live_server.url}/t/{alice_team.slug}/")
    expect(page.locator(".home-panel .balance")).to_have_text("$1,000.00")
    expect(page.locator("#open-activations")).to_contain_text("No open activations")
    page.get_by_role("link", name="Provider accounts").click()
    page.get_by_role("button", name="Refresh balance").click()  # in place (htmx)
    expect(page.locator("td .balance")).to_have_text("$1,000.00")
    expect(page.locator("td .balance-box")).to_contain_text("checked just now")
    assert sandbox_server.sandbox.balance(sandbox_server.api_key) == 1000
