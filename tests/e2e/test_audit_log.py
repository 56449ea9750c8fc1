"""In a real browser: the audit log tells a purchase in words, links the number to its
activation, and keeps the provider call it made folded under it until asked for."""

import re

import pytest
from playwright.sync_api import expect

from activations.audit_story import phone_text
from activations.models import Activation
from tests.fixtures.activations import buy_form


@pytest.mark.browser
def test_a_purchase_reads_in_words_and_its_calls_unfold_under_it(
    signed_in_page, client, live_server, alice, alice_team, sandbox_account, sandbox_offer
):
    page = signed_in_page(alice)
    client.post(f"/t/{alice_team.slug}/buy/", buy_form(sandbox_offer, token="audit-browser-1"))
    activation = Activation.objects.get()
    page.goto(f"{live_server.url}/t/{alice_team.slug}/audit/")

    entry = page.locator(".audit-entry").first
    expect(entry.locator(".audit-story")).to_have_text(
        re.compile(rf"^alice bought {re.escape(phone_text(activation.phone))} \(TG, Country 0\)")
    )
    call = entry.get_by_text("getNumber")
    expect(call).to_be_hidden()  # folded under the purchase
    entry.get_by_text("1 provider call").click()
    expect(call).to_be_visible()
    expect(page.locator(".audit-entry")).to_have_count(1)  # the call is not a row of its own

    entry.get_by_role("link", name=phone_text(activation.phone)).click()
    expect(page).to_have_url(f"{live_server.url}/t/{alice_team.slug}/activations/{activation.pk}/")
