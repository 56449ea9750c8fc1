"""The audit log's source filter: any, the browser (no token), or one personal API token; the
table names each event's source."""

from dashboard import tokens
from dashboard.audit import record_action, through_token
from dashboard.models import Team
from tests.activations.acting import acting


def url(team) -> str:
    return f"/t/{team.slug}/audit/"


def make_trail(alice, bob, team):
    bot = tokens.create_token(acting=acting(team, bob), name="bot").token
    other = tokens.create_token(acting=acting(team, alice), name="other").token
    record_action(team=team, user=alice, action="budget_changed", to="1")
    with through_token(bot):
        record_action(team=team, user=bob, action="bought", phone="1")
        record_action(team=team, user=bob, action="cancelled", phone="1")
    with through_token(other):
        record_action(team=team, user=alice, action="completed", phone="2")
    return bot, other


def listed(client, team, **query) -> list[str]:
    response = client.get(url(team), query)
    assert response.status_code == 200
    return [event.action for event in response.context["page"]]


def test_it_filters_by_source(client, alice, bob, alice_team):
    bot, other = make_trail(alice, bob, alice_team)
    client.force_login(alice)
    assert listed(client, alice_team, source=bot.pk) == ["cancelled", "bought"]
    assert listed(client, alice_team, source=other.pk) == ["completed"]
    # The browser: the budget change and the two token creations (made in the browser).
    assert listed(client, alice_team, source="browser") == [
        "budget_changed",
        "token_created",
        "token_created",
    ]
    assert len(listed(client, alice_team)) == 6


def test_the_table_names_each_events_source(client, alice, bob, alice_team):
    bot, _ = make_trail(alice, bob, alice_team)
    client.force_login(alice)
    html = client.get(url(alice_team), {"source": bot.pk}).content.decode()
    assert html.count(bot.label) >= 3  # two rows and the filter's option
    html = client.get(url(alice_team), {"source": "browser"}).content.decode()
    assert '<span class="audit-source">Browser</span>' in html


def test_the_choices_are_the_teams_tokens_revoked_ones_too(client, alice, bob, charlie, alice_team):
    bot, other = make_trail(alice, bob, alice_team)
    tokens.revoke_token(acting=acting(alice_team, alice), token=bot)
    theirs = tokens.create_token(
        acting=acting(Team.objects.get(slug="charlies-team"), charlie), name="charlies"
    ).token
    client.force_login(alice)
    form = client.get(url(alice_team)).context["form"]
    assert [value for value, _ in form.fields["source"].choices] == [
        "",
        "browser",
        str(bot.pk),
        str(other.pk),
    ]
    # Another team's token is not a choice: the filter is ignored, nothing of theirs shows.
    response = client.get(url(alice_team), {"source": theirs.pk})
    assert response.context["form"].errors
    assert "charlies" not in response.content.decode()


def test_the_filter_keeps_the_query_count(
    client, alice, bob, alice_team, django_assert_max_num_queries
):
    make_trail(alice, bob, alice_team)
    client.force_login(alice)
    client.get(url(alice_team))
    with django_assert_max_num_queries(30) as few:
        client.get(url(alice_team))
    for n in range(5):
        token = tokens.create_token(acting=acting(alice_team, bob), name=f"more {n}").token
        with through_token(token):
            record_action(team=alice_team, user=bob, action="bought", phone=str(n))
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url(alice_team))
