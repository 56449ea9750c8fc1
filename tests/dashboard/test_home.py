def test_it_requires_sign_in(client, alice_team):
    response = client.get(f"/t/{alice_team.slug}/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_it_shows_the_team_home(client, alice, alice_team):
    client.force_login(alice)
    response = client.get(f"/t/{alice_team.slug}/")
    assert response.status_code == 200
    assert b"Alice&#x27;s Team" in response.content


def test_it_checks_membership(client, charlie, alice_team):
    client.force_login(charlie)
    assert client.get(f"/t/{alice_team.slug}/").status_code == 404


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
