"""In a real browser: the activation page's status section polls, gets 204 while nothing
changed (htmx swaps nothing, the page stays as it is), shows a code as soon as it is stored,
then stops polling once the activation is closed. The load test (scripts/load/htmx_poll.py)
sends what Chromium sent here: the same URL and the same htmx headers."""

import importlib.util
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from activations.models import Activation
from tests.fixtures.browser import wait_until

HTMX_POLL = Path(__file__).resolve().parents[2] / "scripts" / "load" / "htmx_poll.py"


def load_test_htmx():
    spec = importlib.util.spec_from_file_location("htmx_poll", HTMX_POLL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.browser
def test_the_section_polls_204_shows_the_code_then_stops(
    signed_in_page, live_server, alice, alice_team, make_activation, settings
):
    settings.LIVE_REFRESH_SECONDS = 1
    htmx = load_test_htmx()
    activation = make_activation()
    page = signed_in_page(alice)
    polls: list = []  # (status, request) of each poll, in order
    page.on(
        "response",
        lambda r: polls.append((r.status, r.request)) if "shown=" in r.url else None,
    )
    served = page.goto(f"{live_server.url}/t/{alice_team.slug}/activations/{activation.pk}/")
    markup = served.text()
    status = page.locator("#activation-status")
    expect(status).to_contain_text("Waiting for the SMS")
    page.evaluate("document.getElementById('activation-status').dataset.first = 'yes'")

    assert wait_until(lambda: len(polls) >= 2, 10, page)
    assert [code for code, _ in polls[:2]] == [204, 204]
    expect(status).to_have_attribute("data-first", "yes")  # not swapped
    expect(page.locator("#live-status")).to_be_hidden()  # a 204 is a poll that succeeded

    # What the load test sends is what the browser sent.
    request = polls[0][1]
    url = urlsplit(request.url)
    assert f"{url.path}?{url.query}" == htmx.poll_path(markup)
    sent = {name.lower(): value for name, value in request.headers.items()}
    expected = htmx.poll_headers(page.url, htmx.page_headers(markup))
    assert {name.lower(): value for name, value in expected.items()} == {
        name: value for name, value in sent.items() if name.startswith("hx-") or "csrf" in name
    }

    Activation.objects.filter(pk=activation.pk).update(
        codes=["424242"], state=Activation.State.CODE_RECEIVED
    )
    expect(status.locator(".codes .code")).to_have_text("424242", timeout=5_000)
    expect(page).to_have_title(f"424242 · +{activation.phone} · SMS Desk")
    expect(status).not_to_have_attribute("data-first", "yes")  # swapped in
    after_code = len(polls)
    assert wait_until(lambda: len(polls) >= after_code + 1, 5, page)
    assert polls[after_code][0] == 204  # the new section polls with its own fingerprint

    Activation.objects.filter(pk=activation.pk).update(state=Activation.State.COMPLETED)
    expect(status).to_contain_text("Completed", timeout=5_000)
    assert polls[-1][0] == 286
    stopped = len(polls)
    page.wait_for_timeout(3_000)  # three intervals
    assert len(polls) == stopped
