"""Signing in and out, the password pages, and the sign-in rate limit."""

import re
import time

import pytest
from django.core import mail
from django.core.cache import cache

from dashboard import forms


@pytest.fixture(autouse=True)
def empty_cache(db):
    cache.clear()
    yield
    cache.clear()


def sign_in(client, username="alice", password="password", ip="10.0.0.1"):
    return client.post(
        "/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def test_it_signs_in_and_opens_the_team(client, alice):
    response = sign_in(client)
    assert response.status_code == 302
    assert response.url == "/"
    assert client.get("/").url == "/t/alices-team/"


def test_it_refuses_a_wrong_password(client, alice):
    response = sign_in(client, password="wrong")
    assert response.status_code == 200
    assert "enter a correct username and password" in response.content.decode()


def test_it_locks_a_username_and_address_after_five_failures(client, alice, settings):
    settings.LOGIN_FAILURE_LIMIT = 5
    for _ in range(5):
        sign_in(client, password="wrong")
    response = sign_in(client)  # even the right password is refused now
    assert response.status_code == 200
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_lock_is_per_address_and_username(client, alice, bob, settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    for _ in range(2):
        sign_in(client, password="wrong", ip="10.0.0.1")
    assert sign_in(client, ip="10.0.0.2").status_code == 302
    client.logout()
    assert sign_in(client, username="bob", ip="10.0.0.1").status_code == 302
    client.logout()
    assert sign_in(client, username="ALICE", ip="10.0.0.1").status_code == 200


def test_a_success_clears_the_failures(client, alice, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    for _ in range(2):
        sign_in(client, password="wrong")
    assert sign_in(client).status_code == 302
    client.logout()
    for _ in range(2):
        sign_in(client, password="wrong")
    assert sign_in(client).status_code == 302


def test_the_lock_ends_after_the_window(client, alice, settings, monkeypatch):
    settings.LOGIN_FAILURE_LIMIT = 1
    settings.LOGIN_FAILURE_WINDOW_SECONDS = 600
    start = time.time()
    clock = iter([start, start + 599, start + 600])
    monkeypatch.setattr(forms, "seconds_now", lambda: next(clock))
    sign_in(client, password="wrong")
    assert sign_in(client).status_code == 200
    assert sign_in(client).status_code == 302


def test_sign_out_needs_a_post(client, alice):
    client.force_login(alice)
    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")
    assert response.url == "/accounts/login/"
    assert client.get("/").status_code == 302


@pytest.mark.parametrize(
    "path",
    ["/accounts/login/", "/accounts/password_reset/", "/accounts/password_reset/done/"],
)
def test_sign_in_and_password_reset_pages_are_open_to_everyone(client, db, path):
    response = client.get(path)
    assert response.status_code == 200
    assert b'href="/static/css/app.css"' in response.content


def test_every_other_page_needs_sign_in(client, db):
    for path in ("/", "/accounts/password_change/", "/t/any/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.url.startswith("/accounts/login/?next="), path


def test_the_password_change_page_matches_the_layout(client, alice):
    client.force_login(alice)
    response = client.get("/accounts/password_change/")
    assert response.status_code == 200
    assert b"Change your password" in response.content
    assert b"team-switcher" in response.content


def test_a_password_reset_works_from_the_email(client, alice):
    response = client.post("/accounts/password_reset/", {"email": "alice@example.org"})
    assert response.url == "/accounts/password_reset/done/"
    assert mail.outbox[0].subject == "Reset your SMS Desk password"
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.outbox[0].body)[1]
    form_url = client.get(link).url  # Django swaps the token for a session marker
    response = client.post(
        form_url, {"new_password1": "a fresh pass phrase", "new_password2": "a fresh pass phrase"}
    )
    assert response.url == "/accounts/reset/done/"
    assert sign_in(client, password="a fresh pass phrase").status_code == 302


def test_an_htmx_request_without_a_session_sends_the_page_to_sign_in(client, alice_team):
    response = client.get(
        "/t/alices-team/",
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/t/alices-team/x/"},
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/accounts/login/?next=/t/alices-team/x/"
