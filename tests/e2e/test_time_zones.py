"""In a real browser: a team in Tokyo sees the time of a number it bought in Tokyo time with
the zone named, relative with the exact time on hover; a person who chose Moscow in their own
settings sees Moscow time instead."""

import re
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from activations.buying import buy_number
from activations.forms import new_request_token
from dashboard.models import Membership


def exact(moment, zone: str) -> str:
    local = moment.astimezone(ZoneInfo(zone))
    return f"{local:%-d %b %Y, %H:%M:%S} {local.tzname()}"


@pytest.mark.browser
def test_times_show_in_the_teams_zone_and_in_ones_own(
    signed_in_page, live_server, alice, alice_team, sandbox_account, sandbox_offer
):
    alice_team.time_zone = "Asia/Tokyo"
    alice_team.save()
    acting = Membership.objects.select_related("team", "user").get(team=alice_team, user=alice)
    purchase = buy_number(acting=acting, offer=sandbox_offer, request_token=new_request_token())
    assert purchase.ok, purchase.message
    activation = purchase.activation
    page = signed_in_page(alice)

    page.goto(f"{live_server.url}/t/{alice_team.slug}/activations/")
    expect(page.get_by_text("Times in Asia/Tokyo")).to_be_visible()
    row = page.locator("tr", has=page.get_by_role("link", name=f"+{activation.phone}")).last
    bought = row.locator("time").first
    expect(bought).to_have_text(re.compile(r"^(just now|\d+ min ago)$"))
    expect(bought).to_have_attribute("title", exact(activation.created_at, "Asia/Tokyo"))
    expect(row).to_contain_text(f"${activation.price}")

    page.get_by_role("link", name=f"+{activation.phone}").last.click()
    facts = page.locator(".facts")
    expect(facts).to_contain_text(exact(activation.created_at, "Asia/Tokyo"))
    expect(facts).to_contain_text(re.compile(r"\d{2}:\d{2}:\d{2} JST"))

    # Her own zone, chosen on her settings page (the user box links to it), wins.
    page.get_by_role("link", name="Your settings").click()
    page.get_by_label("Your time zone").select_option("Europe/Moscow")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".messages")).to_contain_text("Your settings were saved.")
    page.goto(f"{live_server.url}/t/{alice_team.slug}/activations/{activation.pk}/")
    expect(page.locator(".facts")).to_contain_text(exact(activation.created_at, "Europe/Moscow"))
    expect(page.locator(".facts")).not_to_contain_text("JST")
