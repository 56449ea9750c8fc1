"""The home page's "API requests today": each token the viewer sees, with its requests through
the gateway today (counted in the gateway's cache)."""

from datetime import timedelta

import pytest
from django.core.cache import caches

from activations.gateway.throttle import admit
from dashboard import tokens
from dashboard.models import Membership, Role
from dashboard.teams import team_today
from tests.activations.acting import acting


@pytest.fixture(autouse=True)
def fresh_counts():
    caches["gateway"].clear()
    yield
    caches["gateway"].clear()


def home(team) -> str:
    return f"/t/{team.slug}/"


def rows(response) -> dict[str, int]:
    return {token.name: count for token, count in response.context["token_requests"]}


def test_it_shows_each_tokens_requests_today(client, alice, bob, alice_team):
    alices = tokens.create_token(acting=acting(alice_team, alice), name="alices bot").token
    bobs = tokens.create_token(acting=acting(alice_team, bob), name="bobs bot").token
    today = team_today(alice_team)
    for _ in range(3):
        admit(alices.pk, today)
    admit(bobs.pk, today)
    admit(bobs.pk, today - timedelta(days=1))  # yesterday's: not shown
    client.force_login(alice)
    response = client.get(home(alice_team))
    assert rows(response) == {"alices bot": 3, "bobs bot": 1}
    html = response.content.decode()
    assert "API requests today" in html
    assert bobs.label in html


def test_a_member_sees_only_their_own_tokens(client, alice, bob, alice_team):
    tokens.create_token(acting=acting(alice_team, alice), name="alices bot")
    bobs = tokens.create_token(acting=acting(alice_team, bob), name="bobs bot").token
    admit(bobs.pk, team_today(alice_team))
    client.force_login(bob)
    response = client.get(home(alice_team))
    assert rows(response) == {"bobs bot": 1}
    assert "alices bot" not in response.content.decode()


def test_a_token_without_requests_shows_zero(client, alice, alice_team):
    tokens.create_token(acting=acting(alice_team, alice), name="quiet bot")
    client.force_login(alice)
    assert rows(client.get(home(alice_team))) == {"quiet bot": 0}


def test_no_section_without_tokens(client, alice, alice_team):
    client.force_login(alice)
    response = client.get(home(alice_team))
    assert response.context["token_requests"] == []
    assert "API requests today" not in response.content.decode()


def test_tokens_add_one_query_whatever_their_number(
    client, alice, bob, alice_team, alice_account, django_assert_max_num_queries
):
    client.force_login(alice)
    client.get(home(alice_team))
    with django_assert_max_num_queries(30) as without:
        client.get(home(alice_team))
    for n in range(6):
        token = tokens.create_token(
            acting=acting(alice_team, bob if n % 2 else alice), name=f"bot {n}"
        ).token
        admit(token.pk, team_today(alice_team))
    Membership.objects.filter(user=bob).update(role=Role.VIEWER)  # a dead token is listed too
    with django_assert_max_num_queries(len(without.captured_queries) + 1):
        response = client.get(home(alice_team))
    assert len(rows(response)) == 6
