"""Choosing a team, the sign-in page's CSP and the session a team page keeps (the team's
home page itself: tests/activations/test_home.py)."""


def test_it_opens_the_only_team(client, alice, alice_team):
    client.force_login(alice)
    response = client.get("/")
    assert response.url == f"/t/{alice_team.slug}/"


def test_the_login_page_has_a_csp_without_unsafe_inline(client, db):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in csp
    assert "unsafe-inline" not in csp


def test_a_team_page_does_not_rewrite_an_unchanged_session(client, alice, alice_team):
    client.force_login(alice)
    client.get(f"/t/{alice_team.slug}/")
    response = client.get(f"/t/{alice_team.slug}/")
    assert response.wsgi_request.session.modified is False
    assert client.session["team_slug"] == alice_team.slug
