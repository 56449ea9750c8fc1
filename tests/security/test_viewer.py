"""Victor, a viewer in Alice's team, POSTs to every team URL: 403 or 405, nothing changes.

tests/dashboard/test_team_access.py checks the settings' POST views for a viewer; this sweeps
every team route (catalog, activations, accounts, budgets, reports, ...) with real ids and
a body that would succeed for Alice, so a view that forgets its `roles=` is caught. A page
that only reads must refuse a POST (405) rather than answer it: then every view that takes
a POST is one that changes something, and each of those must check the role.
"""

import pytest

from tests.security.routes import TEAM_ROUTES, param
from tests.security.test_other_team import payload

# A viewer may leave the team; that POST is tested below.
VIEWER_MAY_POST = {"leave_team"}


@pytest.mark.parametrize(
    "route",
    [pytest.param(r, id=r.id) for r in TEAM_ROUTES if r.id not in VIEWER_MAY_POST],
)
def test_a_viewer_gets_403_or_405_on_every_post(client, world, route):
    url = route.url(world.alice_values())
    before = world.snapshot()
    client.force_login(world.victor)
    response = client.post(url, payload(world))
    assert response.status_code in (403, 405), f"POST {url} -> {response.status_code}"
    assert world.snapshot() == before


def test_a_viewer_may_leave_the_team_and_only_that(client, world):
    client.force_login(world.victor)
    response = client.post("/t/alices-team/settings/leave/", payload(world))
    assert response.status_code == 302
    assert not world.alice_team.memberships.filter(user=world.victor).exists()
    assert world.alice_team.memberships.count() == 2  # Alice and Bob stay


@pytest.mark.parametrize("route", **param([r for r in TEAM_ROUTES if r.id in VIEWER_MAY_POST]))
def test_the_posts_open_to_viewers_are_known(route):
    assert route.id in VIEWER_MAY_POST
