"""Sign-in attempts are rate-limited at every door, and a forged header does not reset them.

The sign-in form's own limit (lock after LOGIN_FAILURE_LIMIT failures per username and
address, per-address and per-username, cleared by a success, over after the window) is
tested in tests/dashboard/test_sign_in.py. Here: the ways around it.
"""

import pytest
from django.contrib.auth.models import User


def sign_in(client, path="/accounts/login/", password="wrong", **headers):
    return client.post(path, {"username": "sam", "password": password}, **headers)


@pytest.fixture
def sam(db, settings):
    """A staff user: the admin's sign-in page lets him in too."""
    settings.LOGIN_FAILURE_LIMIT = 3
    return User.objects.create_user("sam", "sam@example.org", "right", is_staff=True)


def test_a_forged_forwarded_for_header_does_not_reset_the_count(client, sam):
    for n in range(3):
        sign_in(client, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
    response = sign_in(client, password="right", HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_behind_a_proxy_only_the_address_it_saw_counts(client, sam, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.5"}
    for n in range(3):  # the client's own claim (left of the proxy's entry) changes each time
        sign_in(client, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 203.0.113.9", **proxy)
    response = sign_in(
        client, password="right", HTTP_X_FORWARDED_FOR="192.0.2.99, 203.0.113.9", **proxy
    )
    assert "Too many failed sign-in attempts" in response.content.decode()
    # Another client behind the same proxy is not locked out by it.
    response = sign_in(client, password="right", HTTP_X_FORWARDED_FOR="203.0.113.10", **proxy)
    assert response.status_code == 302


def test_the_admin_sign_in_is_limited_too(client, sam):
    for _ in range(3):
        assert sign_in(client, "/admin/login/").status_code == 200
    response = sign_in(client, "/admin/login/", password="right")
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_failures_at_one_door_lock_the_other(client, sam):
    for _ in range(3):
        sign_in(client)
    sign_in(client, "/admin/login/", password="right")
    assert "_auth_user_id" not in client.session
