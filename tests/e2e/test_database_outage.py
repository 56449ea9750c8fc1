"""In a real browser: while the database is unavailable, an activation page keeps what it shows,
says so and keeps polling (htmx does not swap the 503 answers), and a code that arrived
meanwhile appears once the database is back, without a reload, the notice gone."""

import pytest
from playwright.sync_api import expect

from activations.models import Activation
from tests.dashboard.database_switch import DatabaseSwitch
from tests.fixtures.browser import wait_until


@pytest.mark.browser
def test_the_page_polls_through_an_outage_and_shows_the_code_after(
    signed_in_page, live_server, alice, alice_team, make_activation, monkeypatch, settings
):
    settings.LIVE_REFRESH_SECONDS = 1
    database = DatabaseSwitch(monkeypatch)
    activation = make_activation()
    page = signed_in_page(alice)
    page.goto(f"{live_server.url}/t/{alice_team.slug}/activations/{activation.pk}/")
    status = page.locator("#activation-status")
    expect(status).to_contain_text("Waiting for the SMS")
    page.evaluate("window.sameDocument = true")
    polls: list[int] = []
    page.on(
        "response",
        lambda r: polls.append(r.status) if r.request.headers.get("hx-request") else None,
    )

    database.down = True
    assert wait_until(lambda: polls.count(503) >= 3, 15, page), polls
    expect(status).to_contain_text("Waiting for the SMS")  # still there, not wiped
    notice = page.locator("#live-status")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("temporarily unavailable")
    expect(notice).to_contain_text("keeps trying")

    database.down = False
    Activation.objects.filter(pk=activation.pk).update(
        codes=["424242"], state=Activation.State.CODE_RECEIVED
    )
    expect(status.locator(".codes .code")).to_have_text("424242", timeout=10_000)
    expect(notice).to_be_hidden()
    assert page.evaluate("window.sameDocument") is True
