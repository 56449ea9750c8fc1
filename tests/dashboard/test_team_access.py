"""Every team-scoped URL goes through the access helper, found by walking the URLconf.

Other apps add team views all the time, so the URLs are discovered, not listed: any route with
a `team_slug` is checked, with dummy values (1, "x") for its other parts. A non-member gets
404 whatever the method; the only other answer allowed is 405, and then only when the team's
owner gets 405 too (the view refuses the method before looking at the team, which reveals
nothing).
"""

import re
import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from dashboard.models import Membership

PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>\w+)>")
DUMMY_VALUES = {"int": "1", "uuid": str(uuid.UUID(int=1))}


def walk(patterns, prefix=""):
    """(route, callback) for every pattern, routes joined across include()s."""
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from walk(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            yield route, entry.callback


def team_routes():
    routes = [(route, view) for route, view in walk(get_resolver().url_patterns)]
    team_scoped = [(route, view) for route, view in routes if "team_slug" in route]
    for route, _view in team_scoped:
        assert route.startswith("t/<slug:team_slug>/"), f"Not a path() route: {route}"
    return team_scoped


def url_for(route: str, team_slug: str) -> str:
    def fill(match):
        if match["name"] == "team_slug":
            return team_slug
        return DUMMY_VALUES.get(match["converter"], "x")

    return "/" + PARAMETER.sub(fill, route)


def team_urls(team_slug: str) -> list[tuple[str, object]]:
    return [(url_for(route, team_slug), view) for route, view in team_routes()]


def test_discovery_finds_the_team_pages(alice_team):
    urls = [url for url, _ in team_urls(alice_team.slug)]
    assert f"/t/{alice_team.slug}/" in urls
    assert f"/t/{alice_team.slug}/settings/" in urls
    assert f"/t/{alice_team.slug}/settings/members/1/role/" in urls


def test_a_non_member_gets_404_on_every_team_url(client, alice, charlie, alice_team):
    failures = []
    for url, _ in team_urls(alice_team.slug):
        for method in ("get", "post"):
            client.force_login(charlie)
            status = getattr(client, method)(url).status_code
            if status == 404:
                continue
            if status == 405:
                client.force_login(alice)
                if getattr(client, method)(url).status_code == 405:
                    continue
            failures.append(f"{method.upper()} {url} -> {status}")
    assert not failures, "Charlie must get 404:\n" + "\n".join(failures)


def test_anonymous_visitors_are_sent_to_sign_in_from_every_team_url(client, alice_team):
    failures = []
    for url, _ in team_urls(alice_team.slug):
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            if response.status_code != 302 or not response.url.startswith("/accounts/login/"):
                failures.append(f"{method.upper()} {url} -> {response.status_code}")
    assert not failures, "Anonymous visitors must be redirected:\n" + "\n".join(failures)


def test_a_viewer_gets_403_on_every_state_changing_settings_post(client, alice, victor, bob):
    from dashboard import views

    team = Membership.objects.get(user=victor).team
    bob_membership = Membership.objects.get(user=bob)
    invitation = team.invitations.create(email="new@example.org", invited_by=alice)
    allowed_to_everyone = {views.team_settings, views.leave_team}
    checked = []
    client.force_login(victor)
    for route, view in team_routes():
        if getattr(view, "__module__", "") != "dashboard.views" or view in allowed_to_everyone:
            continue
        # Real ids, so that a wrong role, not a missing object, is what stops the viewer.
        url = url_for(route, team.slug)
        url = url.replace("/members/1/", f"/members/{bob_membership.pk}/")
        url = url.replace("/invitations/1/", f"/invitations/{invitation.pk}/")
        response = client.post(url, {"role": "owner", "email": "x@example.org", "name": "X"})
        assert response.status_code == 403, url
        checked.append(url)
    assert len(checked) >= 5
    bob_membership.refresh_from_db()
    invitation.refresh_from_db()
    assert bob_membership.role == "member"
    assert invitation.revoked_at is None
    assert not team.invitations.filter(email="x@example.org").exists()


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_members_and_viewers_can_read_the_settings_page(client, alice, bob, victor, role):
    user = {"member": bob, "viewer": victor}[role]
    client.force_login(user)
    response = client.get("/t/alices-team/settings/")
    assert response.status_code == 200
    assert b"Leave team" in response.content
    assert b"Invite someone" not in response.content
