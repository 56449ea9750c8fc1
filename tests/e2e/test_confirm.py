"""In a real browser: destructive actions ask first, in the page's dialog with JavaScript and
on a page of their own without it; the only owner is not offered what would be refused."""

import re

import pytest
from django.conf import settings
from playwright.sync_api import expect

from activations.buying import buy_number
from activations.models import Activation
from dashboard.models import Membership
from tests.activations.acting import acting

SETTINGS = "/t/alices-team/settings/"


def watch_console(page) -> list[str]:
    """Script errors and CSP violations the page logs from now on (a missing resource, such
    as a favicon, is the page walk's business)."""
    errors = []

    def seen(message):
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(message.text)

    page.on("console", seen)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


@pytest.mark.browser
def test_cancel_asks_in_a_dialog_keep_keeps_confirm_cancels(
    signed_in_page, live_server, alice, alice_team, sandbox_account, sandbox_offer
):
    bought = buy_number(
        acting=acting(alice_team, alice), offer=sandbox_offer, request_token="e2e-confirm"
    ).activation
    page = signed_in_page(alice)
    errors = watch_console(page)
    page.goto(f"{live_server.url}/t/{alice_team.slug}/activations/{bought.pk}/")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_hidden()

    page.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(f"Cancel +{bought.phone}")
    expect(dialog.get_by_role("button", name="Keep")).to_be_focused()  # the safe default
    dialog.get_by_role("button", name="Keep").click()
    expect(dialog).to_be_hidden()
    page.wait_for_timeout(300)  # had Keep posted, the page would be navigating now
    bought.refresh_from_db()
    assert bought.state == Activation.State.WAITING
    expect(page.locator("#activation-status")).to_contain_text("Waiting for code")

    page.keyboard.press("Escape")  # nothing open: nothing happens
    page.get_by_role("button", name="Cancel").click()
    page.keyboard.press("Escape")  # Escape keeps, as Keep does
    expect(dialog).to_be_hidden()
    bought.refresh_from_db()
    assert bought.state == Activation.State.WAITING

    page.get_by_role("button", name="Cancel").click()
    # While the dialog is open the live status is swapped (as its minute-by-minute poll
    # does): the form that asked is gone from the page, and Confirm still cancels.
    page.evaluate(
        "const s = document.getElementById('activation-status'); s.replaceWith(s.cloneNode(true))"
    )
    dialog.get_by_role("button", name="Confirm").click()
    expect(page.locator(".messages")).to_contain_text("Cancelled")
    expect(page.locator("#activation-status")).to_contain_text("Cancelled")
    bought.refresh_from_db()
    assert bought.state == Activation.State.CANCELLED
    assert not errors, errors


@pytest.mark.browser
def test_leave_team_asks_in_a_dialog(signed_in_page, live_server, alice, bob):
    page = signed_in_page(bob)
    errors = watch_console(page)
    page.goto(f"{live_server.url}{SETTINGS}")
    page.get_by_role("button", name="Leave team").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Leave Alice's Team? You lose access at once")
    dialog.get_by_role("button", name="Confirm").click()
    expect(page.locator(".messages")).to_contain_text("You left Alice's Team.")
    assert not Membership.objects.filter(user=bob).exists()
    assert not errors, errors


@pytest.mark.browser
def test_without_javascript_a_page_asks_and_only_confirm_acts(
    browser, live_server, client, alice, bob
):
    client.force_login(bob)
    context = browser.new_context(java_script_enabled=False)
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page = context.new_page()
    page.goto(f"{live_server.url}{SETTINGS}")
    expect(page.get_by_role("dialog")).to_have_count(0)  # a closed dialog is not shown
    page.get_by_role("button", name="Leave team").click()
    expect(page.get_by_role("heading", name="Are you sure?")).to_be_visible()
    expect(page.locator(".confirm-page")).to_contain_text("Leave Alice's Team?")
    assert Membership.objects.filter(user=bob).exists()

    page.get_by_role("link", name="Keep").click()
    expect(page).to_have_url(f"{live_server.url}{SETTINGS}")
    assert Membership.objects.filter(user=bob).exists()

    page.get_by_role("button", name="Leave team").click()
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator(".messages")).to_contain_text("You left Alice's Team.")
    assert not Membership.objects.filter(user=bob).exists()
    context.close()


@pytest.mark.browser
def test_the_only_owner_is_not_offered_leave_or_a_role_change(
    signed_in_page, live_server, alice, bob
):
    page = signed_in_page(alice)
    page.goto(f"{live_server.url}{SETTINGS}")
    expect(page.get_by_role("button", name="Leave team")).to_have_count(0)
    expect(
        page.get_by_text("You are the only owner: make someone else owner first.")
    ).to_be_visible()
    expect(page.get_by_label("Role of alice")).to_have_count(0)
    expect(page.get_by_label("Role of bob")).to_be_visible()

    # Once bob is an owner too, alice may step down or leave.
    page.get_by_label("Role of bob").select_option("owner")
    page.locator("#member-" + str(Membership.objects.get(user=bob).pk)).get_by_role(
        "button", name="Change role"
    ).click()
    expect(page.locator(".messages")).to_contain_text(re.compile("bob is now owner"))
    expect(page.get_by_role("button", name="Leave team")).to_be_visible()
    expect(page.get_by_label("Role of alice")).to_be_visible()
