"""Charlie, signed in but in another team, against Alice's team and Alice's objects.

tests/dashboard/test_team_access.py shows Charlie 404 on Alice's team URLs with dummy ids.
Here every team route gets the REAL ids of Alice's activation, account, member and
invitation, with a request body that would succeed for Alice; and every route with an
object id is also tried under Charlie's own team with Alice's object's id (the way a real
intruder would try: his own team's URL, someone else's id). Nothing may change.
"""

import pytest

from tests.security.routes import OTHER_ROUTES, TEAM_ROUTES, grouped, param

OBJECT_PARTS = {"activation_id", "account_id", "membership_id", "invitation_id", "token_id"}
OBJECT_ROUTES = [route for route in TEAM_ROUTES if OBJECT_PARTS & set(route.params)]


def payload(world) -> dict:
    """What each form of a team page needs to succeed, all at once."""
    offer = world.offer
    return {
        "name": "Taken over",
        "time_zone": "UTC",
        "email": "intruder@example.org",
        "role": "viewer",
        "provider": offer.provider_id,
        "api_key": "intruder-key-0000000000",
        "monthly_budget": "1.00",
        f"limit_{world.bob_membership.pk}": "1.00",
        "service": offer.service_id,
        "country": offer.country_id,
        "operator": offer.operator_id,
        "token": "intruder-token",
        "confirmed": "1",  # past the confirmation of destructive actions (dashboard.confirm)
    }


def status_of(client, user, method, url, data):
    client.force_login(user)
    if method == "post":
        return client.post(url, data).status_code
    return client.get(url).status_code


def methods_refused_to_charlie(client, world, url) -> list[str]:
    """Charlie's GET and POST of url with a body that would succeed: each gets 404 or 405, and
    nothing changes. Returns the methods refused with 405: the caller checks that the method,
    not whose team or object it is, decided the refusal."""
    data = payload(world)
    before = world.snapshot()
    refused = []
    for method in ("get", "post"):
        status = status_of(client, world.charlie, method, url, data)
        if status == 405:
            refused.append(method)
        else:
            assert status == 404, f"{method.upper()} {url} -> {status}"
    assert world.snapshot() == before
    return refused


@pytest.mark.parametrize("route", **param(TEAM_ROUTES))
def test_charlie_gets_404_on_alices_team_with_real_ids(client, world, route):
    url = route.url(world.alice_values())
    # Alice gets the same 405 (asked after the snapshot: her POST may succeed).
    for method in methods_refused_to_charlie(client, world, url):
        assert status_of(client, world.alice, method, url, payload(world)) == 405, url


def test_the_object_routes_are_found(world):
    names = {route.id for route in OBJECT_ROUTES}
    assert {"activations:detail", "activations:cancel", "change_role"} <= names
    assert {"revoke_invitation", "activations:remove_account"} <= names
    assert "activations:revoke_token" in names


@pytest.mark.parametrize("route", **param(OBJECT_ROUTES))
def test_charlie_gets_404_on_alices_objects_under_his_own_team(client, world, route):
    alices = world.alice_values()
    url = route.url(
        world.charlie_values() | {part: alices[part] for part in OBJECT_PARTS & set(route.params)}
    )
    own_url = route.url(world.charlie_values())
    for method in methods_refused_to_charlie(client, world, url):
        # the same refusal on his own object: the method, not the object, decided
        assert status_of(client, world.charlie, method, own_url, payload(world)) == 405, url


@pytest.mark.parametrize("routes", **grouped([r for r in OTHER_ROUTES if not r.public]))
def test_charlie_sees_nothing_of_alices_team_elsewhere(client, world, routes):
    """The routes outside a team (home, password change, the admin) show him his own."""
    before = world.snapshot()
    failures = []
    for route in routes:
        url = route.url(world.alice_values())
        for method in ("get", "post"):
            client.force_login(world.charlie)  # (a POST to sign out signs him out)
            response = getattr(client, method)(url, follow=method == "get")
            where = f"{method.upper()} {url}"
            if response.status_code >= 500:
                failures.append(f"{where} -> {response.status_code}")
            if b"Alice&#x27;s Team" in response.content or b"alices-team" in response.content:
                failures.append(f"{where} shows Alice's team")
            if route.is_admin and method == "get" and response.status_code != 405:
                # not staff: the admin sends him to its sign-in
                chain = response.redirect_chain
                if not chain or not chain[-1][0].startswith("/admin/login/"):
                    failures.append(f"{where} -> {response.status_code}, not to sign in")
    assert not failures, "\n".join(failures)
    assert world.snapshot() == before


def test_charlie_cannot_accept_alices_invitation(client, world):
    url = f"/invite/{world.invitation.token}/"
    client.force_login(world.charlie)
    assert client.get(url).status_code == 403
    assert client.post(url).status_code == 403
    assert not world.alice_team.memberships.filter(user=world.charlie).exists()
