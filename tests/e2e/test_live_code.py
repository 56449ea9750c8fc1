"""In a real browser, with the poller running: a bought number's code appears on its page
without a reload, another SMS brings a second code, and the activation is completed."""

import re
import threading

import pytest
from django.db import connection
from playwright.sync_api import expect

from activations.models import Activation
from activations.poller import Poller


class PollerInBackground:
    """The poller's loop in a thread of the test process (as a worker would run it)."""

    def __init__(self) -> None:
        self.poller = Poller(interval=0.3, request_timeout=2.0)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.poller.run(120)
        finally:
            connection.close()

    def stop(self) -> None:
        self.poller.stop()
        self.thread.join(10)


@pytest.mark.browser
def test_a_code_appears_without_reload_then_a_second_one_then_it_is_completed(
    signed_in_page, live_server, alice, alice_team, sandbox_account, sandbox_offer, sandbox_server
):
    sandbox = sandbox_server.sandbox
    sandbox.code_delay = 2.0
    page = signed_in_page(alice)
    page.goto(f"{live_server.url}/t/{alice_team.slug}/")

    page.get_by_role("link", name="Buy", exact=True).click()
    page.get_by_label("Service").select_option(sandbox_offer.service.code)
    page.get_by_label("Country").select_option(str(sandbox_offer.country.external_id))
    page.get_by_label("Operator").select_option(sandbox_offer.operator.code)
    page.get_by_role("button", name=f"Buy for ${sandbox_offer.price}").click()
    expect(page.locator(".messages")).to_contain_text("Bought")
    expect(page.locator("#activation-status")).to_contain_text("Waiting for code")
    activation = Activation.objects.get()

    background = PollerInBackground()
    try:
        # The page stays the same page (a reload would lose this mark) while the code comes.
        page.evaluate("window.sameDocument = true")
        codes = page.locator("#activation-status .codes .code")
        expect(codes).to_have_count(1, timeout=15_000)
        first = sandbox.activation(activation.provider_activation_id).codes[0]
        expect(codes.first).to_have_text(first)
        # Announced to screen readers by the region that stays while the section is swapped.
        announcer = page.locator("#code-announcer")
        expect(announcer).to_have_attribute("aria-live", "assertive")
        expect(announcer).to_have_text(re.compile(rf"New code for \+\d+: {first}$"))
        expect(page.locator("#activation-status")).to_contain_text("Code received")
        assert page.evaluate("window.sameDocument") is True
        expect(page).to_have_title(re.compile(rf"^{first} · "))

        page.get_by_role("button", name="Request another SMS").click()
        expect(page.locator("#activation-status")).to_contain_text("Waiting for another code")
        page.evaluate("window.sameDocument = true")
        expect(codes).to_have_count(2, timeout=15_000)
        second = sandbox.activation(activation.provider_activation_id).codes[1]
        expect(codes.nth(1)).to_have_text(second)
        expect(announcer).to_have_text(re.compile(rf"New code for \+\d+: {second}$"))
        expect(codes.nth(1)).to_have_class(re.compile(r"\bnew\b"))
        assert page.evaluate("window.sameDocument") is True

        page.get_by_role("button", name="Complete").click()
        expect(page.locator("#activation-status")).to_contain_text("Completed")
    finally:
        background.stop()

    activation.refresh_from_db()
    assert activation.state == Activation.State.COMPLETED
    assert activation.codes == [first, second]
    assert sandbox.activation(activation.provider_activation_id).state == "completed"
