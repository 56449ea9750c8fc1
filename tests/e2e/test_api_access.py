"""In a real browser: create a personal API token, see its secret once, use it from a program,
lose it on reload, revoke the token (and the program is refused)."""

import re

import pytest
from playwright.sync_api import expect

from dashboard.models import ApiToken
from dashboard.tokens import digest_of
from provider.client import BadKey, ProviderClient


@pytest.mark.browser
def test_a_member_creates_sees_once_and_revokes_a_token(
    signed_in_page, live_server, bob, alice_team, alice_account, tg_offer
):
    page = signed_in_page(bob)
    violations = []
    page.on(
        "console", lambda m: violations.append(m.text) if "Content Security" in m.text else None
    )
    page.goto(f"{live_server.url}/t/{alice_team.slug}/")
    page.get_by_role("link", name="API access").first.click()
    expect(page.get_by_role("heading", name="API access")).to_be_visible()
    expect(page.locator("#gateway-url")).to_have_value(f"{live_server.url}/stubs/handler_api")
    expect(page.locator("#example-curl")).to_contain_text("api_key=YOUR_TOKEN")

    page.get_by_label("Name").fill("registration bot")
    page.get_by_label("Highest price per number").fill("12.50")
    page.get_by_label("Numbers per day").fill("20")
    page.get_by_label("TG (tg)").check()
    page.get_by_role("button", name="Create token").click()

    expect(page.get_by_text("Shown only now: copy it.")).to_be_visible()
    secret = page.locator("#new-token-secret").input_value()
    assert re.fullmatch(r"smsd_[A-Za-z0-9]{40}", secret)
    token = ApiToken.objects.get()
    assert token.digest == digest_of(secret)
    assert (token.max_price, token.daily_limit, token.services) == (12.5, 20, ["tg"])
    # The program it is for: the project's own client, at the address the page shows.
    gateway = page.locator("#gateway-url").input_value()
    with ProviderClient(gateway, secret, method="POST", timeout=5) as program:
        assert program.get_balance() == (alice_account.balance or 0)

    page.reload()  # a resubmission creates nothing and shows no secret
    expect(page.get_by_role("heading", name="API access")).to_be_visible()
    assert secret not in page.content()
    expect(page.locator("#new-token-secret")).to_have_count(0)
    assert ApiToken.objects.count() == 1
    page.goto(f"{live_server.url}/t/{alice_team.slug}/api-access/")
    assert secret not in page.content()
    row = page.locator(f"#token-{token.pk}")
    expect(row).to_contain_text(token.prefix)
    expect(row).to_contain_text("active")

    row.get_by_role("button", name="Revoke").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(f"Revoke the token {token.label} of bob?")
    dialog.get_by_role("button", name="Confirm").click()
    expect(page.get_by_text("revoked: it no longer works")).to_be_visible()
    expect(page.locator(f"#token-{token.pk}")).to_contain_text("revoked")
    token.refresh_from_db()
    assert token.revoked_at is not None
    with (
        ProviderClient(gateway, secret, method="POST", timeout=5) as program,
        pytest.raises(BadKey),
    ):
        program.get_balance()
    assert not violations, violations
