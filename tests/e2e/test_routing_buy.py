"""In a real browser, with two sandbox providers keyed for Alice's team: a purchase is routed.

The cheaper provider has sold out since the catalog's last sync (the catalog still says in
stock; the provider answers NO_NUMBERS), so the purchase lands at the other one, and both the
message and the activation's page say where it was bought and why the first was passed. The
same form works without JavaScript ("Show choices"), where the person picks the dearer offer
though both could sell, and gets it.
"""

import re

import pytest
from django.conf import settings
from playwright.sync_api import expect

from activations.models import Activation
from tests.fixtures.activations import make_offer

CHEAP, DEAR = "5.00", "8.00"


@pytest.fixture
def two_providers(
    sandbox_account, sandbox_account_b, sandbox_server, sandbox_server_b, sandbox_provider
):
    """Telegram in Russia at both sandboxes: the cheaper one sold out at the provider."""
    sandbox_server.sandbox.set_offer("tg", 0, "any", price=CHEAP, quantity=0)
    sandbox_server_b.sandbox.set_offer("tg", 0, "any", price=DEAR, quantity=100)
    cheap = make_offer(sandbox_provider, service="tg", price=CHEAP, quantity=100)
    dear = make_offer(sandbox_account_b.provider, service="tg", price=DEAR, quantity=100)
    return cheap, dear


@pytest.mark.browser
def test_a_purchase_lands_at_the_other_provider_and_says_where_and_why(
    signed_in_page, live_server, alice, alice_team, two_providers, sandbox_server, sandbox_server_b
):
    cheap, dear = two_providers
    a, b = cheap.provider.name, dear.provider.name
    page = signed_in_page(alice)
    page.goto(f"{live_server.url}/t/{alice_team.slug}/")
    page.get_by_role("link", name="Buy", exact=True).click()

    # Telegram is offered once, and Russia with the best price and both providers' stock.
    expect(page.get_by_label("Service").locator("option", has_text="(tg)")).to_have_count(1)
    page.get_by_label("Service").select_option("tg")
    expect(page.get_by_label("Country")).to_contain_text(f"from ${CHEAP}, 200 in stock")
    page.get_by_label("Country").select_option("0")
    expect(page.get_by_label("Operator")).to_have_value("any")

    # Before the click: both offers, best first (cheapest), the first preselected.
    at_a = page.get_by_role("radio", name=f"{a}, any, ${CHEAP}: no history yet")
    at_b = page.get_by_role("radio", name=f"{b}, any, ${DEAR}: no history yet")
    expect(at_a).to_be_checked()
    expect(at_b).not_to_be_checked()
    # Another pick re-renders the form (htmx): the button says its price; then back to A.
    at_b.check()
    expect(page.get_by_role("button", name=f"Buy for ${DEAR}")).to_be_enabled()
    at_a.check()
    page.get_by_role("button", name=f"Buy for ${CHEAP}").click()

    expect(page.locator(".messages")).to_contain_text(
        re.compile(rf"Bought \+?7\d+ at {re.escape(b)} \(any\) for \$[\d.,]+: ")
    )
    expect(page.locator(".messages")).to_contain_text(f"{a} (any) had no numbers")
    facts = page.locator(".facts")
    expect(facts).to_contain_text(f"Bought at {b}")
    expect(facts).to_contain_text("Cheapest offer first")
    expect(facts.locator(".route li")).to_have_text([f"{a} (any) had no numbers"])

    activation = Activation.objects.get()
    assert activation.provider == dear.provider
    assert activation.price == dear.price
    assert len(sandbox_server.sandbox.activations) == 0
    assert len(sandbox_server_b.sandbox.activations) == 1


@pytest.mark.browser
def test_without_javascript_the_person_picks_the_other_offer(
    browser, live_server, client, alice, alice_team, two_providers, sandbox_server, sandbox_server_b
):
    _, dear = two_providers
    sandbox_server.sandbox.set_offer("tg", 0, "any", quantity=100)  # both could sell now
    client.force_login(alice)
    context = browser.new_context(java_script_enabled=False)
    session = settings.SESSION_COOKIE_NAME
    context.add_cookies(
        [{"name": session, "value": client.cookies[session].value, "url": live_server.url}]
    )
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/t/{alice_team.slug}/buy/")
        page.get_by_label("Service").select_option("tg")
        page.get_by_role("button", name="Show choices").click()
        page.get_by_label("Country").select_option("0")
        page.get_by_role("button", name="Show choices").click()
        page.get_by_role(
            "radio", name=re.compile(f"^{re.escape(dear.provider.name)}, any, \\${DEAR}")
        ).check()
        page.get_by_role("button", name=re.compile("^Buy for")).click()
        expect(page.locator(".messages")).to_contain_text(f"at {dear.provider.name}")
    finally:
        context.close()
    activation = Activation.objects.get()
    assert activation.provider == dear.provider
    assert len(sandbox_server.sandbox.activations) == 0
    assert len(sandbox_server_b.sandbox.activations) == 1
