"""In a real browser: the buy form's choices answer a change made the moment the form was
swapped in. htmx wires up swapped-in content when it settles; with its default 20 ms settle
delay a choice made within that window was lost, and the next select stayed disabled (seen as
a flaky browser test when Playwright chose faster than 20 ms)."""

import pytest
from playwright.sync_api import expect

# As soon as the form that offers countries is swapped in, choose one at once (a microtask
# after the swap, as a fast hand or a test driver may).
CHOOSE_COUNTRY_ON_SWAP = """country => {
  new MutationObserver((changes, observer) => {
    const select = document.querySelector("#buy-form select[name=country]:not([disabled])");
    if (!select) return;
    observer.disconnect();
    select.value = country;
    select.dispatchEvent(new Event("change", {bubbles: true}));
  }).observe(document.body, {childList: true, subtree: true});
}"""


@pytest.mark.browser
def test_a_choice_made_as_the_form_is_swapped_in_is_not_lost(
    signed_in_page, live_server, alice, alice_team, sandbox_account, sandbox_offer
):
    page = signed_in_page(alice)
    page.goto(f"{live_server.url}/t/{alice_team.slug}/")
    page.get_by_role("link", name="Buy", exact=True).click()
    # The buy page loaded (the click only starts the navigation; evaluating before it ends
    # ran against a document without a body, once, on a loaded machine).
    expect(page.get_by_label("Service")).to_be_enabled()
    page.evaluate(CHOOSE_COUNTRY_ON_SWAP, str(sandbox_offer.country.external_id))
    page.get_by_label("Service").select_option(sandbox_offer.service.code)
    expect(page.get_by_label("Operator")).to_be_enabled(timeout=5_000)
    expect(page.get_by_label("Country")).to_have_value(str(sandbox_offer.country.external_id))
