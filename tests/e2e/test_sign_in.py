"""In a real browser: sign in through the form, see the team, switch team, sign out."""

import re

import pytest
from playwright.sync_api import expect

from dashboard.models import Membership, Role, Team


@pytest.mark.browser
def test_a_member_signs_in_switches_team_and_signs_out(page, live_server, alice, alice_team):
    other = Team.objects.create(name="Second Team", slug="second-team")
    Membership.objects.create(team=other, user=alice, role=Role.VIEWER)

    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("password")
    page.get_by_role("button", name="Sign in").click()

    # Two teams and none chosen yet: the user picks one.
    expect(page.get_by_role("heading", name="Choose a team")).to_be_visible()
    page.get_by_role("link", name="Alice's Team").click()
    expect(page.get_by_role("heading", name="Alice's Team")).to_be_visible()
    expect(page.get_by_text("You are owner in this team.")).to_be_visible()

    # The switcher submits itself on change (static/js/app.js).
    page.get_by_label("Team").select_option(label="Second Team")
    expect(page).to_have_url(f"{live_server.url}/t/second-team/")
    expect(page.get_by_text("You are viewer in this team.")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    page.goto(f"{live_server.url}/t/second-team/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))


@pytest.mark.browser
def test_signed_in_page_skips_the_form(signed_in_page, live_server, alice, alice_team):
    page = signed_in_page(alice)
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(f"{live_server.url}/t/{alice_team.slug}/")
