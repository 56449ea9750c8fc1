"""CSRF is enforced on every POST: without a token, every route answers 403.

The test Client skips CSRF checks unless asked; here it is asked (enforce_csrf_checks), and
every route of the URLconf gets a POST without a token, signed in (as Alice, owner and
staff, so that no role check could answer first) and, for the public pages, signed out.
"""

import pytest
from django.test import Client

from tests.security.routes import ROUTES, grouped
from tests.security.test_other_team import payload

# Programs' endpoints, called with an API key or a personal token, never by a browser with a
# session: the two sandbox providers and the team gateway's three addresses.
CSRF_EXEMPT = {
    "sandbox_handler_api",
    "sandbox_b_handler_api",
    "gateway",
    "gateway_stubs",
    "gateway_stubs_php",
}


def test_only_the_programs_endpoints_are_exempt():
    assert {route.id for route in ROUTES if route.csrf_exempt} == CSRF_EXEMPT


def refused_for_csrf(response) -> bool:
    return response.status_code == 403 and b"CSRF verification failed" in response.content


@pytest.mark.parametrize("routes", **grouped([r for r in ROUTES if r.id not in CSRF_EXEMPT]))
def test_a_post_without_a_token_is_refused(world, routes):
    world.alice.is_staff = world.alice.is_superuser = True
    world.alice.save()
    before = world.snapshot()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(world.alice)
    failures = []
    for route in routes:
        url = route.url(world.alice_values())
        response = browser.post(url, payload(world))
        if not refused_for_csrf(response):
            failures.append(f"POST {url} -> {response.status_code}")
        if route.public:
            response = Client(enforce_csrf_checks=True).post(url, payload(world))
            if not refused_for_csrf(response):
                failures.append(f"signed out: POST {url} -> {response.status_code}")
    assert not failures, "\n".join(failures)
    world.alice.is_staff = world.alice.is_superuser = False
    world.alice.save()
    assert world.snapshot() == before


def test_the_same_post_with_the_pages_token_goes_through(world):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(world.alice)
    browser.get("/t/alices-team/settings/")
    token = browser.cookies["csrftoken"].value
    response = browser.post(
        "/t/alices-team/settings/team/",
        {"name": "Alice's Desk", "time_zone": "UTC", "currency": "USD"},
        headers={"X-CSRFToken": token},  # as htmx sends it (hx-headers on <body>)
    )
    assert response.status_code == 302
    world.alice_team.refresh_from_db()
    assert world.alice_team.name == "Alice's Desk"
