"""Every URL pattern, visited without signing in: sent to sign in, except the public ones.

tests/dashboard/test_team_access.py checks the team-scoped routes with dummy ids; this covers
every route of the URLconf (accounts/, invitations, the sandbox, the admin) and pins down the
list of public pages.
"""

import pytest

from tests.security.routes import ROUTES, grouped

# Pages open without an account: signing in, resetting a password, an invitation link, the
# two sandbox providers (programs' endpoints, keyed by an API key), the team gateway's three
# addresses (programs' endpoint, keyed by a personal token), the admin's own sign-in and the
# icon browsers ask for at /favicon.ico.
PUBLIC = {
    "favicon",
    "login",
    "choose_language",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
    "accept_invitation",
    "sandbox_handler_api",
    "sandbox_b_handler_api",
    "gateway",
    "gateway_stubs",
    "gateway_stubs_php",
    "admin:login",
}


def test_the_public_pages_are_exactly_these():
    assert {route.id for route in ROUTES if route.public} == PUBLIC


@pytest.mark.parametrize("routes", **grouped(ROUTES))
def test_an_anonymous_visitor_is_sent_to_sign_in(client, world, routes):
    before = world.snapshot()
    failures = []
    for route in routes:
        url = route.url(world.alice_values())
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            status = response.status_code
            if route.public:
                if status >= 500:
                    failures.append(f"{method.upper()} {url} -> {status}")
                continue
            # The admin's own pages go to its sign-in; its model pages meet
            # LoginRequiredMiddleware first, which sends them to ours.
            sign_in = (
                ("/accounts/login/", "/admin/login/") if route.is_admin else "/accounts/login/"
            )
            if (
                status != 302
                or not response.url.startswith(sign_in)
                or "?next=" not in response.url
            ):
                failures.append(f"{method.upper()} {url} -> {status} {response.get('Location')}")
    assert not failures, "Not sent to sign in:\n" + "\n".join(failures)
    assert world.snapshot() == before
